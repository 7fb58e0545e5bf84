"""HyperGrid and GridOracle: every combination exactly once, in a known order."""

from __future__ import annotations

import keras_tuner
import pytest

import keras_hpo
from keras_hpo.oracles import GridOracle
from keras_hpo.oracles import HyperGrid
from keras_hpo.search_space.sklearn_grid import SUBGRID

# keras-tuner's lock helper calls threading.currentThread() on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:keras_tuner.src.engine.oracle"
)


def make_oracle(hp, directory, **kwargs) -> GridOracle:
    oracle = GridOracle(
        objective=keras_tuner.Objective("score", "min"), hyperparameters=hp, **kwargs
    )
    oracle._set_project_dir(str(directory), "p")
    oracle.verbose = 0
    return oracle


def drive(oracle, *, concurrent: int = 1, limit: int = 1000) -> list[dict]:
    """Runs the oracle until it stops; returns the values handed out, in order.

    IDLE (nothing new while trials run: they may declare hyperparameters)
    ends a round early; the next round asks again.
    """
    created = []
    while len(created) < limit:
        running = []
        stopped = False
        for worker in range(concurrent):
            trial = oracle.create_trial(f"worker-{worker}")
            if trial.status == "IDLE":
                assert running, "IDLE with no trial running"
                break
            if trial.status == "STOPPED":
                stopped = True
                break
            running.append(trial)
            created.append(dict(trial.hyperparameters.values))
        for trial in running:
            oracle.update_trial(trial.trial_id, {"score": float(len(created))})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
        if stopped:
            return created
    raise AssertionError(f"the oracle did not stop after {limit} trials")


def product_space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [32, 64])
    hp.Choice("activation", ["relu", "tanh", "gelu"])
    hp.Boolean("bias")
    return hp


#: `product_space` in the documented order: the first hyperparameter slowest.
PRODUCT = [
    {"units": units, "activation": activation, "bias": bias}
    for units in (32, 64)
    for activation in ("relu", "tanh", "gelu")
    for bias in (False, True)
]


# -- order, length, indexing ---------------------------------------------------
def test_grid_lists_every_combination_in_documented_order():
    grid = HyperGrid(product_space())
    assert len(grid) == 12
    assert list(grid) == PRODUCT
    # Dict order follows the space's order too.
    assert [list(values) for values in grid] == [["units", "activation", "bias"]] * 12


def test_iterating_equals_indexing():
    grid = HyperGrid(product_space())
    assert [grid[i] for i in range(len(grid))] == list(grid)
    assert grid[-1] == PRODUCT[-1]
    assert grid[2:5] == PRODUCT[2:5]
    with pytest.raises(IndexError):
        grid[12]


def test_grid_is_reproducible_and_not_aliased():
    first, second = HyperGrid(product_space()), HyperGrid(product_space())
    assert list(first) == list(second)
    item = first[0]
    item["units"] = 999  # a copy: the grid itself is unchanged
    assert first[0] == PRODUCT[0]
    assert list(first) == list(first)  # iterating twice gives the same


def test_grid_accepts_a_list_of_hyperparameters():
    grid = HyperGrid(list(product_space().space))
    assert list(grid) == PRODUCT


def test_docstring_example():
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [32, 64])
    hp.Boolean("bias")
    grid = HyperGrid(hp)
    assert (len(grid), grid[1]) == (4, {"units": 32, "bias": True})
    assert list(grid) == [
        {"units": 32, "bias": False},
        {"units": 32, "bias": True},
        {"units": 64, "bias": False},
        {"units": 64, "bias": True},
    ]


def test_value_kinds_enumerate_in_order():
    hp = keras_tuner.HyperParameters()
    hp.Int("layers", 1, 3)
    hp.Int("units", 16, 100, step=16)  # 100 is not on the step grid
    hp.Fixed("batch_size", 32)
    hp.Boolean("bias")
    grid = HyperGrid(hp)
    assert len(grid) == 3 * 6 * 1 * 2
    assert list(grid) == [
        {"layers": layers, "units": units, "batch_size": 32, "bias": bias}
        for layers in (1, 2, 3)
        for units in (16, 32, 48, 64, 80, 96)
        for bias in (False, True)
    ]
    for values in grid:
        assert type(values["layers"]) is int
        assert type(values["units"]) is int
        assert type(values["bias"]) is bool


def test_oracle_hands_out_the_grid_in_order_then_stops(tmp_path):
    oracle = make_oracle(product_space(), tmp_path)
    assert len(oracle.get_grid()) == 12  # known before any trial
    assert drive(oracle) == PRODUCT
    assert len(oracle.trials) == 12
    assert oracle.create_trial("worker-0").status == "STOPPED"


def test_oracle_keeps_grid_order_with_concurrent_workers(tmp_path):
    oracle = make_oracle(product_space(), tmp_path)
    assert drive(oracle, concurrent=5) == PRODUCT


def test_max_trials_smaller_than_the_grid(tmp_path):
    oracle = make_oracle(product_space(), tmp_path, max_trials=5)
    assert len(oracle.get_grid()) == 12
    assert drive(oracle) == PRODUCT[:5]
    assert len(oracle.trials) == 5
    assert oracle.create_trial("worker-0").status == "STOPPED"


def test_max_trials_larger_than_the_grid(tmp_path):
    oracle = make_oracle(product_space(), tmp_path, max_trials=50)
    assert drive(oracle) == PRODUCT


# -- conditional hyperparameters -----------------------------------------------
def test_parent_value_with_inactive_children_counts_once():
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Choice("momentum", [0.0, 0.9])
        hp.Boolean("nesterov")
    hp.Choice("units", [8, 16])
    grid = HyperGrid(hp)
    expected = [
        {"optimizer": "adam", "units": 8},
        {"optimizer": "adam", "units": 16},
    ] + [
        {"optimizer": "sgd", "momentum": m, "nesterov": n, "units": u}
        for m in (0.0, 0.9)
        for n in (False, True)
        for u in (8, 16)
    ]
    assert len(grid) == 2 + 8
    assert list(grid) == expected


def test_nested_conditions_per_layer():
    # units_i exists only when the layer does: 1 + 2 + 4 combinations.
    hp = keras_tuner.HyperParameters()
    hp.Choice("layers", [1, 2, 3])
    with hp.conditional_scope("layers", [2, 3]):
        hp.Choice("units_1", [16, 32])
    with hp.conditional_scope("layers", [3]):
        hp.Choice("units_2", [16, 32])
    grid = HyperGrid(hp)
    assert list(grid) == [
        {"layers": 1},
        {"layers": 2, "units_1": 16},
        {"layers": 2, "units_1": 32},
        {"layers": 3, "units_1": 16, "units_2": 16},
        {"layers": 3, "units_1": 16, "units_2": 32},
        {"layers": 3, "units_1": 32, "units_2": 16},
        {"layers": 3, "units_1": 32, "units_2": 32},
    ]


def test_same_name_under_two_conditions():
    # keras-tuner allows one name per branch; each branch uses its own values.
    hp = keras_tuner.HyperParameters()
    hp.Choice("model", ["small", "large"])
    with hp.conditional_scope("model", ["small"]):
        hp.Choice("units", [8, 16])
    with hp.conditional_scope("model", ["large"]):
        hp.Choice("units", [256, 512, 1024])
    assert list(HyperGrid(hp)) == [
        {"model": "small", "units": 8},
        {"model": "small", "units": 16},
        {"model": "large", "units": 256},
        {"model": "large", "units": 512},
        {"model": "large", "units": 1024},
    ]


def test_oracle_hands_out_the_same_name_under_two_conditions(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("model", ["small", "large"])
    with hp.conditional_scope("model", ["small"]):
        hp.Choice("units", [8, 16])
    with hp.conditional_scope("model", ["large"]):
        hp.Choice("units", [256, 512])
    oracle = make_oracle(hp, tmp_path)
    expected = [
        {"model": "small", "units": 8},
        {"model": "small", "units": 16},
        {"model": "large", "units": 256},
        {"model": "large", "units": 512},
    ]
    assert drive(oracle) == expected
    stored = [oracle.trials[i].hyperparameters.values for i in oracle.start_order]
    assert stored == expected


def test_oracle_runs_a_conditional_grid_exactly_once(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "sgd", "rmsprop"])
    with hp.conditional_scope("optimizer", ["sgd"]):
        hp.Choice("momentum", [0.0, 0.5, 0.9])
    oracle = make_oracle(hp, tmp_path)
    assert drive(oracle, concurrent=2) == [
        {"optimizer": "adam"},
        {"optimizer": "sgd", "momentum": 0.0},
        {"optimizer": "sgd", "momentum": 0.5},
        {"optimizer": "sgd", "momentum": 0.9},
        {"optimizer": "rmsprop"},
    ]


# -- scikit-learn sub-grids ----------------------------------------------------
def test_sub_grids_give_the_union_of_their_products():
    param_grid = [
        {"units": [32, 64], "activation": ["relu", "tanh"]},
        {"units": [128], "dropout": [0.1, 0.2, 0.3]},
        {"learning_rate": [1e-3]},
    ]
    hp = keras_hpo.param_grid_to_hyperparameters(param_grid)
    grid = HyperGrid(hp)

    expected = [
        {SUBGRID: 0, "units": u, "activation": a}
        for u in (32, 64)
        for a in ("relu", "tanh")
    ]
    expected += [{SUBGRID: 1, "units": 128, "dropout": d} for d in (0.1, 0.2, 0.3)]
    expected += [{SUBGRID: 2, "learning_rate": 1e-3}]
    assert len(grid) == 4 + 3 + 1
    assert list(grid) == expected

    # Without the sub-grid index: exactly each sub-grid's product, once.
    public = [{k: v for k, v in values.items() if k != SUBGRID} for values in grid]
    union = [{"units": u, "activation": a} for u in (32, 64) for a in ("relu", "tanh")]
    union += [{"units": 128, "dropout": d} for d in (0.1, 0.2, 0.3)]
    union += [{"learning_rate": 1e-3}]
    assert public == union


def test_oracle_runs_disjoint_sub_grids_exactly_once(tmp_path):
    hp = keras_hpo.param_grid_to_hyperparameters(
        [{"units": [32, 64], "activation": ["relu", "tanh"]}, {"dropout": [0.1, 0.2]}]
    )
    expected = [
        {SUBGRID: 0, "units": u, "activation": a}
        for u in (32, 64)
        for a in ("relu", "tanh")
    ]
    expected += [{SUBGRID: 1, "dropout": d} for d in (0.1, 0.2)]
    oracle = make_oracle(hp, tmp_path)
    assert drive(oracle) == expected
    # The trials the oracle stored carry the same values.
    stored = [oracle.trials[i].hyperparameters.values for i in oracle.start_order]
    assert stored == expected


def test_oracle_runs_sub_grids_sharing_a_name_exactly_once(tmp_path):
    # The usual scikit-learn case: the same parameter in several sub-grids.
    hp = keras_hpo.param_grid_to_hyperparameters(
        [{"units": [32, 64], "activation": ["relu", "tanh"]}, {"units": [128]}]
    )
    expected = [
        {SUBGRID: 0, "units": u, "activation": a}
        for u in (32, 64)
        for a in ("relu", "tanh")
    ]
    expected += [{SUBGRID: 1, "units": 128}]
    assert list(HyperGrid(hp)) == expected
    oracle = make_oracle(hp, tmp_path)
    assert drive(oracle) == expected
    stored = [oracle.trials[i].hyperparameters.values for i in oracle.start_order]
    assert stored == expected


def test_single_param_grid_is_a_plain_product():
    hp = keras_hpo.param_grid_to_hyperparameters(
        {"units": [32, 64], "activation": ["relu", "tanh", "gelu"], "bias": [True]}
    )
    assert list(HyperGrid(hp)) == [
        {"units": u, "activation": a, "bias": True}
        for u in (32, 64)
        for a in ("relu", "tanh", "gelu")
    ]


# -- continuous and stepped ranges ---------------------------------------------
def test_continuous_float_without_step_is_refused(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [32, 64])
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    with pytest.raises(keras_hpo.SearchSpaceError) as info:
        HyperGrid(hp)
    message = str(info.value)
    assert "'learning_rate'" in message
    assert "step" in message
    assert "list" in message
    assert isinstance(info.value, ValueError)

    oracle = make_oracle(hp, tmp_path)
    with pytest.raises(keras_hpo.SearchSpaceError, match="learning_rate"):
        oracle.get_grid()


def test_oracle_refuses_to_silently_discretise(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("dropout", 0.0, 0.5)
    oracle = make_oracle(hp, tmp_path)
    with pytest.raises(keras_hpo.SearchSpaceError, match="step"):
        oracle.create_trial("worker-0")
    assert oracle.trials == {}


@pytest.mark.parametrize(
    ("low", "high", "step", "expected"),
    [
        (0.0, 1.0, 0.25, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (0.0, 0.9, 0.5, [0.0, 0.5]),
        # Steps that are not binary fractions: 0.5 / 0.1 == 4.999... in
        # floating point, and the top value must still be there.
        (0.0, 0.5, 0.1, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]),
        (0.1, 0.7, 0.2, [0.1, 0.3, 0.5, 0.7]),
        (0.2, 0.3, 0.05, [0.2, 0.25, 0.3]),
    ],
)
def test_float_with_step_is_enumerated(low, high, step, expected):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", low, high, step=step)
    values = [v["x"] for v in HyperGrid(hp)]
    assert len(values) == len(expected)
    assert values == pytest.approx(expected, abs=1e-12)
    assert all(type(v) is float for v in values)
    assert all(low <= v <= high for v in values)


def test_float_with_log_step_is_enumerated():
    hp = keras_tuner.HyperParameters()
    hp.Float("learning_rate", 1e-4, 1e-1, step=10, sampling="log")
    values = [v["learning_rate"] for v in HyperGrid(hp)]
    assert values == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1], rel=1e-12)
    assert all(1e-4 <= v <= 1e-1 for v in values)


def test_stepped_float_grid_runs_every_value_once(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Boolean("bias")
    oracle = make_oracle(hp, tmp_path)
    created = drive(oracle)
    assert len(created) == 12
    assert sorted({v["dropout"] for v in created}) == pytest.approx(
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-12
    )


def test_a_sub_grid_deeper_than_the_hypermodel_gets_a_width_per_layer(
    tmp_path, tiny_classification
):
    # Each sub-grid declares the depth under its own condition: the layers'
    # widths were conditioned on the hypermodel's depths alone, so the
    # 3-layer trial had no units_2 and failed in Dense(units=None).
    x, y = tiny_classification
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(
            num_classes=3, num_layers=[1, 2], units=[4, 8], units_per_layer=True
        ),
        param_grid=[{"num_layers": [1, 2]}, {"num_layers": [3]}],
        directory=tmp_path,
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, validation_split=0.25, epochs=1)
    assert tuner.cv_results_["status"] == ["completed"] * 3
    deepest = tuner.cv_results_["params"][2]
    assert deepest["num_layers"] == 3
    assert [deepest[f"units_{i}"] for i in range(3)] == [4, 4, 4]
