"""Real, small Keras searches with GridSearch, RandomSearch and BayesianSearch.

Every trial here trains a tiny model for one or two epochs, so each takes
about a second; the slow marker is kept for the larger searches.
"""

from __future__ import annotations

import math
import os

import keras
import keras_tuner
import pandas as pd
import pytest
from scipy.stats import loguniform
from scipy.stats import randint

import keras_hpo
from keras_hpo.search_space.sklearn_grid import SUBGRID

# keras-tuner's lock helper calls threading.currentThread() on every call.
pytestmark = pytest.mark.filterwarnings(
    "ignore::DeprecationWarning:keras_tuner.src.engine.oracle"
)

#: The columns of cv_results_ around the param_<name> ones, in order.
LEADING = [
    "trial_id",
    "number",
    "mean_fit_time",
    "std_fit_time",
    "mean_score_time",
    "std_score_time",
]
TRAILING = [
    "params",
    "split0_test_score",
    "mean_test_score",
    "std_test_score",
    "rank_test_score",
    "score",
    "rank_score",
    "status",
    "best_epoch",
    "best_epoch_index",
    "epochs_run",
    "seconds",
    "fit_seconds",
    "end_reason",
    "error",
]
GRID = {"units": [8, 16], "learning_rate": [1e-2, 1e-1]}


@pytest.fixture
def tiny(tiny_classification):
    """The tiny data set, split into 150 training and 50 validation samples."""
    x, y = tiny_classification
    return x[:150], y[:150], x[150:], y[150:]


def build_model(hp) -> keras.Model:
    """A keras-tuner build function for the tiny data (8 features, 3 classes)."""
    units = hp.Choice("units", [4, 8, 16])
    learning_rate = hp.Choice("learning_rate", [1e-2, 1e-1])
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def small_mlp(num_classes: int) -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(
        num_classes=num_classes,
        num_layers=1,
        units=[8, 16],
        dropout=0.0,
        activation="relu",
        learning_rate=1e-2,
    )


def restricted(params: dict, names) -> frozenset:
    return frozenset((name, params[name]) for name in names)


def check_cv_results(tuner, epochs: int) -> dict:
    """Checks the shape and consistency of cv_results_; returns it."""
    results = tuner.cv_results_
    columns = list(results)
    params = [c for c in columns if c.startswith("param_")]
    assert columns == LEADING + params + TRAILING
    rows = len(results["trial_id"])
    assert rows == len(tuner.oracle.trials)
    assert all(len(column) == rows for column in results.values())
    frame = pd.DataFrame(results)
    assert frame.shape == (rows, len(columns))
    assert results["trial_id"] == tuner.oracle.start_order
    assert results["number"] == list(range(1, rows + 1))
    names = {name for p in results["params"] for name in p}
    assert params == [f"param_{n}" for n in columns_order(results["params"])]
    assert set(params) == {f"param_{n}" for n in names}
    for row in range(rows):
        for name in names:
            assert results[f"param_{name}"][row] == results["params"][row].get(name)
        if results["status"][row] == "completed":
            assert results["error"][row] is None
            assert 1 <= results["best_epoch"][row] <= epochs  # 1-based
            assert results["best_epoch_index"][row] == results["best_epoch"][row] - 1
            assert results["epochs_run"][row] == epochs
            assert results["seconds"][row] >= results["fit_seconds"][row] > 0
            assert 0.0 <= results["score"][row] <= 1.0
        else:
            assert results["status"][row] == "failed"
            assert results["score"][row] is None
    # Ranks: 1 is the best score; failed trials rank last.
    order = sorted(
        range(rows),
        key=lambda r: (
            results["score"][r] is None,
            -(results["score"][r] or 0.0),
            results["number"][r],
        ),
    )
    assert [results["rank_score"][r] for r in order] == list(range(1, rows + 1))
    return results


def columns_order(params: list[dict]) -> list[str]:
    names: list[str] = []
    for p in params:
        names += [n for n in p if n not in names]
    return names


def check_best(tuner, x_val, y_val) -> None:
    """best_params_ / best_score_ / best_model() agree with everything else."""
    results = tuner.cv_results_
    scores = [s for s in results["score"] if s is not None]
    best_row = results["rank_score"].index(1)
    assert tuner.best_score_ == max(scores)
    assert tuner.best_score_ == results["score"][best_row]
    assert tuner.best_params_ == results["params"][best_row]
    assert tuner.best_trial_id_ == results["trial_id"][best_row]
    kt_best = tuner.get_best_hyperparameters()[0].values
    assert {k: v for k, v in kt_best.items() if k != SUBGRID} == tuner.best_params_
    assert tuner.oracle.get_best_trials()[0].score == tuner.best_score_

    model = tuner.best_model()
    assert isinstance(model, keras.Model)
    metrics = model.evaluate(x_val, y_val, verbose=0, return_dict=True)
    assert metrics["accuracy"] == pytest.approx(tuner.best_score_, abs=1e-6)
    assert tuner.best_model() is model  # loaded once, not retrained
    # best_estimator_ is the refit of the best trial (refit=True, the default).
    assert tuner.refitted.saved()["trial_id"] == tuner.best_trial_id_
    assert tuner.best_estimator_ is tuner.refitted.model is not model


# -- one grid search on digits, inspected by several tests ---------------------
@pytest.fixture(scope="module")
def grid_search(digits, tmp_path_factory):
    x_train, x_val, y_train, y_val = digits
    tuner = keras_hpo.GridSearch(
        small_mlp(num_classes=10),
        param_grid=GRID,
        directory=str(tmp_path_factory.mktemp("grid")),
        project_name="digits",
        seed=0,
        verbose=0,
    )
    size_before = len(tuner.grid)
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=2)
    return tuner, size_before, (x_val, y_val)


def test_grid_search_runs_every_combination_exactly_once(grid_search):
    tuner, size_before, _ = grid_search
    assert size_before == len(tuner.grid) == 4
    assert len(tuner.oracle.trials) == 4
    results = tuner.cv_results_
    assert len(results["params"]) == 4
    ran = [restricted(p, GRID) for p in results["params"]]
    assert ran == [restricted(values, GRID) for values in tuner.grid]  # in order
    assert set(ran) == {restricted(values, GRID) for values in tuner.grid}
    assert results["status"] == ["completed"] * 4
    # Knobs left out of the grid keep their HyperMLP value.
    for params in results["params"]:
        assert params["num_layers"] == 1
        assert params["activation"] == "relu"


def test_grid_search_stops_by_itself(grid_search, digits):
    tuner, _, _ = grid_search
    x_train, x_val, y_train, y_val = digits
    before = tuner.cv_results_
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=2)
    assert len(tuner.oracle.trials) == 4
    assert tuner.cv_results_ == before
    assert tuner.oracle.create_trial("another").status == "STOPPED"


def test_grid_search_cv_results_table(grid_search):
    tuner, _, _ = grid_search
    results = check_cv_results(tuner, epochs=2)
    params = {c for c in results if c.startswith("param_")}
    assert params == {
        f"param_{n}"
        for n in (
            "num_layers",
            "units",
            "dropout",
            "activation",
            "learning_rate",
            "optimizer",
            "batch_size",
        )
    }
    frame = pd.DataFrame(results)
    assert len(frame) == 4
    assert sorted(frame["param_units"]) == [8, 8, 16, 16]
    assert frame["rank_score"].tolist() == (
        frame["score"].rank(ascending=False, method="first").astype(int).tolist()
    )


def test_grid_search_best_agrees_everywhere(grid_search):
    tuner, _, (x_val, y_val) = grid_search
    check_best(tuner, x_val, y_val)


# -- random and Bayesian searches ----------------------------------------------
def test_random_search_runs_exactly_n_iter_trials(tiny, tmp_path):
    x_train, y_train, x_val, y_val = tiny
    tuner = keras_hpo.RandomSearch(
        small_mlp(num_classes=3),
        n_iter=3,
        param_distributions={
            "units": randint(4, 33),
            "learning_rate": loguniform(1e-3, 1e-1),
        },
        seed=0,
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1)
    assert len(tuner.oracle.trials) == 3
    results = check_cv_results(tuner, epochs=1)
    assert results["status"] == ["completed"] * 3
    assert (
        len({restricted(p, ["units", "learning_rate"]) for p in results["params"]}) == 3
    )
    for params in results["params"]:
        assert type(params["units"]) is int and 4 <= params["units"] <= 32
        assert type(params["learning_rate"]) is float
        assert 1e-3 <= params["learning_rate"] <= 1e-1
    check_best(tuner, x_val, y_val)


def test_bayesian_search_runs_exactly_max_trials(tiny, tmp_path):
    x_train, y_train, x_val, y_val = tiny
    tuner = keras_hpo.BayesianSearch(
        build_model,
        objective="val_accuracy",
        max_trials=4,
        num_initial_points=2,
        seed=0,
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1)
    assert len(tuner.oracle.trials) == 4
    results = check_cv_results(tuner, epochs=1)
    assert results["status"] == ["completed"] * 4
    assert (
        len({restricted(p, ["units", "learning_rate"]) for p in results["params"]}) == 4
    )
    check_best(tuner, x_val, y_val)


# -- errors and failures -------------------------------------------------------
def test_results_before_search_raise_not_searched(tmp_path):
    tuner = keras_hpo.RandomSearch(
        build_model,
        objective="val_accuracy",
        max_trials=2,
        directory=str(tmp_path),
        verbose=0,
    )
    with pytest.raises(keras_hpo.NotSearchedError, match="search"):
        _ = tuner.best_params_
    for attribute in ("best_params_", "best_score_", "best_trial_id_"):
        with pytest.raises(AttributeError):
            getattr(tuner, attribute)
        with pytest.raises(ValueError):
            getattr(tuner, attribute)
        assert not hasattr(tuner, attribute)
    with pytest.raises(keras_hpo.NotSearchedError):
        tuner.best_model()
    assert issubclass(keras_hpo.NotSearchedError, AttributeError)
    assert issubclass(keras_hpo.NotSearchedError, ValueError)
    # An empty table, not an error.
    results = tuner.cv_results_
    assert all(column == [] for column in results.values())
    assert len(pd.DataFrame(results)) == 0


def test_a_failing_trial_is_recorded_and_the_search_goes_on(tiny, tmp_path):
    x_train, y_train, x_val, y_val = tiny

    def build(hp):
        if hp.Choice("units", [4, 8, 16]) == 8:
            raise ValueError("units=8 is not supported by this build")
        return build_model(hp)

    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [4, 8, 16])
    hp.Fixed("learning_rate", 1e-2)
    tuner = keras_hpo.GridSearch(
        build,
        objective="val_accuracy",
        hyperparameters=hp,
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1)
    results = check_cv_results(tuner, epochs=1)
    assert [p["units"] for p in results["params"]] == [4, 8, 16]
    assert results["status"] == ["completed", "failed", "completed"]
    assert results["score"][1] is None
    assert results["error"][0] is None and results["error"][2] is None
    assert "units=8 is not supported by this build" in results["error"][1]
    assert "ValueError" in results["error"][1]
    assert results["rank_score"][1] == 3
    assert tuner.best_params_["units"] in (4, 16)
    assert tuner.oracle.trials[results["trial_id"][1]].status == "FAILED"
    check_best(tuner, x_val, y_val)


# -- keras-tuner compatibility -------------------------------------------------
@pytest.mark.parametrize(
    ("oracle_class", "trials"),
    [
        (keras_hpo.GridOracle, 2),
        (keras_hpo.RandomOracle, 2),
        (keras_hpo.BayesianOracle, 3),
    ],
)
def test_oracles_work_with_a_plain_keras_tuner_tuner(
    oracle_class, trials, tiny, tmp_path
):
    x_train, y_train, x_val, y_val = tiny
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [4, 8] if oracle_class is keras_hpo.GridOracle else [4, 8, 16])
    hp.Choice(
        "learning_rate",
        [1e-2] if oracle_class is keras_hpo.GridOracle else [1e-2, 1e-1],
    )
    oracle = oracle_class(
        objective="val_accuracy",
        max_trials=None if oracle_class is keras_hpo.GridOracle else trials,
        hyperparameters=hp,
        seed=0,
    )
    tuner = keras_tuner.Tuner(
        oracle=oracle,
        hypermodel=build_model,
        directory=str(tmp_path),
        project_name="kt",
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1, verbose=0)
    assert len(oracle.trials) == trials
    assert all(t.status == "COMPLETED" for t in oracle.trials.values())
    values = [t.hyperparameters.values for t in oracle.trials.values()]
    assert len({restricted(v, ["units", "learning_rate"]) for v in values}) == trials
    best = tuner.get_best_hyperparameters()[0].values
    assert best in values
    assert isinstance(tuner.get_best_models(1)[0], keras.Model)


@pytest.mark.parametrize("module", [keras_tuner, keras_hpo])
def test_random_search_is_a_drop_in_for_keras_tuner(module, tiny, tmp_path):
    # The same call, only the module changes.
    x_train, y_train, x_val, y_val = tiny
    tuner = module.RandomSearch(
        hypermodel=build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=1,
        directory=str(tmp_path),
        project_name="swap",
        overwrite=True,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1, verbose=0)
    trials = tuner.oracle.trials.values()
    assert len(trials) == 2
    assert all(t.status == "COMPLETED" for t in trials)
    best_hp = tuner.get_best_hyperparameters()[0]
    assert set(best_hp.values) == {"units", "learning_rate"}
    best_model = tuner.get_best_models(1)[0]
    score = best_model.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert score == pytest.approx(tuner.oracle.get_best_trials()[0].score, abs=1e-6)
    tuner.results_summary(1)
    if module is keras_hpo:
        assert tuner.best_params_ == best_hp.values
        check_best(tuner, x_val, y_val)


def test_resume_reloads_and_runs_no_new_trials(tiny, tmp_path):
    x_train, y_train, x_val, y_val = tiny
    arguments = dict(
        hypermodel=build_model,
        objective="val_accuracy",
        max_trials=2,
        seed=3,
        directory=str(tmp_path),
        project_name="resume",
        verbose=0,
    )
    fit = dict(validation_data=(x_val, y_val), epochs=1)
    first = keras_hpo.RandomSearch(**arguments)
    first.search(x_train, y_train, **fit)
    assert len(first.oracle.trials) == 2
    results = {k: r.to_json() for k, r in first.trial_results.items()}

    second = keras_hpo.RandomSearch(**arguments, overwrite=False)
    # Reloaded at construction: results are there before any search.
    assert {k: r.to_json() for k, r in second.trial_results.items()} == results
    assert second.best_params_ == first.best_params_
    assert second.best_score_ == first.best_score_
    second.search(x_train, y_train, **fit)
    assert len(second.oracle.trials) == 2
    assert second.oracle.start_order == first.oracle.start_order
    assert {k: r.to_json() for k, r in second.trial_results.items()} == results
    assert second.cv_results_ == first.cv_results_
    trial_dirs = [d for d in os.listdir(tmp_path / "resume") if d.startswith("trial_")]
    assert len(trial_dirs) == 2
    check_best(second, x_val, y_val)

    # A larger budget on the same project continues where it stopped.
    third = keras_hpo.RandomSearch(**{**arguments, "max_trials": 3})
    third.search(x_train, y_train, **fit)
    assert len(third.oracle.trials) == 3
    assert len(third.trial_results) == 3
    assert third.cv_results_["number"] == [1, 2, 3]
    assert third.cv_results_["params"][:2] == first.cv_results_["params"]
    assert (
        len(
            {
                restricted(p, ["units", "learning_rate"])
                for p in third.cv_results_["params"]
            }
        )
        == 3
    )


# -- sub-grids, end to end -----------------------------------------------------
def test_grid_search_with_sub_grids_sharing_a_name(tiny, tmp_path):
    x_train, y_train, x_val, y_val = tiny
    param_grid = [{"units": [8, 16]}, {"units": [32], "learning_rate": [1e-1]}]
    tuner = keras_hpo.GridSearch(
        small_mlp(num_classes=3),
        param_grid=param_grid,
        directory=str(tmp_path),
        verbose=0,
    )
    assert len(tuner.grid) == 3
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=1)
    results = tuner.cv_results_
    assert [(p["units"], p["learning_rate"]) for p in results["params"]] == [
        (8, 1e-2),
        (16, 1e-2),
        (32, 1e-1),
    ]
    # Each model was built with the units its trial reports.
    for trial_id, units in zip(results["trial_id"], (8, 16, 32), strict=True):
        model = tuner.load_model(tuner.oracle.get_trial(trial_id))
        assert model.get_layer("dense_0").units == units


# -- larger searches -----------------------------------------------------------
@pytest.mark.slow
def test_bayesian_search_on_digits(digits, tmp_path):
    x_train, x_val, y_train, y_val = digits
    tuner = keras_hpo.BayesianSearch(
        keras_hpo.HyperMLP(num_classes=10, num_layers=(1, 2), units=(16, 128)),
        max_trials=10,
        seed=0,
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=3)
    assert len(tuner.oracle.trials) == 10
    results = check_cv_results(tuner, epochs=3)
    assert results["status"] == ["completed"] * 10
    assert len({frozenset(p.items()) for p in results["params"]}) == 10
    check_best(tuner, x_val, y_val)
    assert tuner.best_score_ > 0.8


@pytest.mark.slow
def test_grid_search_on_digits_with_conditional_units(digits, tmp_path):
    x_train, x_val, y_train, y_val = digits
    hypermodel = keras_hpo.HyperMLP(
        num_classes=10,
        num_layers=[1, 2],
        units=[16, 32],
        units_per_layer=True,
        dropout=0.0,
        activation=["relu", "tanh"],
        learning_rate=1e-2,
    )
    tuner = keras_hpo.GridSearch(hypermodel, directory=str(tmp_path), verbose=0)
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=2)
    # (1 layer: 2 widths + 2 layers: 4 widths) x 2 activations.
    assert len(tuner.grid) == 12
    assert len(tuner.oracle.trials) == 12
    results = check_cv_results(tuner, epochs=2)
    ran = {frozenset(p.items()) for p in results["params"]}
    assert ran == {frozenset(values.items()) for values in tuner.grid}
    for params in results["params"]:
        assert ("units_1" in params) == (params["num_layers"] == 2)
    check_best(tuner, x_val, y_val)
    assert not math.isnan(tuner.best_score_)


def test_trial_ids_have_four_digits_and_sort_in_trial_order(
    tmp_path, tiny_classification
):
    x, y = tiny_classification

    def search(max_trials):
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=[4, 8, 16, 32]),
            max_trials=max_trials,
            seed=0,
            directory=str(tmp_path),
            project_name="p",
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )
        tuner.search(x, y, validation_split=0.25, epochs=1)
        return tuner

    search(2)  # keras-tuner would name them 0, 1 (the width of max_trials)
    tuner = search(3)  # resumed
    ids = [r.trial_id for r in tuner.results()]  # in trial order
    assert ids == ["0000", "0001", "0002"]
    folders = sorted(d for d in os.listdir(tmp_path / "p") if d.startswith("trial_"))
    assert folders == [f"trial_{i}" for i in ids]


class _Policies(keras.callbacks.Callback):
    """Records the dtype policy of each trained model's first Dense layer."""

    seen: list = []

    def on_train_begin(self, logs=None):
        dense = [d for d in self.model.layers if isinstance(d, keras.layers.Dense)]
        type(self).seen.append(dense[0].dtype_policy.name)


def test_a_users_dtype_policy_holds_for_every_trial(tmp_path, tiny_classification):
    # Mixed precision set before the search (as on a GPU): Keras' clear_session
    # before each trial reset it, so every trial trained in float32 and the
    # user's policy was gone after the search.
    x, y = tiny_classification
    _Policies.seen = []
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        tuner = keras_hpo.GridSearch(
            keras_hpo.HyperMLP(num_classes=3),
            param_grid={"units": [4, 8]},
            directory=tmp_path,
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )
        tuner.search(x, y, validation_split=0.25, epochs=1, callbacks=[_Policies()])
        after = keras.config.dtype_policy().name
    finally:
        keras.config.set_dtype_policy("float32")
    assert tuner.cv_results_["status"] == ["completed", "completed"]
    assert _Policies.seen == ["mixed_bfloat16", "mixed_bfloat16"]
    assert after == "mixed_bfloat16"
