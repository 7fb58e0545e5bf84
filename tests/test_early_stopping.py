"""Early stopping within a trial, pruning across trials, and search-level stops.

Real Keras training on small problems; a scripted `run_trial` (the documented
extension point) only where the search-level rules need exact scores.
"""

from __future__ import annotations

import os
import types

import keras
import keras_tuner
import pytest

import keras_hpo
from keras_hpo.stopping import MedianStopping
from keras_hpo.stopping import SuccessiveHalving

pytestmark = pytest.mark.filterwarnings(
    "ignore:currentThread:DeprecationWarning:keras_tuner"
)


def mlp(**knobs):
    settings = {
        "num_classes": 10,
        "num_layers": 1,
        "units": 32,
        "dropout": 0.0,
        "activation": "relu",
        "optimizer": "sgd",
    }
    settings.update(knobs)
    return keras_hpo.HyperMLP(**settings)


def trial_dirs(tuner) -> list[str]:
    return sorted(d for d in os.listdir(tuner.project_dir) if d.startswith("trial_"))


def test_patience_stops_a_trial_at_the_right_epoch(tmp_path, digits):
    x, x_val, y, y_val = digits
    # SGD with a vanishing learning rate: val_loss never improves by 1e-3, so
    # the best epoch is the first and patience 3 ends training after epoch 4.
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=1e-12),
        objective="val_loss",
        max_trials=1,
        early_stopping=(3, 1e-3),
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=20)
    result = tuner.results()[0]
    assert result.status == keras_hpo.TrialStatus.STOPPED_EARLY
    assert result.best_epoch == 0
    assert result.epochs_run == 4
    assert len(result.history["val_loss"]) == 4
    assert "stopped after epoch 4" in result.end_reason
    table = tuner.cv_results_
    assert table["status"] == ["stopped_early"]
    assert table["epochs_run"] == [4]
    assert table["best_epoch"] == [1]  # 1-based, as printed
    assert table["best_epoch_index"] == [0]


def test_early_stopping_none_runs_every_epoch(tmp_path, digits):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=1e-12),
        objective="val_loss",
        max_trials=1,
        early_stopping=None,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=6)
    assert tuner.cv_results_["epochs_run"] == [6]
    assert tuner.cv_results_["status"] == ["completed"]


def test_a_users_own_early_stopping_callback_is_used(tmp_path, digits):
    x, x_val, y, y_val = digits
    mine = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=1e-3)
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=1e-12),
        max_trials=1,
        early_stopping=mine,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=20)
    assert tuner.cv_results_["epochs_run"] == [3]
    assert mine.stopped_epoch == 0  # the user's object itself is not mutated


def test_a_trial_stopped_by_a_callback_passed_to_search_says_so(tmp_path, digits):
    # Not the tuner's early_stopping=: a callback of one's own in search().
    x, x_val, y, y_val = digits
    mine = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1, min_delta=10)
    tuner = keras_hpo.RandomSearch(
        mlp(),
        max_trials=1,
        early_stopping=None,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=6, callbacks=[mine])
    (result,) = tuner.results()
    assert result.epochs_run == 2  # no improvement of 10: it stops after epoch 2
    assert result.status.value == "stopped_early"
    assert result.end_reason == "stopped by a callback after epoch 2 of 6"


@pytest.mark.parametrize(
    ("kwargs", "argument", "name"),
    [
        ({"early_stopping": {"monitor": "val_acc"}}, "early_stopping", "val_acc"),
        ({"objective": "val_acc"}, "objective", "val_acc"),
        (
            {"objective": keras_tuner.Objective("accuracyy", "max")},
            "objective",
            "accuracyy",
        ),
    ],
)
def test_a_metric_that_is_not_logged_fails_before_training(
    tmp_path, digits, kwargs, argument, name
):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=0.1),
        max_trials=2,
        directory=tmp_path,
        verbose=0,
        **kwargs,
    )
    with pytest.raises(ValueError) as info:
        tuner.search(x, y, validation_data=(x_val, y_val), epochs=2)
    message = str(info.value)
    assert f"`{argument}`" in message and repr(name) in message
    assert "val_accuracy" in message  # the fix lists the metrics that exist
    assert trial_dirs(tuner) == []


def _stopper_search(tmp_path, digits, stopper, epochs):
    x, x_val, y, y_val = digits
    # Two good learning rates, then a hopeless one (val_accuracy stays at
    # chance), searched in this order.
    tuner = keras_hpo.GridSearch(
        mlp(),
        param_grid={"learning_rate": [0.05, 0.2, 1e-12]},
        stopper=stopper,
        early_stopping=None,
        seed=0,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=epochs)
    return tuner.cv_results_, tuner


def test_median_stopping_stops_the_bad_trial_at_min_epochs(tmp_path, digits):
    table, tuner = _stopper_search(
        tmp_path, digits, MedianStopping(min_trials=2, min_epochs=2), epochs=5
    )
    assert table["param_learning_rate"] == [0.05, 0.2, 1e-12]
    assert table["status"] == ["completed", "completed", "pruned"]
    assert table["epochs_run"] == [5, 5, 2]
    pruned = tuner.results()[2]
    assert "MedianStopping" in pruned.end_reason
    assert len(pruned.history["val_accuracy"]) == 2  # its curve is kept
    assert pruned.score == pytest.approx(max(pruned.history["val_accuracy"]))


def test_successive_halving_stops_the_bad_trial_at_the_first_rung(tmp_path, digits):
    table, tuner = _stopper_search(
        tmp_path, digits, SuccessiveHalving(min_epochs=2, reduction_factor=2), epochs=4
    )
    assert table["status"] == ["completed", "completed", "pruned"]
    assert table["epochs_run"] == [4, 4, 2]
    # The oracle learns from the pruned trial: it is scored like the others.
    scored = [t.trial_id for t in tuner.oracle.completed_trials()]
    assert tuner.results()[2].trial_id in scored


def test_a_diverging_trial_fails_and_the_search_goes_on(tmp_path, tiny_classification):
    x, y = tiny_classification

    def build(hp):
        poison = hp.Choice("poison", [0, 1, 2])
        inputs = keras.Input((8,))
        hidden = keras.layers.Dense(8, activation="relu")(inputs)
        if poison == 1:
            hidden = keras.layers.Lambda(lambda t: t * float("inf"))(hidden)
        outputs = keras.layers.Dense(3, activation="softmax")(hidden)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model

    tuner = keras_hpo.GridSearch(
        build, objective="val_accuracy", directory=tmp_path, verbose=0, refit=False
    )
    tuner.search(x, y, validation_split=0.25, epochs=3)
    table = tuner.cv_results_
    assert table["param_poison"] == [0, 1, 2]
    assert table["status"] == ["completed", "failed", "completed"]
    assert table["epochs_run"] == [3, 1, 3]
    assert table["end_reason"][1].startswith("diverged: loss became nan at epoch 1")
    assert "diverged" in table["error"][1]
    assert tuner.stop_reason == "the search space is exhausted"


class Scripted(keras_hpo.SearchTuner):
    """Reports a fixed score per trial (the documented run_trial extension)."""

    def __init__(self, scores, directory, **kwargs):
        hp = keras_tuner.HyperParameters()
        hp.Int("x", 0, 1000)
        oracle = keras_hpo.RandomOracle(
            objective=keras_tuner.Objective("score", "max"),
            max_trials=len(scores),
            hyperparameters=hp,
            seed=0,
        )
        self.scores = scores
        super().__init__(oracle, directory=directory, verbose=0, **kwargs)

    def run_trial(self, trial, *args, **kwargs):
        return {"score": self.scores[self.trial_number(trial) - 1]}


@pytest.mark.parametrize(
    ("kwargs", "trials", "reason"),
    [
        ({}, 5, "max_trials: 5 trials run"),
        ({"target": 0.6}, 2, "target: best score 0.6 reached 0.6"),
        ({"patience_trials": 2}, 4, "patience_trials: no improvement in the last 2"),
        ({"max_time": 0}, 0, "max_time:"),
    ],
)
def test_search_level_stops_fire_for_the_right_reason(tmp_path, kwargs, trials, reason):
    tuner = Scripted([0.5, 0.6, 0.6, 0.55, 0.9], tmp_path, **kwargs)
    tuner.search()
    assert len(tuner.results()) == trials
    assert tuner.stop_reason.startswith(reason)
    recorded = keras_hpo.tuners.results.read_json(
        os.path.join(tuner.project_dir, "search.json")
    )
    assert recorded["stop_reason"] == tuner.stop_reason


def test_resuming_with_a_smaller_budget_says_how_many_trials_the_project_holds(
    tmp_path,
):
    Scripted([0.5, 0.6, 0.7], tmp_path).search()
    resumed = Scripted([0.5], tmp_path)
    resumed.search()
    assert len(resumed.results()) == 3
    assert resumed.stop_reason == "max_trials: 1 reached (3 trials in the project)"


def test_max_time_lets_the_running_trial_finish(tmp_path, digits, monkeypatch):
    """The budget runs out during the first trial: it finishes, no other starts.

    The search's clock is a fake one that moves 10 s per epoch trained, so the
    outcome does not depend on how fast this machine trains.
    """
    clock = [0.0]
    monkeypatch.setattr(
        keras_hpo.tuners.options,
        "time",
        types.SimpleNamespace(monotonic=lambda: clock[0]),
    )
    tick = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: clock.__setitem__(0, clock[0] + 10.0)
    )
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=0.1),
        max_trials=5,
        max_time=15,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=2, callbacks=[tick])
    assert tuner.cv_results_["status"] == ["completed"]
    assert tuner.cv_results_["epochs_run"] == [2]
    assert tuner.stop_reason == "max_time: 20.0s of 15s used"


def _weight_files(tuner) -> dict[str, list[str]]:
    files = {}
    for trial in trial_dirs(tuner):
        names = sorted(
            f
            for f in os.listdir(os.path.join(tuner.project_dir, trial))
            if ".weights" in f
        )
        if names:
            files[trial[len("trial_") :]] = names
    return files


def test_only_the_top_k_trials_keep_weights(tmp_path, digits):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.GridSearch(
        mlp(),
        param_grid={"learning_rate": [1e-12, 0.3, 1e-4, 0.1, 0.01]},
        keep_top_k=2,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=2)
    table = tuner.cv_results_
    ranked = sorted(zip(table["rank_score"], table["trial_id"], strict=True))
    top = [trial_id for _, trial_id in ranked[:2]]
    assert _weight_files(tuner) == {t: ["checkpoint.weights.h5"] for t in top}
    best = tuner.best_model()
    accuracy = best.evaluate(x_val, y_val, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(tuner.best_score_, abs=1e-6)


def test_checkpoint_none_writes_no_weights(tmp_path, digits):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=0.1),
        max_trials=2,
        checkpoint="none",
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=1)
    assert _weight_files(tuner) == {}
    with pytest.raises(FileNotFoundError, match="checkpoint='none'"):
        tuner.best_model()


def test_checkpoint_every_epoch_keeps_last_and_best(tmp_path, digits):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(learning_rate=0.1),
        max_trials=2,
        checkpoint="every_epoch",
        keep_top_k=1,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=2)
    expected = ["checkpoint.weights.h5", "last.weights.h5"]
    assert _weight_files(tuner) == {t: expected for t in tuner.cv_results_["trial_id"]}


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"early_stopping": "yes"}, "early_stopping"),
        ({"early_stopping": 0}, "early_stopping"),
        ({"stopper": "median"}, "stopper"),
        ({"checkpoint": "always"}, "checkpoint"),
        ({"keep_top_k": 0}, "keep_top_k"),
        ({"max_time": -1}, "max_time"),
        ({"patience_trials": 1.5}, "patience_trials"),
        ({"target": float("nan")}, "target"),
    ],
)
def test_bad_stopping_options_are_refused(tmp_path, kwargs, argument):
    with pytest.raises((ValueError, TypeError)) as info:
        keras_hpo.RandomSearch(mlp(), directory=tmp_path, **kwargs)
    assert f"`{argument}" in str(info.value)
    assert trial_dirs_of(tmp_path) == []


def trial_dirs_of(directory) -> list[str]:
    return [p for p in directory.rglob("trial_*")]


# Slow (7 s; test_same_results checks a seeded pruned search against its
# reference; the default run has to stay under 12 minutes).
@pytest.mark.slow
def test_a_seeded_search_prunes_the_same_way_twice(tmp_path, digits):
    """Same seed, same stopper: the same trials stop at the same epochs."""
    tables = []
    for run in range(2):
        table, _ = _stopper_search(
            tmp_path / str(run),
            digits,
            SuccessiveHalving(min_epochs=1, reduction_factor=2),
            epochs=3,
        )
        tables.append((table["status"], table["epochs_run"]))
    assert tables[0] == tables[1]
