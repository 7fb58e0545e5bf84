"""keras-tuner behaviours keras_hpo keeps, each incompatibility of issue 21 on its own.

Code written for keras-tuner's tuners and oracles passes arguments by
position, lets ``search(verbose=0)`` silence the search and sets the Bayesian
oracle's ``alpha`` and ``beta``; these tests hold keras_hpo to that.
"""

from __future__ import annotations

import re

import keras
import keras_tuner
import numpy as np
import pytest
from conftest import run_python
from test_bayesian import bowl
from test_bayesian import make
from test_bayesian import run
from test_bayesian import square_space

import keras_hpo
from keras_hpo.oracles import BayesianOracle
from keras_hpo.oracles import GridOracle
from keras_hpo.oracles import RandomOracle
from keras_hpo.oracles import acquisition
from keras_hpo.oracles import bayesian
from keras_hpo.oracles import gp
from keras_hpo.oracles.gp import default_theta


def small_mlp() -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(
        num_classes=2,
        num_layers=1,
        units=[8, 16],
        dropout=0.0,
        activation="relu",
        learning_rate=[1e-2],
        optimizer="adam",
        batch_size=[20],
    )


def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


# -- (6) positional arguments --------------------------------------------------
def test_tuner_arguments_bind_by_position_as_in_keras_tuner(tmp_path):
    # keras-tuner: (hypermodel, objective, max_trials, seed, hyperparameters,
    # ...) and BayesianOptimization(..., max_trials, num_initial_points,
    # alpha, beta, seed, ...).
    random = keras_hpo.RandomSearch(
        small_mlp(), "val_loss", 3, 7, directory=tmp_path, project_name="r"
    )
    assert (random.oracle.max_trials, random.oracle.seed) == (3, 7)
    grid = keras_hpo.GridSearch(
        small_mlp(), "val_loss", None, 5, directory=tmp_path, project_name="g"
    )
    assert (grid.oracle.seed, len(grid.grid)) == (5, 2)
    bayes = keras_hpo.BayesianSearch(
        small_mlp(), "val_loss", 6, 2, 1e-3, 1.5, 9, directory=tmp_path
    )
    oracle = bayes.oracle
    assert (oracle.max_trials, oracle.num_initial_points) == (6, 2)
    assert (oracle.alpha, oracle.beta, oracle.seed) == (1e-3, 1.5, 9)


def test_oracle_arguments_bind_by_position_as_in_keras_tuner():
    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [8, 16])
    random = RandomOracle("val_loss", 4, 11, hp)
    grid = GridOracle("val_loss", None, 3, hp)
    bayes = BayesianOracle("val_loss", 6, 2, 1e-4, 2.6, 5, hp)
    assert (random.max_trials, random.seed) == (4, 11)
    assert grid.seed == 3
    assert (bayes.num_initial_points, bayes.alpha, bayes.beta) == (2, 1e-4, 2.6)
    assert bayes.seed == 5
    for oracle in (random, grid, bayes):
        assert oracle.objective.name == "val_loss"
        assert oracle.hyperparameters.get("units") == 8


def test_keras_hpo_oracles_is_an_attribute_after_import_keras_hpo():
    done = run_python(
        ["-c", "import keras_hpo; print(keras_hpo.oracles.BayesianOracle.__name__)"]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "BayesianOracle"


# -- (6) search(verbose=0) -----------------------------------------------------
def test_search_verbose_0_prints_nothing_and_the_next_search_prints_again(
    tmp_path, capsys
):
    x, y = tiny_data()
    tuner = keras_hpo.RandomSearch(small_mlp(), max_trials=1, directory=tmp_path)
    capsys.readouterr()
    tuner.search(x, y, validation_split=0.25, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    assert len(tuner.results()) == 1
    tuner.oracle.max_trials = 2
    tuner.search(x, y, validation_split=0.25, epochs=1)
    assert "[trial 2/2]" in capsys.readouterr().out


# -- (5) hypermodel=None -------------------------------------------------------
def test_no_hypermodel_is_refused_unless_run_trial_is_overridden(tmp_path):
    with pytest.raises(keras_hpo.ConfigError, match="`hypermodel`.*run_trial"):
        keras_hpo.RandomSearch(None, objective="val_loss", directory=tmp_path)

    class Scripted(keras_hpo.RandomSearch):
        def run_trial(self, trial, *args, **kwargs):
            return {"score": trial.hyperparameters.Float("x", 0.0, 1.0)}

    objective = keras_tuner.Objective("score", "max")
    tuner = Scripted(None, objective=objective, max_trials=1, directory=tmp_path)
    assert tuner.hypermodel is None


# -- (5) alpha and beta ----------------------------------------------------------
def test_alpha_is_the_least_noise_of_the_gaussian_process():
    rng = np.random.default_rng(0)
    x = rng.random((12, 2))
    y = np.sin(6 * x[:, 0]) + x[:, 1]  # noiseless: the fit finds little noise
    free = gp.fit_gp(x, y, [default_theta(2)])
    floored = gp.fit_gp(x, y, [default_theta(2)], noise_floor=1e-2)
    assert free.noise < 1e-3
    assert floored.noise == pytest.approx(1e-2, rel=1e-6)


def test_confidence_bound_and_its_gradient():
    mean, std = np.array([0.5, -1.0]), np.array([0.1, 2.0])
    value, by_mean, by_std = acquisition.confidence_bound_gradient(mean, std, 2.6)
    np.testing.assert_allclose(value, 2.6 * std - mean)
    np.testing.assert_allclose(by_mean, [-1.0, -1.0])
    np.testing.assert_allclose(by_std, [2.6, 2.6])


@pytest.mark.parametrize("beta", [None, 2.6])
def test_beta_chooses_by_confidence_bound_instead_of_expected_improvement(
    tmp_path, monkeypatch, beta
):
    calls = {"bound": 0, "ei": 0}

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    for attribute, name in [
        ("confidence_bound_gradient", "bound"),
        ("log_expected_improvement", "ei"),
        ("log_expected_improvement_gradient", "ei"),
    ]:
        monkeypatch.setattr(
            bayesian, attribute, counted(name, getattr(bayesian, attribute))
        )
    oracle = make(
        BayesianOracle,
        square_space(),
        tmp_path,
        max_trials=12,
        num_initial_points=4,
        beta=beta,
        seed=1,
    )
    history = run(oracle, bowl, 12)
    if beta is None:
        assert calls["bound"] == 0 and calls["ei"] > 0
    else:
        assert calls["ei"] == 0 and calls["bound"] > 0
    # Either way the model finds the bowl's bottom better than its 4 random
    # starting points did.
    scores = [score for _, score in history]
    assert min(scores[4:]) < min(scores[:4])


def test_bad_alpha_or_beta_is_refused_with_the_fix():
    with pytest.raises(keras_hpo.ConfigError, match="`alpha`.*>= 0"):
        BayesianOracle(objective="val_loss", alpha=-1.0)
    with pytest.raises(keras_hpo.ConfigError, match="`beta`.*E.g. beta=2.6"):
        BayesianOracle(objective="val_loss", beta="wide")
    # An infinite one was taken (a random search, or a noise variance of 1).
    for name in ("alpha", "beta", "xi"):
        with pytest.raises(keras_hpo.ConfigError, match=f"`{name}`: must .*finite"):
            BayesianOracle(objective="val_loss", **{name: float("inf")})
    # numpy's float32 is a number too.
    import numpy as np

    oracle = BayesianOracle(
        objective="val_loss", alpha=np.float32(0.5), beta=np.int64(2)
    )
    assert (oracle.alpha, oracle.beta) == (0.5, 2.0)


# -- (1) a number or a dict returned from HyperModel.fit -------------------------
class Returning(keras_tuner.HyperModel):
    """Trains one epoch, then returns what ``answer(units)`` says."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def build(self, hp):
        import keras

        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(hp.Int("units", 1, 3)),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer="adam", loss="mse")
        return model

    def fit(self, hp, model, x, y, callbacks=None, **kwargs):
        model.fit(x, y, epochs=1, verbose=0, callbacks=callbacks)
        return self.answer(hp.get("units"))


@pytest.mark.parametrize(
    ("answer", "objective", "name"),
    [
        (lambda units: float(units), None, "default_objective"),
        (
            lambda units: {"score": units / 10, "other": 1.0},
            keras_tuner.Objective("score", "min"),
            "score",
        ),
    ],
    ids=["number", "dict"],
)
def test_what_fit_returns_is_the_trials_score(tmp_path, answer, objective, name):
    x, y = tiny_data()
    tuner = keras_hpo.GridSearch(
        Returning(answer), objective=objective, directory=tmp_path, verbose=0
    )
    tuner.search(x, y.astype("float32"))
    results = tuner.results()
    assert len(results) == 3
    assert all(r.status == keras_hpo.TrialStatus.COMPLETED for r in results)
    for r in results:
        expected = answer(r.values["units"])
        expected = expected if isinstance(expected, float) else expected["score"]
        assert r.metrics[name] == pytest.approx(expected)
        assert r.score == pytest.approx(expected)
    assert tuner.best_params_ == {"units": 1}


def test_a_string_returned_from_fit_stops_the_search_as_in_keras_tuner(tmp_path):
    x, y = tiny_data()
    tuner = keras_hpo.RandomSearch(
        Returning(lambda units: "good"),
        objective=keras_tuner.Objective("score", "min"),
        max_trials=1,
        directory=tmp_path,
        verbose=0,
    )
    # keras-tuner's own check and its fatal error: nothing else would work.
    with pytest.raises(keras_tuner.errors.FatalTypeError, match="HyperModel.fit"):
        tuner.search(x, y.astype("float32"))


# -- (2), (3) hyperparameters declared while a trial runs ----------------------
class Branches(keras_hpo.GridSearch):
    """keras-tuner's gridsearch_test: every hyperparameter declared in run_trial.

    ``bool`` picks a branch; each branch declares its own Choice, without a
    conditional scope.
    """

    def run_trial(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        if hp.Boolean("bool"):
            return float(hp.Choice("c1", [0, 1, 2]))
        return float(hp.Choice("c2", [3, 4, 5]))


@pytest.mark.parametrize("tuner", ["grid", "random", "bayesian"])
def test_a_space_declared_in_run_trial_runs_each_configuration_once(tmp_path, tuner):
    class InRunTrial:
        def run_trial(self, trial, *args, **kwargs):
            return float(trial.hyperparameters.Choice("units", [1, 2, 3]))

    base = {
        "grid": keras_hpo.GridSearch,
        "random": keras_hpo.RandomSearch,
        "bayesian": keras_hpo.BayesianSearch,
    }[tuner]
    cls = type("Tuner", (InRunTrial, base), {})
    search = cls(directory=tmp_path, max_trials=10, seed=1, verbose=0)
    search.search()
    # The first trial ran with the default (units=1) and declared `units`:
    # it is that configuration, so it is not run again.
    values = [r.values for r in search.results()]
    assert sorted(v["units"] for v in values) == [1, 2, 3]
    assert values[0] == {"units": 1}
    assert search.stop_reason == "the search space is exhausted"


def test_a_grid_does_not_multiply_a_branch_by_another_branchs_values(tmp_path, capsys):
    search = Branches(directory=tmp_path)
    search.search()
    values = [r.values for r in search.results()]
    # The progress lines: the size is unknown before the first trial declares
    # anything, then the grid's size so far; never a trial past the total.
    lines = capsys.readouterr().out.splitlines()
    assert "(until the space is exhausted)" in lines[0]
    numbers = [re.match(r"\[trial (\d+)/(\d+)\]", line) for line in lines]
    numbers = [(int(m[1]), int(m[2])) for m in numbers if m]
    assert [n for n, _ in numbers] == list(range(1, 13))
    assert all(n <= total for n, total in numbers)
    # bool=False declares c2 (3 trials); bool=True then declares c1. The
    # False branch is not run again for each value of c1, which it never
    # reads. The True branch runs with each c2 it was proposed with (c2 was
    # known then), as keras-tuner's grid does: 3 + 3 * 3.
    assert values[:3] == [{"bool": False, "c2": c} for c in (3, 4, 5)]
    assert len(values) == 3 + 3 * 3
    assert {(v["c2"], v["c1"]) for v in values[3:]} == {
        (c2, c1) for c2 in (3, 4, 5) for c1 in (0, 1, 2)
    }
    assert len({tuple(sorted(v.items())) for v in values}) == len(values)


def test_hyperparameters_declared_in_fit_join_the_grid_once(tmp_path):
    class InFit(keras_tuner.HyperModel):
        def build(self, hp):
            hp.Fixed("fixed", 3)
            return keras.Sequential()  # never trained: fit answers

        def fit(self, hp, model, *args, **kwargs):
            return float(hp.Choice("choice", [0, 1, 2]))

    search = keras_hpo.GridSearch(InFit(), directory=tmp_path, verbose=0)
    search.search()
    assert [r.values for r in search.results()] == [
        {"fixed": 3, "choice": c} for c in (0, 1, 2)
    ]


# -- (4) a grid waits for the running trials -----------------------------------
def test_a_grid_answers_idle_while_a_running_trial_may_declare_more(tmp_path):
    hp = keras_tuner.HyperParameters()
    hp.Boolean("a")
    oracle = GridOracle(
        objective=keras_tuner.Objective("score", "min"), hyperparameters=hp
    )
    oracle._set_project_dir(str(tmp_path), "p")
    first, second = oracle.create_trial("w0"), oracle.create_trial("w1")
    assert (first.status, second.status) == ("RUNNING", "RUNNING")
    # Both values of `a` are running: nothing new now, but the trials may
    # still declare hyperparameters, so "ask again", not "stop".
    assert oracle.create_trial("w2").status == "IDLE"
    first.hyperparameters.Boolean("b")  # declared while it ran (b=False)
    oracle.update_space(first.hyperparameters)
    oracle.update_trial(first.trial_id, {"score": 1.0})
    first.status = "COMPLETED"
    oracle.end_trial(first)
    third = oracle.create_trial("w2")
    assert third.hyperparameters.values == {"a": False, "b": True}
    # a=True with b is the running second trial's to declare: wait for it.
    assert oracle.create_trial("w3").status == "IDLE"
    for trial in (second, third):
        oracle.update_trial(trial.trial_id, {"score": 1.0})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    # The second trial (a=True) ended without declaring `b`: its branch
    # never reads b, so a=True with either b is that trial. Nothing is left.
    assert oracle.create_trial("w0").status == "STOPPED"
    assert len(oracle.trials) == 3


def test_a_search_with_trials_in_hand_runs_them_when_the_grid_waits(tmp_path):
    # Asking for more trials than the grid has left, the search's own running
    # trials make the grid answer IDLE: the search runs the trials in hand
    # instead of waiting for itself.
    x, y = tiny_data()
    search = keras_hpo.GridSearch(
        small_mlp(), directory=tmp_path, verbose=0, fuse=4, refit=False
    )
    search.search(x, y, epochs=1, validation_split=0.25)
    assert sorted(r.values["units"] for r in search.results()) == [8, 16]


# -- (5) a list of objectives ----------------------------------------------------
def test_a_list_of_objectives_is_their_sum_each_negated_where_maximised(tmp_path):
    x, y = tiny_data()
    search = keras_hpo.GridSearch(
        small_mlp(),
        objective=["val_accuracy", "val_loss"],
        directory=tmp_path,
        verbose=0,
        early_stopping=None,
        refit=False,
    )
    assert search.oracle.objective.name == "multi_objective"
    search.search(x, y, epochs=3, validation_split=0.25)
    results = search.results()
    assert len(results) == 2
    for r in results:
        history = r.history
        combined = [
            loss - accuracy
            for loss, accuracy in zip(
                history["val_loss"], history["val_accuracy"], strict=True
            )
        ]
        # Every epoch's logs carry it; the best epoch is its minimum.
        assert history["multi_objective"] == pytest.approx(combined)
        assert r.best_epoch == int(np.argmin(combined))
        assert r.score == pytest.approx(min(combined))
    best = min(results, key=lambda r: r.score)
    assert search.best_params_["units"] == best.values["units"]


def test_a_list_of_objectives_names_the_part_that_is_not_logged(tmp_path):
    x, y = tiny_data()
    search = keras_hpo.RandomSearch(
        small_mlp(),
        objective=["val_accuracy", keras_tuner.Objective("val_auc", "max")],
        max_trials=1,
        directory=tmp_path,
        verbose=0,
    )
    with pytest.raises(keras_hpo.ConfigError, match=r"`objective\[1\]`.*'val_auc'"):
        search.search(x, y, epochs=1, validation_split=0.25)


# -- (5) subclassed models reload --------------------------------------------------
def build_subclassed(hp):
    class Subclassed(keras.Model):
        """Made on its first call, as keras-tuner's test model is."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = keras.layers.Dense(2, activation="softmax")

        def build(self, input_shape):
            self.dense.build(input_shape)
            super().build(input_shape)

        def call(self, inputs):
            return self.dense(inputs * hp.Choice("scale", [1.0, 2.0]))

        def get_config(self):
            return {}

    model = Subclassed()
    model.compile(
        optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def test_a_subclassed_model_is_reloaded_with_its_trained_weights(tmp_path):
    x, y = tiny_data()
    search = keras_hpo.GridSearch(
        build_subclassed, "val_accuracy", directory=tmp_path, verbose=0, refit=False
    )
    search.search(x, y, epochs=2, validation_split=0.25)
    best = search.result_store.best()
    model = search.best_model()
    assert model.built
    scored = model.evaluate(x[45:], y[45:], verbose=0, return_dict=True)
    assert scored["accuracy"] == pytest.approx(best.score)


# -- (5) an override of _build_and_fit_model ---------------------------------------
def test_an_override_of_build_and_fit_model_trains_every_execution(tmp_path):
    calls = []

    class Prepared(keras_hpo.GridSearch):
        def _build_and_fit_model(self, trial, *args, **kwargs):
            calls.append(
                (trial.trial_id, sorted(type(c).__name__ for c in kwargs["callbacks"]))
            )
            x, y = args
            return super()._build_and_fit_model(trial, x * 2.0, y, **kwargs)

    x, y = tiny_data()
    search = Prepared(
        small_mlp(), directory=tmp_path, verbose=0, executions_per_trial=2
    )
    search.search(x, y, epochs=2, validation_split=0.25)
    results = search.results()
    assert [trial_id for trial_id, _ in calls] == [
        r.trial_id for r in results for _ in range(2)
    ]
    # It got the training's callbacks (the recorder among them), and the
    # model it trained is the trial's: its history and its kept weights.
    assert all("EpochRecorder" in names for _, names in calls)
    assert all(len(r.history["val_loss"]) >= 1 for r in results)
    assert search.best_model().built
    assert search.refitted.saved() is None  # it trains its own way: no refit


def test_an_override_of_build_and_fit_model_refuses_isolated_trials(tmp_path):
    class Prepared(keras_hpo.RandomSearch):
        def _build_and_fit_model(self, trial, *args, **kwargs):
            return super()._build_and_fit_model(trial, *args, **kwargs)

    with pytest.raises(ValueError, match="`isolate_trials`.*_build_and_fit_model"):
        Prepared(small_mlp(), max_trials=1, directory=tmp_path, isolate_trials=True)


# -- found by the suite: optimizer= an object, and the refit saves -----------------
def test_an_optimizer_object_is_copied_and_the_refit_model_saves(tmp_path):
    x, y = tiny_data()
    shared = keras.optimizers.Adam(0.01)
    search = keras_hpo.GridSearch(
        build_subclassed,
        "val_accuracy",
        directory=tmp_path,
        verbose=0,
        optimizer=shared,
    )
    search.search(x, y, epochs=1, validation_split=0.25)
    model = search.best_estimator_
    assert model.optimizer is not shared
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    # The hypermodel's metrics are kept, and the refit model was saved.
    assert "accuracy" in model.evaluate(x, y, verbose=0, return_dict=True)
    assert search.refitted.saved()["trial_id"] == search.result_store.best().trial_id


# -- found by the suite: trials put into oracle.trials ------------------------------
@pytest.mark.parametrize("seed", range(8))
def test_finished_trials_put_into_the_oracle_inform_the_bayesian_model(seed):
    # keras-tuner's test_bayesian_oracle_maximize, seeded: the score rises
    # with `a`; trials never ended through end_trial still count.
    hp = keras_tuner.HyperParameters()
    hp.Int("a", -100, 100)
    oracle = BayesianOracle(
        keras_tuner.Objective("score", "max"), 20, 2, hyperparameters=hp, seed=seed
    )
    for sign in (1, -1):
        for i in range(5):
            trial = keras_tuner.engine.trial.Trial(hyperparameters=hp.copy())
            trial.hyperparameters.values["a"] = sign * 10 * i
            trial.score = sign * i
            trial.status = "COMPLETED"
            oracle.trials[trial.trial_id] = trial
    assert len(oracle.completed_trials()) == 10
    assert oracle.populate_space("new")["values"]["a"] > 0
