"""scikit-learn's param_grid / param_distributions as keras-tuner hyperparameters."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest
from scipy import stats
from sklearn.model_selection import ParameterGrid

import keras_hpo
from keras_hpo import HyperGrid
from keras_hpo import param_distributions_to_hyperparameters as from_distributions
from keras_hpo import param_grid_to_hyperparameters as from_grid
from keras_hpo.hypermodels import KNOBS
from keras_hpo.hypermodels import SUBGRID

H = keras_tuner.engine.hyperparameters


def described(hp: keras_tuner.HyperParameters) -> list[tuple]:
    """(class, name, conditions, values or bounds) of each entry, in order."""
    rows = []
    for h in hp.space:
        conditions = [(c.name, list(c.values)) for c in h.conditions]
        if isinstance(h, H.Fixed):
            detail = h.value
        elif isinstance(h, H.Choice):
            detail = list(h.values)
        else:
            detail = (h.min_value, h.max_value, h.step, h.sampling)
        rows.append((type(h).__name__, h.name, conditions, detail))
    return rows


def combinations(param_grid, knobs=None) -> list[dict]:
    """The grid's combinations without the sub-grid selector."""
    grid = HyperGrid(from_grid(param_grid, knobs))
    return [{k: v for k, v in values.items() if k != SUBGRID} for values in grid]


def as_set(rows: list[dict]) -> set:
    return {tuple(sorted(row.items())) for row in rows}


# -- param_grid: a dict of lists ---------------------------------------------------


def test_the_sub_grid_selector_has_a_public_name():
    assert SUBGRID == "param_grid_index"
    assert keras_hpo.hypermodels.SUBGRID is SUBGRID


def test_a_dict_of_lists_becomes_choices_and_fixed_values():
    hp = from_grid(
        {"units": [32, 64, 128], "dropout": [0.1], "activation": ["relu", "tanh"]}
    )
    assert isinstance(hp, keras_tuner.HyperParameters)
    assert described(hp) == [
        ("Choice", "units", [], [32, 64, 128]),
        ("Fixed", "dropout", [], 0.1),
        ("Choice", "activation", [], ["relu", "tanh"]),
    ]
    # Numbers are ordered choices, names are not; the first value is the default.
    units, _, activation = hp.space
    assert units.ordered is True
    assert activation.ordered is False
    assert hp.values == {"units": 32, "dropout": 0.1, "activation": "relu"}


def test_without_knobs_any_name_is_accepted():
    hp = from_grid({"width": [1, 2], "use_bias": ["yes", "no"]})
    assert [h.name for h in hp.space] == ["width", "use_bias"]


def test_with_knobs_values_are_validated_and_typed_like_the_knob():
    hp = from_grid({"dropout": [0, 0.5], "units": [16]}, KNOBS)
    assert described(hp) == [
        ("Choice", "dropout", [], [0.0, 0.5]),
        ("Fixed", "units", [], 16),
    ]
    dropout = hp.space[0]
    assert [type(v) for v in dropout.values] == [float, float]


def test_tuples_arrays_and_ranges_count_as_lists():
    hp = from_grid(
        {
            "units": (16, 32),
            "dropout": np.array([0.0, 0.25]),
            "num_layers": range(1, 4),  # as scikit-learn's ParameterGrid takes
        },
        KNOBS,
    )
    assert described(hp) == [
        ("Choice", "units", [], [16, 32]),
        ("Choice", "dropout", [], [0.0, 0.25]),
        ("Choice", "num_layers", [], [1, 2, 3]),
    ]


@pytest.mark.parametrize(
    "param_grid",
    [
        {"units": [32, 64], "dropout": [0.0, 0.2], "activation": ["relu", "tanh"]},
        {"learning_rate": [1e-3, 1e-2, 1e-1], "num_layers": [1]},
        [
            {"optimizer": ["sgd"], "learning_rate": [0.1, 0.01]},
            {"optimizer": ["adam"], "learning_rate": [1e-3]},
        ],
        [
            {"units": [8, 16], "num_layers": [1, 2]},
            {"units": [32], "dropout": [0.0, 0.1, 0.2]},
            {"activation": ["gelu"]},
        ],
    ],
)
def test_the_grid_enumerates_exactly_scikit_learns_combinations(param_grid):
    expected = list(ParameterGrid(param_grid))
    got = combinations(param_grid, KNOBS)
    assert len(got) == len(expected)
    assert as_set(got) == as_set(expected)


# -- param_grid: a list of dicts ---------------------------------------------------


def test_a_list_of_dicts_becomes_a_choice_of_sub_grids_with_conditional_scopes():
    hp = from_grid(
        [
            {"optimizer": ["sgd"], "learning_rate": [0.1, 0.01]},
            {"optimizer": ["adam"], "learning_rate": [1e-3]},
        ],
        KNOBS,
    )
    assert described(hp) == [
        ("Choice", SUBGRID, [], [0, 1]),
        ("Fixed", "optimizer", [(SUBGRID, [0])], "sgd"),
        ("Choice", "learning_rate", [(SUBGRID, [0])], [0.1, 0.01]),
        ("Fixed", "optimizer", [(SUBGRID, [1])], "adam"),
        ("Fixed", "learning_rate", [(SUBGRID, [1])], 1e-3),
    ]
    selector = hp.space[0]
    assert selector.ordered is False  # sub-grids are categories, not numbers
    assert list(HyperGrid(hp)) == [
        {SUBGRID: 0, "optimizer": "sgd", "learning_rate": 0.1},
        {SUBGRID: 0, "optimizer": "sgd", "learning_rate": 0.01},
        {SUBGRID: 1, "optimizer": "adam", "learning_rate": 1e-3},
    ]


def test_only_the_chosen_sub_grid_is_active():
    hp = from_grid([{"units": [8, 16]}, {"dropout": [0.1, 0.2]}])
    by_scope = {(h.name, tuple(c.values[0] for c in h.conditions)): h for h in hp.space}
    units, dropout = by_scope[("units", (0,))], by_scope[("dropout", (1,))]
    assert units.conditions[0].is_active({SUBGRID: 0})
    assert not units.conditions[0].is_active({SUBGRID: 1})
    assert dropout.conditions[0].is_active({SUBGRID: 1})
    assert not dropout.conditions[0].is_active({SUBGRID: 0})


def test_a_list_of_one_dict_needs_no_selector():
    hp = from_grid([{"units": [8, 16]}])
    assert described(hp) == [("Choice", "units", [], [8, 16])]


def test_grid_search_takes_a_list_of_grids(tmp_path):
    param_grid = [
        {"optimizer": ["sgd"], "learning_rate": [0.1, 0.01]},
        {"optimizer": ["adam"], "learning_rate": [1e-3]},
    ]
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=3),
        param_grid=param_grid,
        directory=str(tmp_path),
        verbose=0,
        refit=False,
    )
    assert len(tuner.grid) == 3
    # Knobs left out of the grid keep their default: no new entries are tuned.
    assert tuner.oracle.tune_new_entries is False
    assert described(tuner.oracle.hyperparameters) == described(
        from_grid(param_grid, KNOBS)
    )


# -- param_distributions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("distribution", "expected"),
    [
        (stats.randint(16, 65), ("Int", 16, 64, 1, "linear")),
        (stats.randint(1, 2), ("Int", 1, 1, 1, "linear")),
        (stats.randint(0, 10, loc=5), ("Int", 5, 14, 1, "linear")),
        (stats.uniform(0.1, 0.3), ("Float", 0.1, 0.4, None, "linear")),
        (stats.uniform(loc=2.0, scale=3.0), ("Float", 2.0, 5.0, None, "linear")),
        (stats.uniform(), ("Float", 0.0, 1.0, None, "linear")),
        (stats.loguniform(1e-4, 1e-1), ("Float", 1e-4, 1e-1, None, "log")),
        (stats.reciprocal(1e-3, 1.0), ("Float", 1e-3, 1.0, None, "log")),
    ],
)
def test_distributions_become_ranges(distribution, expected):
    hp = from_distributions({"x": distribution})
    (h,) = hp.space
    kind, low, high, step, sampling = expected
    assert type(h).__name__ == kind
    assert h.name == "x"
    assert h.min_value == pytest.approx(low)
    assert h.max_value == pytest.approx(high)
    assert type(h.min_value) is type(h.max_value) is (int if kind == "Int" else float)
    assert (h.step, h.sampling) == (step, sampling)


def test_randint_upper_bound_is_exclusive_as_in_scipy():
    hp = from_distributions({"num_layers": stats.randint(1, 4)})
    (h,) = hp.space
    drawn = {h.random_sample(seed) for seed in range(300)}
    assert drawn == {1, 2, 3}
    assert drawn == set(stats.randint(1, 4).rvs(size=300, random_state=0))


def test_lists_and_distributions_mix():
    hp = from_distributions(
        {
            "units": stats.randint(16, 65),
            "dropout": stats.uniform(0.1, 0.3),
            "learning_rate": stats.loguniform(1e-4, 1e-1),
            "activation": ["relu", "tanh"],
            "optimizer": ["adam"],
        },
        KNOBS,
    )
    rows = described(hp)
    assert [row[:3] for row in rows] == [
        ("Int", "units", []),
        ("Float", "dropout", []),
        ("Float", "learning_rate", []),
        ("Choice", "activation", []),
        ("Fixed", "optimizer", []),
    ]
    assert rows[0][3] == (16, 64, 1, "linear")
    assert rows[1][3] == (pytest.approx(0.1), pytest.approx(0.4), None, "linear")
    assert rows[2][3] == (pytest.approx(1e-4), pytest.approx(1e-1), None, "log")
    assert rows[3][3] == ["relu", "tanh"]
    assert rows[4][3] == "adam"


def test_a_list_of_distribution_dicts_is_a_choice_of_sub_spaces():
    hp = from_distributions(
        [{"units": stats.randint(8, 17)}, {"dropout": stats.uniform(0, 0.5)}], KNOBS
    )
    assert described(hp) == [
        ("Choice", SUBGRID, [], [0, 1]),
        ("Int", "units", [(SUBGRID, [0])], (8, 16, 1, "linear")),
        ("Float", "dropout", [(SUBGRID, [1])], (0.0, 0.5, None, "linear")),
    ]


def test_random_search_takes_param_distributions_and_n_iter(tmp_path):
    param_distributions = {
        "learning_rate": stats.loguniform(1e-4, 1e-1),
        "units": [32, 64, 128],
    }
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        n_iter=7,
        seed=0,
        param_distributions=param_distributions,
        directory=str(tmp_path),
        verbose=0,
        refit=False,
    )
    assert tuner.oracle.max_trials == 7
    assert tuner.oracle.tune_new_entries is False
    assert described(tuner.oracle.hyperparameters) == described(
        from_distributions(param_distributions, KNOBS)
    )


def test_distribution_bounds_from_knobs_are_validated():
    with pytest.raises(
        ValueError,
        match=r"^`param_distributions\['units'\]\.min_value`: must be an int in "
        r"\[1, inf\]\. Received: param_distributions\['units'\]\.min_value=0 ",
    ):
        from_distributions({"units": stats.randint(0, 10)}, KNOBS)
    with pytest.raises(
        ValueError,
        match=r"^`param_distributions\['dropout'\]\.max_value`: must be a float in "
        r"\[0, 1\)\. Received: param_distributions\['dropout'\]\.max_value=1\.3 ",
    ):
        from_distributions({"dropout": stats.uniform(0.5, 0.8)}, KNOBS)


def test_a_grid_s_mistakes_are_fixed_with_lists_not_hypermlp_ranges():
    # In a param_grid a tuple is a list of values: the advice was
    # "dropout=(0.0, 0.5)", which a grid reads as two values.
    with pytest.raises(ValueError) as info:
        from_grid({"dropout": [2.0]}, KNOBS)
    assert str(info.value).endswith(
        "Give a float in [0, 1), for example param_grid['dropout']=[0.0, 0.5]."
    )
    with pytest.raises(ValueError) as info:
        from_distributions([{"units": [8]}, {"units": []}], KNOBS)
    assert str(info.value).endswith(
        "Give at least one value, for example param_distributions[1]['units']="
        "[16, 512]."
    )
    with pytest.raises(ValueError, match=r"for example dropout=\(0\.0, 0\.5\)\.$"):
        KNOBS["dropout"].template(2.0)  # HyperMLP(dropout=2.0): its own syntax


def test_an_object_with_rvs_but_no_bounds_is_refused_with_what_works():
    class Draws:  # scikit-learn's ParameterSampler takes any rvs()
        def rvs(self, random_state=None):
            return 1

    with pytest.raises(TypeError) as info:
        from_distributions({"units": Draws()})
    message = str(info.value)
    assert message.startswith(
        "`param_distributions['units']` must be a list or a scipy.stats "
        "distribution. Received: param_distributions['units']=<"
    )
    assert message.endswith(
        "An object with rvs() but no support() has no bounds to search within: "
        "use a frozen scipy.stats distribution (uniform, loguniform, randint), or "
        "list the values."
    )


# -- numpy values ------------------------------------------------------------------


def test_numpy_values_become_python_scalars():
    hp = from_grid(
        {
            "ints": np.arange(3),
            "floats": [np.float32(0.25), np.float64(0.5)],
            "names": [np.str_("relu"), np.str_("tanh")],
            "one": [np.int64(7)],
        }
    )
    ints, floats, names, one = hp.space
    assert list(ints.values) == [0, 1, 2]
    assert [type(v) for v in ints.values] == [int, int, int]
    assert list(floats.values) == [0.25, 0.5]
    assert [type(v) for v in floats.values] == [float, float]
    assert [type(v) for v in names.values] == [str, str]
    assert isinstance(one, H.Fixed)
    assert (one.value, type(one.value)) == (7, int)
    assert {k: type(v) for k, v in hp.values.items()} == {
        "ints": int,
        "floats": float,
        "names": str,
        "one": int,
    }


def test_numpy_values_against_knobs_become_python_scalars():
    hp = from_grid({"units": np.array([16, 32]), "dropout": [np.float64(0.2)]}, KNOBS)
    units, dropout = hp.space
    assert [type(v) for v in units.values] == [int, int]
    assert (dropout.value, type(dropout.value)) == (0.2, float)


def test_distribution_bounds_become_python_scalars():
    hp = from_distributions(
        {
            "a": stats.randint(np.int64(2), np.int64(6)),
            "b": stats.uniform(np.float64(0.5), np.float64(1.5)),
        }
    )
    a, b = hp.space
    assert (a.min_value, a.max_value) == (2, 5)
    assert type(a.min_value) is type(a.max_value) is int
    assert (b.min_value, b.max_value) == (0.5, 2.0)
    assert type(b.min_value) is type(b.max_value) is float


def test_booleans_stay_booleans():
    for values in ([True, False], [np.bool_(True), np.bool_(False)]):
        hp = from_grid({"use_bias": values})
        assert sorted(v["use_bias"] for v in HyperGrid(hp)) == [False, True]
        assert [type(v["use_bias"]) for v in HyperGrid(hp)] == [bool, bool]
        assert type(hp.values["use_bias"]) is bool


# -- mistakes peculiar to the conversion -------------------------------------------


@pytest.mark.parametrize(
    ("param_grid", "error", "message"),
    [
        (
            {SUBGRID: [0, 1]},
            ValueError,
            r"^`param_grid`: this name is reserved\. Received: "
            r"param_grid='param_grid_index' \(of type str\)\. Rename",
        ),
        (
            {1: [0, 1]},
            TypeError,
            r"^`param_grid` must be a string key\. Received: param_grid=1 "
            r"\(of type int\)\.",
        ),
        (
            {"x": [1, "a"]},
            TypeError,
            r"^`param_grid\['x'\]` must be a list of values of one type "
            r"\(int, float, str or bool\)\. Received: param_grid\['x'\]=\[1, 'a'\]",
        ),
        (
            {"x": []},
            ValueError,
            r"^`param_grid\['x'\]`: an empty list\. Received: param_grid\['x'\]=\[\]",
        ),
        (
            [{"x": [1]}, "y"],
            TypeError,
            r"^`param_grid\[1\]` must be a dict of lists\. Received: "
            r"param_grid\[1\]='y'",
        ),
        (
            {"x": 3},
            TypeError,
            r"Single values must be wrapped in a list: x=\[3\]\.$",
        ),
        (  # not a single value: wrapping it in a list made one bogus value
            {"x": {1, 2}},
            TypeError,
            r"Received: param_grid\['x'\]=\{1, 2\} \(of type set\)\. Pass the "
            r"values as a list, e\.g\. x=list\(\.\.\.\)\.$",
        ),
    ],
)
def test_conversion_mistakes(param_grid, error, message):
    with pytest.raises(error, match=message):
        from_grid(param_grid)
