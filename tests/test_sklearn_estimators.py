"""scikit-learn estimators on our strategies, checked against GridSearchCV.

The same estimator, grid, splitter and scorer through keras_hpo's
`GridSearch` and through ``sklearn.model_selection.GridSearchCV`` must give
the same candidates in the same order, the same fold scores, the same
``best_params_`` / ``best_score_`` (to 1e-12) and the same refit model.
"""

from __future__ import annotations

import math
import os

import keras_tuner
import numpy as np
import pytest
import scipy.stats
from sklearn.datasets import load_diabetes
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.model_selection import GroupKFold
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from tb_reading import hparams
from tb_reading import read_logs

import keras_hpo

#: The iris seed's grid, as its users write it (scikit-learn's tutorial).
SEED_GRID = {
    "n_estimators": [50, 100, 150],
    "max_depth": [None, 10, 20],
    "min_samples_split": [2, 5, 10],
}
#: The same shape, with forests small enough for the default test run.
SMALL_GRID = {
    "n_estimators": [3, 5, 8],
    "max_depth": [None, 2, 3],
    "min_samples_split": [2, 5, 10],
}


def _same_as_grid_search_cv(tmp_path, estimator, grid, x, y, **search):
    reference = GridSearchCV(estimator, grid, **search).fit(x, y)
    tuner = keras_hpo.GridSearch(
        estimator, param_grid=grid, directory=str(tmp_path), verbose=0, **search
    )
    tuner.search(x, y)
    ours = tuner.cv_results_
    theirs = reference.cv_results_
    # Every column scikit-learn has, we have (times aside, values equal).
    assert set(theirs) <= set(ours)
    assert ours["params"] == list(theirs["params"])
    for column in theirs:
        if column.endswith("_time") or column == "params":
            continue
        mine = ours[column]
        if column.startswith("param_"):
            assert list(mine) == list(theirs[column]), column
        else:
            np.testing.assert_allclose(mine, theirs[column], rtol=0, atol=1e-12)
    assert tuner.best_params_ == reference.best_params_
    assert abs(tuner.best_score_ - reference.best_score_) <= 1e-12
    assert len(tuner.results()) == len(theirs["params"])
    return tuner, reference


def test_iris_random_forest_grid_equals_grid_search_cv(tmp_path):
    x, y = load_iris(return_X_y=True)
    tuner, reference = _same_as_grid_search_cv(
        tmp_path,
        RandomForestClassifier(random_state=0),
        SMALL_GRID,
        x,
        y,
        cv=5,
        scoring="accuracy",
    )
    assert len(tuner.results()) == 27
    # max_depth=None ran as None, not as a text label.
    assert tuner.cv_results_["param_max_depth"][:9] == [None] * 9
    # The refit is GridSearchCV's refit: same parameters, same data, same seed.
    np.testing.assert_array_equal(
        tuner.predict(x), reference.best_estimator_.predict(x)
    )
    np.testing.assert_allclose(
        tuner.predict_proba(x), reference.best_estimator_.predict_proba(x)
    )
    assert tuner.score(x, y) == pytest.approx(reference.score(x, y), abs=1e-12)
    assert isinstance(tuner.best_estimator_, RandomForestClassifier)
    assert os.path.isfile(tmp_path / "untitled_project" / "refit" / "estimator.pkl")


@pytest.mark.slow
def test_iris_random_forest_seed_grid_equals_grid_search_cv(tmp_path):
    x, y = load_iris(return_X_y=True)
    tuner, _ = _same_as_grid_search_cv(
        tmp_path,
        RandomForestClassifier(random_state=0),
        SEED_GRID,
        x,
        y,
        cv=5,
        scoring="accuracy",
    )
    assert len(tuner.results()) == 27


def test_several_scores_and_the_default_score_equal_grid_search_cv(tmp_path):
    x, y = load_iris(return_X_y=True)
    grid = {"max_depth": [1, 2, None], "criterion": ["gini", "entropy"]}
    tree = DecisionTreeClassifier(random_state=0)
    _same_as_grid_search_cv(
        tmp_path / "several",
        tree,
        grid,
        x,
        y,
        cv=3,
        scoring=["accuracy", "f1_macro"],
        refit="f1_macro",
    )
    # No scoring=: the estimator's own score (accuracy), 5 folds by default.
    tuner, _ = _same_as_grid_search_cv(tmp_path / "default", tree, grid, x, y)
    assert tuner.oracle.objective.name == "val_score"
    assert "split4_test_score" in tuner.cv_results_


def test_regression_rmse_and_a_pipeline_equal_grid_search_cv(tmp_path):
    x, y = load_diabetes(return_X_y=True)
    pipeline = Pipeline([("scale", StandardScaler()), ("ridge", Ridge())])
    grid = {
        "ridge__alpha": [0.01, 0.1, 1.0, 10.0],
        "scale": [StandardScaler(), "passthrough"],
    }
    tuner, _ = _same_as_grid_search_cv(
        tmp_path,
        pipeline,
        grid,
        x,
        y,
        cv=KFold(4, shuffle=True, random_state=0),
        scoring="neg_root_mean_squared_error",
    )
    # Greater is better, as in scikit-learn: the RMSE negated.
    assert tuner.best_score_ < 0
    assert tuner.score(x, y) == pytest.approx(
        -np.sqrt(np.mean((tuner.predict(x) - y) ** 2))
    )
    assert tuner.best_params_["scale"] in ("passthrough",) or isinstance(
        tuner.best_params_["scale"], StandardScaler
    )


def test_values_keras_tuner_cannot_hold_are_decoded(tmp_path):
    x, y = load_iris(return_X_y=True)
    tuner = keras_hpo.GridSearch(
        DecisionTreeClassifier(random_state=0),
        param_grid={"max_features": [0.5, "sqrt", None, 2], "max_depth": [None]},
        cv=3,
        directory=str(tmp_path),
        verbose=0,
    )
    # The strategies see text labels...
    assert [c["max_features"] for c in tuner.grid] == ["0.5", "sqrt", "None", "2"]
    tuner.search(x, y)
    # ...the results hold the estimator's values, with their types.
    values = tuner.cv_results_["param_max_features"]
    assert values == [0.5, "sqrt", None, 2]
    assert [type(v) for v in values] == [float, str, type(None), int]
    assert tuner.cv_results_["param_max_depth"] == [None] * 4
    reference = GridSearchCV(
        DecisionTreeClassifier(random_state=0),
        {"max_features": [0.5, "sqrt", None, 2], "max_depth": [None]},
        cv=3,
    ).fit(x, y)
    np.testing.assert_allclose(
        tuner.cv_results_["mean_test_score"],
        reference.cv_results_["mean_test_score"],
        rtol=0,
        atol=1e-12,
    )


def test_random_search_runs_n_iter_distinct_configurations(tmp_path):
    x, y = load_iris(return_X_y=True)

    def run(name):
        tuner = keras_hpo.RandomSearch(
            DecisionTreeClassifier(random_state=0),
            param_distributions={
                "max_depth": [None, 2, 3, 4, 5],
                "min_samples_split": scipy.stats.randint(2, 20),
                "criterion": ["gini", "entropy"],
            },
            n_iter=10,
            seed=3,
            cv=3,
            directory=str(tmp_path),
            project_name=name,
            verbose=0,
        )
        tuner.search(x, y)
        return tuner.cv_results_["params"]

    params = run("first")
    assert len(params) == 10
    assert len({tuple(sorted(p.items(), key=str)) for p in params}) == 10
    assert any(p["max_depth"] is None for p in params)
    assert all(2 <= p["min_samples_split"] < 20 for p in params)
    assert run("second") == params  # seeded: the same draws


def test_bayesian_search_tunes_an_estimator(tmp_path):
    x, y = load_diabetes(return_X_y=True)
    tuner = keras_hpo.BayesianSearch(
        Ridge(),
        param_distributions={"alpha": scipy.stats.loguniform(1e-3, 1e2)},
        max_trials=6,
        seed=1,
        scoring="r2",
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x, y)
    scores = tuner.cv_results_["mean_test_score"]
    assert len(scores) == 6 and all(math.isfinite(s) for s in scores)
    assert tuner.best_score_ == max(scores)
    assert 1e-3 <= tuner.best_params_["alpha"] <= 1e2


@pytest.mark.parametrize("strategy", ["grid", "random", "bayesian"])
def test_keras_tuners_sklearn_tuner_runs_on_our_oracles(tmp_path, strategy):
    # keras-tuner's own SklearnTuner, our oracle, our SklearnHyperModel
    # declaring a grid with None (which keras-tuner's Choice cannot hold).
    x, y = load_iris(return_X_y=True)
    grid = {"max_depth": [None, 1, 2], "criterion": ["gini", "entropy"]}
    hypermodel = keras_hpo.SklearnHyperModel(
        DecisionTreeClassifier(random_state=0), param_grid=grid
    )
    objective = keras_tuner.Objective("score", "max")
    oracle = {
        "grid": lambda: keras_hpo.oracles.GridOracle(objective=objective),
        "random": lambda: keras_hpo.RandomOracle(
            objective=objective, max_trials=4, seed=1
        ),
        "bayesian": lambda: keras_hpo.BayesianOracle(
            objective=objective, max_trials=4, seed=1
        ),
    }[strategy]()
    folds = KFold(3, shuffle=True, random_state=0)
    tuner = keras_tuner.SklearnTuner(
        oracle=oracle, hypermodel=hypermodel, cv=folds, directory=str(tmp_path)
    )
    tuner.search(x, y)
    tried = [
        hypermodel.decode(t.hyperparameters.values)
        for t in tuner.oracle.trials.values()
    ]
    assert len(tried) == (6 if strategy == "grid" else 4)
    assert len({tuple(sorted(v.items(), key=str)) for v in tried}) == len(tried)
    assert all(v["max_depth"] in (None, 1, 2) for v in tried)
    if strategy == "grid":
        expected = GridSearchCV(
            DecisionTreeClassifier(random_state=0), grid, cv=folds
        ).fit(x, y)
        best = tuner.oracle.get_best_trials()[0]
        assert hypermodel.decode(best.hyperparameters.values) == expected.best_params_
        assert abs(best.score - expected.best_score_) <= 1e-12
        assert (
            tuner.get_best_models()[0].max_depth == expected.best_params_["max_depth"]
        )


def test_estimator_trials_are_in_tensorboard_and_resume(tmp_path, capsys):
    x, y = load_iris(return_X_y=True)
    grid = {"max_depth": [1, 2, 3, None]}

    def tuner(**kwargs):
        return keras_hpo.GridSearch(
            DecisionTreeClassifier(random_state=0),
            param_grid=grid,
            cv=3,
            directory=str(tmp_path),
            project_name="tree",
            **kwargs,
        )

    first = tuner(max_trials=2)
    first.search(x, y)
    line = capsys.readouterr().out.splitlines()[2]
    assert line.startswith("[trial 1/2] val_score=")
    assert "(mean of 3 folds)" in line and "epochs" not in line
    again = tuner(verbose=0)
    again.search(x, y)
    assert len(again.results()) == 4
    assert [r.number for r in again.results()] == [1, 2, 3, 4]
    experiment, sessions, _ = hparams(tmp_path / "tree" / "tensorboard")
    assert len(sessions) == 4
    # Only columns something writes: a fit has no epochs (the table had
    # empty "val_score (last epoch)" and "best epoch" columns, epochs run 0).
    assert [m.name.tag for m in experiment.metric_infos] == ["best/val_score"]
    scalars, _ = read_logs(tmp_path / "tree" / "tensorboard")
    assert sorted(scalars["trial_0000"]) == ["best/val_score", "seconds"]
    values = {
        session.hparams["max_depth"].string_value
        or str(int(session.hparams["max_depth"].number_value))
        for session in sessions.values()
    }
    assert values == {"1", "2", "3", "None"}
    # Another estimator in that project: refused, its scores mean another thing.
    with pytest.raises(ValueError, match="estimator"):
        keras_hpo.GridSearch(
            RandomForestClassifier(),
            param_grid=grid,
            cv=3,
            directory=str(tmp_path),
            project_name="tree",
        )


def test_bad_input_for_an_estimator_names_the_argument(tmp_path):
    tree = DecisionTreeClassifier()
    with pytest.raises(ValueError, match=r"param_grid.*'max_dept'.*max_depth"):
        keras_hpo.GridSearch(tree, param_grid={"max_dept": [1, 2]})
    with pytest.raises(ValueError, match=r"scoring.*'mae'.*neg_mean_absolute_error"):
        keras_hpo.GridSearch(tree, param_grid={"max_depth": [1, 2]}, scoring="mae")
    with pytest.raises(ValueError, match=r"fuse.*scikit-learn estimator.*fuse=4"):
        keras_hpo.GridSearch(tree, param_grid={"max_depth": [1, 2]}, fuse=4)
    with pytest.raises(ValueError, match=r"param_distributions.*together with"):
        keras_hpo.SklearnHyperModel(
            tree, param_grid={"max_depth": [1]}, param_distributions={"max_depth": [2]}
        )
    with pytest.raises(ValueError, match=r"param_grid.*'max_dept'"):
        keras_hpo.SklearnHyperModel(tree, param_grid={"max_dept": [1, 2]})
    # SklearnSearch searched param_distributions and dropped param_grid.
    with pytest.raises(ValueError, match=r"param_distributions.*together with"):
        keras_hpo.SklearnSearch(
            tree,
            strategy="random",
            param_grid={"max_depth": [1]},
            param_distributions={"min_samples_leaf": [1, 2]},
        )
    # A class, not an instance (keras-tuner called it as a build function).
    for cls in (DecisionTreeClassifier, keras_hpo.HyperMLP):
        with pytest.raises(TypeError) as info:
            keras_hpo.GridSearch(cls, param_grid={"max_depth": [1, 2]})
        message = str(info.value)
        assert message.startswith(
            "`hypermodel` must be an instance (a hypermodel or a scikit-learn "
            "estimator), not a class. Received: hypermodel=<class "
        )
        assert message.endswith(f"Pass {cls.__name__}(...) instead of {cls.__name__}.")
    x, y = load_iris(return_X_y=True)
    tuner = keras_hpo.GridSearch(
        tree, param_grid={"max_depth": [1, 2]}, directory=str(tmp_path), verbose=0
    )
    with pytest.raises(ValueError, match=r"epochs.*Keras fit\(\) argument"):
        tuner.search(x, y, epochs=5)
    with pytest.raises(ValueError) as info:  # (it blamed cv=, and tf.data)
        tuner.search(x, y[:100])
    assert str(info.value) == (
        "`y`: not one label per sample of x (150 samples). Received: "
        "y=100 labels (of type ndarray). Pass x and y with the same number of rows."
    )
    no_refit = keras_hpo.GridSearch(
        tree,
        param_grid={"max_depth": [1, 2]},
        refit=False,
        directory=str(tmp_path),
        project_name="no_refit",
        verbose=0,
    )
    no_refit.search(x, y)
    with pytest.raises(AttributeError, match="refit=True"):
        _ = no_refit.best_estimator_
    with pytest.raises(TypeError, match="best_estimator_"):
        no_refit.best_model()


def test_a_failing_fit_fails_its_trial_only(tmp_path):
    x, y = load_iris(return_X_y=True)
    tuner = keras_hpo.GridSearch(
        DecisionTreeClassifier(random_state=0),
        param_grid={"max_depth": [-1, 2]},  # -1: refused by scikit-learn's fit
        cv=3,
        directory=str(tmp_path),
        verbose=0,
    )
    tuner.search(x, y)
    status = tuner.cv_results_["status"]
    assert status == ["failed", "completed"]
    assert "max_depth" in tuner.cv_results_["error"][0]
    assert tuner.best_params_ == {"max_depth": 2}


def test_groups_and_sample_weight_equal_grid_search_cv(tmp_path):
    # groups go to the splitter only; sample_weight to every fit and (as
    # this scikit-learn does, when its search weights scores) to each
    # fold's test score.
    x, y = load_iris(return_X_y=True)
    groups = np.arange(len(y)) % 10
    weights = np.where(y == 2, 3.0, 1.0)
    grid = {"max_depth": [1, 2, None]}
    estimator = DecisionTreeClassifier(random_state=0)
    search = keras_hpo.SklearnSearch(
        estimator, grid, cv=GroupKFold(3), directory=str(tmp_path), verbose=0
    )
    search.fit(x, y, groups=groups, sample_weight=weights)
    reference = GridSearchCV(estimator, grid, cv=GroupKFold(3))
    reference.fit(x, y, groups=groups, sample_weight=weights)
    np.testing.assert_array_equal(search.predict(x), reference.predict(x))
    assert search.n_splits_ == reference.n_splits_ == 3
    assert keras_hpo.load(search.project_dir).n_splits_ == 3
    for k in range(3):
        np.testing.assert_allclose(
            search.cv_results_[f"split{k}_test_score"],
            reference.cv_results_[f"split{k}_test_score"],
            rtol=0,
            atol=1e-12,
        )
    assert search.best_params_ == reference.best_params_


def test_sklearn_search_fits_like_grid_search_cv(tmp_path):
    x, y = load_iris(return_X_y=True)
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("tree", DecisionTreeClassifier(random_state=0))]
    )
    grid = {"tree__max_depth": [None, 1, 2], "tree__criterion": ["gini", "entropy"]}
    search = keras_hpo.SklearnSearch(
        pipeline, grid, cv=5, directory=str(tmp_path), project_name="grid", verbose=0
    )
    assert search.fit(x, y) is search
    reference = GridSearchCV(pipeline, grid, cv=5).fit(x, y)
    assert search.best_params_ == reference.best_params_
    assert abs(search.best_score_ - reference.best_score_) <= 1e-12
    np.testing.assert_array_equal(search.predict(x), reference.predict(x))
    assert isinstance(search.tuner, keras_hpo.GridSearch)
    assert search.best_index_ == reference.best_index_
    np.testing.assert_array_equal(search.classes_, reference.classes_)
    assert search.refit_time_ > 0
    with pytest.raises(AttributeError, match="'SklearnSearch' object has no attr"):
        getattr(search, "n_features_out_")  # noqa: B009

    randomized = keras_hpo.SklearnSearch(
        DecisionTreeClassifier(random_state=0),
        param_distributions={
            "max_depth": [None, 1, 2, 3, 4],
            "min_samples_split": [2, 3, 4, 5],
        },
        strategy="random",
        n_iter=10,
        random_state=0,
        cv=3,
        directory=str(tmp_path),
        project_name="random",
        verbose=0,
    ).fit(x, y)
    assert isinstance(randomized.tuner, keras_hpo.RandomSearch)
    params = randomized.cv_results_["params"]
    assert len({tuple(sorted(p.items(), key=str)) for p in params}) == 10
    with pytest.raises(ValueError, match=r"strategy.*Use one of: grid, random"):
        keras_hpo.SklearnSearch(DecisionTreeClassifier(), grid, strategy="optuna")
    with pytest.raises(ValueError, match=r"param_grid.*no search space"):
        keras_hpo.SklearnSearch(DecisionTreeClassifier())


class FailsOnTheSecondFold(DecisionTreeClassifier):
    """Raises in the fit of its second fold when ``fail`` is set."""

    fits: list[bool] = []  # the folds are clones: the count is the class's

    def __init__(self, max_depth=None, fail=False):
        super().__init__(max_depth=max_depth, random_state=0)
        self.fail = fail

    def fit(self, X, y, **kwargs):
        FailsOnTheSecondFold.fits.append(self.fail)
        if self.fail and FailsOnTheSecondFold.fits.count(True) == 2:
            raise ValueError("the second fold cannot be fitted")
        return super().fit(X, y, **kwargs)


def test_a_fold_that_fails_fails_its_trial_and_the_search_goes_on(tmp_path, capsys):
    # The progress line formatted the failed trial's missing mean score:
    # TypeError, and the search ended with verbose=1 (not with verbose=0).
    x, y = load_iris(return_X_y=True)
    FailsOnTheSecondFold.fits = []
    tuner = keras_hpo.GridSearch(
        FailsOnTheSecondFold(),
        param_grid={"fail": [False, True], "max_depth": [2]},
        cv=3,
        directory=tmp_path,
        verbose=1,
        refit=False,
    )
    tuner.search(x, y)
    status = {r.values["fail"]: r for r in tuner.results()}
    assert status[False].status.value == "completed"
    assert status[True].status.value == "failed"
    assert "the second fold cannot be fitted" in status[True].error
    out = capsys.readouterr().out
    assert "FAILED: ValueError: the second fold cannot be fitted" in out
    assert tuner.stop_reason == "the search space is exhausted"


@pytest.mark.parametrize(
    "grid",
    [
        [
            {"s": [StandardScaler(), "passthrough"], "clf__max_depth": [1, 2]},
            {"s": [MinMaxScaler(), "passthrough"], "clf__max_depth": [3]},
        ],
        [{"clf__max_depth": [None, 1]}, {"clf__max_depth": [2, None]}],
    ],
    ids=["scalers", "none"],
)
def test_a_list_of_grids_naming_a_parameter_twice_equals_grid_search_cv(tmp_path, grid):
    # The last grid's labels replaced the earlier ones': StandardScaler()
    # trials ran with the text "StandardScaler()" and max_depth=1 as "1",
    # and failed.
    x, y = load_iris(return_X_y=True)
    pipe = Pipeline(
        [("s", StandardScaler()), ("clf", DecisionTreeClassifier(random_state=0))]
    )
    tuner = keras_hpo.GridSearch(
        pipe, param_grid=grid, cv=3, directory=tmp_path, verbose=0
    )
    tuner.search(x, y)
    reference = GridSearchCV(pipe, grid, cv=3).fit(x, y)
    assert [r.status.value for r in tuner.results()] == ["completed"] * len(
        reference.cv_results_["params"]
    )
    ours = tuner.cv_results_
    assert [repr(p) for p in ours["params"]] == [
        repr(p) for p in reference.cv_results_["params"]
    ]
    np.testing.assert_allclose(
        ours["mean_test_score"], reference.cv_results_["mean_test_score"]
    )
    assert repr(tuner.best_params_) == repr(reference.best_params_)


def test_grids_whose_values_read_alike_but_differ_are_refused(tmp_path):
    with pytest.raises(ValueError) as info:
        keras_hpo.GridSearch(
            DecisionTreeClassifier(),
            param_grid=[
                {"max_depth": [None, 1]},
                {"max_depth": [None, "1"]},
            ],
            directory=tmp_path,
        )
    assert "its value 1 reads as another value of 'max_depth' in another grid" in (
        str(info.value)
    )


class SplitsOnTheFirstColumn:
    """A splitter that reads X (as scikit-learn's search passes it)."""

    def get_n_splits(self, X=None, y=None, groups=None):
        return 2

    def split(self, X, y=None, groups=None):
        low = np.asarray(X)[:, 0] < np.median(np.asarray(X)[:, 0])
        yield np.flatnonzero(low), np.flatnonzero(~low)
        yield np.flatnonzero(~low), np.flatnonzero(low)


@pytest.mark.parametrize(
    "case", ["pipeline_weights", "list_weights", "numpy_scalar_labels", "splitter"]
)
def test_fit_params_labels_and_splitters_as_grid_search_cv_takes_them(tmp_path, case):
    # clf__sample_weight was not sliced per fold and a list sample_weight was
    # taken for several model inputs (every trial failed); y as a list of
    # NumPy scalars was refused; a splitter got a column of zeros as X.
    x, y = load_iris(return_X_y=True)
    weights = np.random.default_rng(0).uniform(0.1, 3, len(y))
    estimator = DecisionTreeClassifier(random_state=0)
    grid, cv, kwargs = {"max_depth": [1, 2, 3]}, 3, {}
    if case == "pipeline_weights":
        estimator = Pipeline([("s", StandardScaler()), ("clf", estimator)])
        grid = {"clf__max_depth": [1, 2, 3]}
        kwargs = {"clf__sample_weight": weights}
    elif case == "list_weights":
        kwargs = {"sample_weight": weights.tolist()}
    elif case == "numpy_scalar_labels":
        y = list(np.array(["a", "b", "c"])[y])
    else:
        cv = SplitsOnTheFirstColumn()
    tuner = keras_hpo.GridSearch(
        estimator, param_grid=grid, cv=cv, directory=tmp_path, verbose=0
    )
    tuner.search(x, y, **kwargs)
    reference = GridSearchCV(estimator, grid, cv=cv).fit(x, y, **kwargs)
    assert {r.status.value for r in tuner.results()} == {"completed"}
    np.testing.assert_allclose(
        tuner.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
    )
    assert tuner.best_params_ == reference.best_params_
