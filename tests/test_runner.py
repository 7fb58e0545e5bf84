"""The trial runner on its own: one trial trained and returned as a value.

No tuner, no oracle: a `TrialRunner` and a `TrialPlan` are made by hand, as
fused trials, cross-validation folds and workers will make them.
"""

from __future__ import annotations

import math

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner import errors as kt_errors

from keras_hpo.protocols import plain_fit
from keras_hpo.stopping.base import Stopper
from keras_hpo.tuners.outcome import RunTrialMetrics
from keras_hpo.tuners.outcome import outcome_of
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.runner import TrialPlan
from keras_hpo.tuners.runner import TrialRunner


class Small(keras_tuner.HyperModel):
    """An MLP with one tunable width; ``scale`` multiplies the inputs in fit."""

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = scale

    def build(self, hp):
        model = keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(hp.Int("units", 4, 16), activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    def fit(self, hp, model, x, y, **kwargs):
        return model.fit(x * self.scale, y, **kwargs)


class Records(keras.callbacks.Callback):
    """Collects each epoch's logs (an observer's callback)."""

    def __init__(self, store: list):
        super().__init__()
        self.store = store

    def on_train_begin(self, logs=None):
        self.store.append([])

    def on_epoch_end(self, epoch, logs=None):
        self.store[-1].append(dict(logs))


class Always(Stopper):
    def should_stop(self, trial_id, epochs, curves):
        return True

    def __repr__(self):
        return "Always()"


def _runner(hypermodel=None, objective="val_loss", **kwargs) -> TrialRunner:
    hypermodel = hypermodel or Small()
    return TrialRunner(
        hypermodel=hypermodel,
        build=hypermodel.build,
        objective=keras_tuner.Objective(objective, "min"),
        **kwargs,
    )


def _plan(tmp_path, executions=1, observers=None, seed=11) -> TrialPlan:
    hp = keras_tuner.HyperParameters()
    hp.values["units"] = 8
    plan = TrialPlan(
        trial_id="7",
        number=3,
        seed=seed,
        hyperparameters=hp,
        directory=str(tmp_path),
        run_names=[f"trial_7/execution_{i + 1}" for i in range(executions)],
    )
    if observers is not None:
        plan.observers = observers
    return plan


def _fit(tiny_classification, epochs=3):
    x, y = tiny_classification
    return (x, y), {"epochs": epochs, "validation_split": 0.25, "verbose": 0}


def test_a_trial_is_returned_as_an_outcome(tmp_path, tiny_classification):
    args, kwargs = _fit(tiny_classification)
    outcome = _runner().run(_plan(tmp_path), args, kwargs)
    result = outcome.result
    assert (result.trial_id, result.number, result.seed) == ("7", 3, 11)
    assert result.status is TrialStatus.COMPLETED
    assert result.values == {"units": 8}
    assert result.epochs_run == 3 and len(result.history["val_loss"]) == 3
    curve = result.history["val_loss"]
    assert result.best_epoch == int(np.argmin(curve))
    assert outcome.metrics == {
        k: v[result.best_epoch] for k, v in result.history.items()
    }
    assert result.metrics == outcome.metrics
    assert outcome.weights.model is not None and outcome.weights.path is None
    assert len(outcome.weights.weights) == len(outcome.weights.model.get_weights())
    assert "callbacks" not in kwargs  # the caller's arguments are left alone


class Traced(Small):
    """Notes, per trained model, whether its optimizer was built before fit
    and how often its training step was traced (called from Python)."""

    def __init__(self):
        super().__init__()
        self.built: list[bool] = []
        self.traces: list[list[int]] = []

    def fit(self, hp, model, x, y, **kwargs):
        self.built.append(model.optimizer.built)
        count = [0]
        step = model.train_step

        def counted(data):
            count[0] += 1
            return step(data)

        model.train_step = counted
        self.traces.append(count)
        return model.fit(x, y, **kwargs)


class PlainTraced(Traced):
    """The same, with a fit marked plain: it trains on the data as given."""

    @plain_fit
    def fit(self, hp, model, x, y, **kwargs):
        return super().fit(hp, model, x, y, **kwargs)


@pytest.mark.parametrize("kind", [PlainTraced, Traced])
def test_a_trial_s_training_step_is_traced_once(tmp_path, tiny_classification, kind):
    # On TensorFlow Keras builds the optimizer and the compiled metrics while
    # it traces the first step, and a step that creates variables is traced
    # twice. The runner builds both before a plain fit, the optimizer before
    # any (the other backends build them before the first step themselves).
    args, kwargs = _fit(tiny_classification)
    hypermodel = kind()
    _runner(hypermodel, executions=2).run(_plan(tmp_path, 2), args, kwargs)
    if keras.backend.backend() == "tensorflow":
        assert hypermodel.built == [True, True]
        traces = 1 if kind is PlainTraced else 2  # the metrics need the data
        assert hypermodel.traces == [[traces], [traces]]


def test_the_same_plan_trains_the_same_curves(tmp_path, tiny_classification):
    args, kwargs = _fit(tiny_classification)
    first = _runner().run(_plan(tmp_path), args, kwargs).result.history
    second = _runner().run(_plan(tmp_path), args, kwargs).result.history
    other = _runner().run(_plan(tmp_path, seed=12), args, kwargs).result.history
    assert first == second
    assert first != other


def test_seed_build_builds_the_weights_set_random_seed_builds():
    # A fused group seeds all but its last build so (TensorFlow's global
    # seed, which clears TensorFlow's kernel caches, stays as it was).
    from keras_hpo import HyperMLP
    from keras_hpo.tuners.building import seed_build

    hypermodel = HyperMLP(
        input_shape=(6,), num_classes=3, num_layers=2, units=8, dropout=0.3
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)

    def state(model):
        # The weights and the seed of every seed generator (dropout).
        return [np.asarray(v) for v in model.variables]

    keras.utils.set_random_seed(7)
    reference = state(hypermodel.build(hp))
    keras.utils.set_random_seed(1234)  # TensorFlow's global seed differs now
    seed_build(7)
    rebuilt = state(hypermodel.build(hp))
    seed_build(8)
    other = state(hypermodel.build(hp))
    assert len(reference) == len(rebuilt) > 6
    for a, b in zip(reference, rebuilt, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(reference, other, strict=True))


def test_executions_are_seeded_in_turn_and_their_best_metrics_averaged(
    tmp_path, tiny_classification
):
    args, kwargs = _fit(tiny_classification)
    seen: list = []
    calls: list = []

    def observers(execution):
        calls.append(execution)
        return [Records(seen)]

    outcome = _runner(executions=2).run(_plan(tmp_path, 2, observers), args, kwargs)
    assert calls == [0, 1]
    best = [min(run, key=lambda logs: logs["val_loss"]) for run in seen]
    for name, value in outcome.metrics.items():
        assert value == pytest.approx(np.mean([b[name] for b in best]), rel=1e-6)
    # the second execution trained with seed + 1: a run of its own
    single = _runner().run(_plan(tmp_path, seed=12), args, kwargs).result.history
    assert outcome.result.history == single


def test_a_diverging_trial_fails_with_its_curve(tmp_path, tiny_classification):
    args, kwargs = _fit(tiny_classification)
    with pytest.raises(kt_errors.FailedTrialError, match="diverged: loss became"):
        try:
            _runner(Small(scale=1e30)).run(_plan(tmp_path), args, kwargs)
        except kt_errors.FailedTrialError as err:
            partial = outcome_of(err)
            raise
    assert partial.result.status is TrialStatus.FAILED
    assert partial.result.end_reason.startswith("diverged: loss became")
    assert partial.result.epochs_run == 1 and partial.weights is None


class Raises(keras.callbacks.Callback):
    """Raises at the end of its second epoch (a user's callback that fails)."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("the disk is full")


def test_a_training_that_raises_keeps_the_epochs_it_ran(tmp_path, tiny_classification):
    # Its result said 0 epochs and had no history, while TensorBoard held
    # the first epoch's curve.
    args, kwargs = _fit(tiny_classification)
    kwargs["callbacks"] = [Raises()]
    with pytest.raises(RuntimeError, match="the disk is full") as info:
        _runner().run(_plan(tmp_path), args, kwargs)
    partial = outcome_of(info.value)
    assert partial.result.status is TrialStatus.FAILED
    assert partial.result.epochs_run == 1  # Raises runs before the recorder
    assert len(partial.result.history["val_loss"]) == 1


def test_an_objective_never_logged_fails_without_an_outcome(
    tmp_path, tiny_classification
):
    args, kwargs = _fit(tiny_classification)
    with pytest.raises(kt_errors.FailedTrialError, match="'val_auc' was not logged"):
        try:
            _runner(objective="val_auc").run(_plan(tmp_path), args, kwargs)
        except kt_errors.FailedTrialError as err:
            assert outcome_of(err) is None
            raise


def test_a_stopper_prunes_and_checkpoint_none_keeps_no_weights(
    tmp_path, tiny_classification
):
    args, kwargs = _fit(tiny_classification)
    outcome = _runner(stopper=Always(), checkpoint="none").run(
        _plan(tmp_path), args, kwargs
    )
    assert outcome.result.status is TrialStatus.PRUNED
    assert outcome.result.end_reason == "pruned by Always() after 1 epochs"
    assert outcome.result.epochs_run == 1
    assert outcome.weights is None


def test_run_trial_metrics_are_a_dict_carrying_the_outcome(
    tmp_path, tiny_classification
):
    args, kwargs = _fit(tiny_classification, epochs=1)
    outcome = _runner().run(_plan(tmp_path), args, kwargs)
    metrics = RunTrialMetrics(outcome, outcome.metrics)
    assert dict(metrics) == outcome.metrics and metrics.outcome is outcome
    assert all(math.isfinite(v) for v in metrics.values())


MIRRORED_SEARCH = """
import sys
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)
import numpy as np
import keras_hpo

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.GridSearch(keras_hpo.HyperMLP(num_classes=2),
    param_grid={"units": [4, 8]}, directory=sys.argv[1], verbose=0,
    distribution_strategy=strategy, tensorboard_dir=None)
tuner.search(x, y, validation_split=0.25, epochs=2, batch_size=16)
print(tuner.cv_results_["status"], tuner.predict(x[:3]).shape)
print(*(e.strip().splitlines()[-1] for e in tuner.cv_results_["error"] if e))
"""


def test_trials_train_under_a_distribution_strategy(tmp_path):
    # As on several GPUs (two logical CPUs here): the optimizer built before
    # the first step outside the strategy's scope failed every trial
    # ("'Adam' object has no attribute '_momentums'").
    from conftest import run_python

    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.distribute strategies are TensorFlow's")
    done = run_python(["-c", MIRRORED_SEARCH, str(tmp_path)], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[0] == "['completed', 'completed'] (3,)"
