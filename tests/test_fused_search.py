"""Searches with fuse=K: every trial keeps what an unfused trial has."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits

import keras_hpo
from keras_hpo import HyperMLP
from keras_hpo.stopping.base import Stopper


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    return x[:600], y[:600], x[600:800], y[600:800]


def small(**knobs):
    spec = dict(num_classes=10, num_layers=1, units=16, dropout=0.0)
    spec.update(knobs)
    return HyperMLP(**spec)


def results(tuner):
    return sorted(tuner.trial_results.values(), key=lambda r: r.number)


@pytest.mark.slow  # 9 s; the other fused-search tests keep trials in the default run
def test_a_fused_search_keeps_every_trial_as_an_unfused_one_would(
    tmp_path, digits, capsys
):
    from tb_reading import hparams
    from tb_reading import read_logs

    xt, yt, xv, yv = digits
    space = {"learning_rate": [1e-3, 1e-2], "activation": ["relu", "tanh"]}
    runs = {}
    for fuse in (1, 4):
        tuner = keras_hpo.GridSearch(
            small(),
            param_grid=space,
            directory=tmp_path,
            project_name=f"f{fuse}",
            fuse=fuse,
            seed=0,
            refit=False,
        )
        tuner.search(xt, yt, validation_data=(xv, yv), epochs=3)
        runs[fuse] = tuner
    one, fused = runs[1], runs[4]
    assert "run one by one" not in capsys.readouterr().out
    assert len(fused.trial_results) == 4
    for a, b in zip(results(one), results(fused), strict=True):
        assert a.values == b.values
        assert a.seed == b.seed
        assert b.status.value == "completed" and b.epochs_run == 3
        assert sorted(a.history) == sorted(b.history)
        assert len(b.history["val_accuracy"]) == 3
        assert b.fit_seconds > 0 and b.score == b.metrics["val_accuracy"]
        on_disk = json.loads(
            (tmp_path / "f4" / f"trial_{b.trial_id}" / "result.json").read_text()
        )
        assert on_disk["score"] == b.score and on_disk["status"] == "completed"
        assert on_disk["fused_with"] == [r.trial_id for r in results(fused)]
        assert a.fused_with is None
    # Same seeds, same initial weights; the group trains on the batches its
    # first trial would see alone, so that trial's curve agrees to float
    # rounding (the other trials see other batches than alone).
    alone, together = results(one)[0].history, results(fused)[0].history
    for name in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(together[name], alone[name], rtol=1e-4, atol=1e-6)
    # TensorBoard: the same runs, the same tags, the same HParams rows.
    layout = {}
    for fuse, tuner in runs.items():
        scalars, texts = read_logs(tuner.tensorboard_dir)
        layout[fuse] = (
            {run: sorted(tags) for run, tags in scalars.items()},
            {run: sorted(tags) for run, tags in texts.items()},
        )
        experiment, sessions, ends = hparams(tuner.tensorboard_dir)
        assert len(sessions) == len(ends) == 4
        for run, start in sessions.items():
            values = {k: v for k, v in start.hparams.items()}
            trial = tuner.trial_results[run.split("_")[-1]]
            assert values["learning_rate"].number_value == pytest.approx(
                trial.values["learning_rate"]
            )
    assert layout[1] == layout[4]
    scalars, _ = read_logs(fused.tensorboard_dir)
    for r in results(fused):
        curve = scalars[f"trial_{r.trial_id}/validation"]["epoch_accuracy"]
        assert [v for _, v in curve] == pytest.approx(r.history["val_accuracy"])


class PruneTrial(Stopper):
    """Prunes one trial after a given number of epochs."""

    def __init__(self, number: int, epochs: int):
        self.number, self.epochs = number, epochs

    def should_stop(self, trial_id, epochs, curves):
        return int(trial_id) + 1 == self.number and epochs >= self.epochs


def test_early_stopping_pruning_and_divergence_end_one_slice_only(tmp_path, digits):
    xt, yt, xv, yv = digits
    # Trial 1 cannot learn (early stopping ends it), trial 2 is pruned after
    # two epochs, trial 3 diverges to NaN, trial 4 trains its 6 epochs.
    tuner = keras_hpo.GridSearch(
        small(optimizer="sgd", activation="linear"),
        param_grid={"learning_rate": [1e-12, 0.05, 10.0, 0.1]},
        directory=tmp_path,
        fuse=4,
        early_stopping=2,
        stopper=PruneTrial(2, 2),
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=6)
    stuck, pruned, nan, fine = results(tuner)
    assert stuck.status.value == "stopped_early" and stuck.epochs_run == 3
    assert len(stuck.history["val_accuracy"]) == 3
    assert pruned.status.value == "pruned" and pruned.epochs_run == 2
    assert nan.status.value == "failed" and "diverged" in nan.error
    assert fine.status.value == "completed" and fine.epochs_run == 6
    assert fine.score > 0.5
    # The slice that stopped learning kept its weights from that epoch on.
    best = tuner.best_model()
    accuracy = best.evaluate(xv, yv, verbose=0, return_dict=True)["accuracy"]
    assert accuracy == pytest.approx(fine.metrics["val_accuracy"], abs=1e-6)


class _KeptWeights(keras_hpo.callbacks.SearchCallback):
    """Notes, as each trial is recorded, its score and the weights on disk."""

    def __init__(self, project: str):
        self.project = project
        self.steps: list = []

    def on_trial_end(self, search, result):
        kept = {
            name.split("_")[-1]
            for name in os.listdir(self.project)
            if os.path.isfile(os.path.join(self.project, name, "checkpoint.weights.h5"))
        }
        self.steps.append((result.score, kept))


def test_best_model_of_a_fused_trial_predicts_as_the_slice_did(tmp_path, digits):
    xt, yt, xv, yv = digits
    kept = _KeptWeights(str(tmp_path / "untitled_project"))
    tuner = keras_hpo.RandomSearch(
        small(units=[16, 32], learning_rate=(1e-3, 1e-1), activation=["relu", "gelu"]),
        max_trials=6,
        seed=2,
        directory=tmp_path,
        fuse=6,
        early_stopping=None,
        refit=False,
        search_callbacks=[kept],
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=3)
    assert len(tuner.trial_results) == 6
    # The group's trials are recorded best first, so keep_top_k=3 writes
    # three weights files and deletes none (never a kept trial without).
    scores = [score for score, _ in kept.steps]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 3
    top = [r.trial_id for r in tuner.result_store.ranked()[:3]]
    assert [files for _, files in kept.steps] == [
        set(top[:1]),
        set(top[:2]),
        *[set(top)] * 4,
    ]
    for trial_id in [r.trial_id for r in tuner.result_store.ranked()[:3]]:
        model = tuner.load_model(tuner.oracle.get_trial(trial_id))
        assert isinstance(model, keras.Model) and model.name != "fused_mlp"
        scores = model.evaluate(xv, yv, verbose=0, return_dict=True)
        recorded = tuner.trial_results[trial_id].metrics
        # Accuracy counts argmax hits: equal means every prediction agrees.
        assert scores["accuracy"] == recorded["val_accuracy"]
        assert scores["loss"] == pytest.approx(recorded["val_loss"], rel=1e-5)


class _BiasWatcher(keras.callbacks.Callback):
    """A Keras callback that reads its model's weights after every epoch."""

    def __init__(self, seen: list):
        super().__init__()
        self.seen = seen

    def on_epoch_end(self, epoch, logs=None):
        bias = self.model.get_layer("output").get_weights()[1].copy()
        self.seen.append((float(logs["val_loss"]), bias))


class _WatchBiases(keras_hpo.callbacks.SearchCallback):
    """Adds a `_BiasWatcher` to every trial (fused ones too)."""

    def __init__(self):
        self.seen: list = []

    def trial_callbacks(self, search, trial, execution):
        return [_BiasWatcher(self.seen)]


def test_a_callback_that_reads_weights_sees_each_epoch_s_in_a_fused_slice(
    tmp_path, digits
):
    # keras_hpo's own callbacks say they read no weights (a slice's model
    # then gets them once, at its end); any other callback of a fused trial
    # gets every epoch's.
    xt, yt, xv, yv = digits
    watch = _WatchBiases()
    tuner = keras_hpo.RandomSearch(
        small(units=[16, 32], learning_rate=(1e-3, 1e-1)),
        max_trials=4,
        seed=3,
        directory=tmp_path,
        fuse=4,
        early_stopping=None,
        refit=False,
        search_callbacks=[watch],
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=3)
    ranked = tuner.result_store.ranked()
    assert [len(r.fused_with or []) for r in ranked] == [4] * 4
    assert len(watch.seen) == 4 * 3
    for result in ranked[:3]:
        best = tuner.load_model(tuner.oracle.get_trial(result.trial_id))
        at_best = [b for loss, b in watch.seen if loss == result.metrics["val_loss"]]
        assert len(at_best) == 1
        bias = best.get_layer("output").get_weights()[1]
        np.testing.assert_array_equal(at_best[0], bias)
    # The biases moved from epoch to epoch (they are not the initial ones).
    assert len({b.tobytes() for _, b in watch.seen}) == 4 * 3


def test_which_callbacks_read_a_slice_s_weights(tmp_path):
    from keras_hpo.callbacks import EpochRecorder
    from keras_hpo.callbacks import EpochTensorBoard

    from keras_hpo.tuners.group_runner import _reads_weights

    assert not _reads_weights(EpochRecorder())
    assert not _reads_weights(EpochTensorBoard(str(tmp_path)))
    assert not _reads_weights(keras.callbacks.EarlyStopping())
    assert _reads_weights(keras.callbacks.EarlyStopping(restore_best_weights=True))
    assert _reads_weights(keras.callbacks.Callback())
    assert _reads_weights(_BiasWatcher([]))


def test_a_search_that_cannot_fuse_says_why_once_and_runs_one_by_one(
    tmp_path, digits, capsys
):
    xt, yt, xv, yv = digits

    def build(hp):
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(hp.Choice("units", [4, 8, 16])),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    tuner = keras_hpo.RandomSearch(
        build,
        objective="val_accuracy",
        max_trials=3,
        seed=0,
        directory=tmp_path,
        project_name="fn",
        fuse=4,
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    out = capsys.readouterr().out
    assert out.count("fuse=4: trials run one by one: the hypermodel has no ") == 1
    assert len(tuner.trial_results) == 3

    class WithBatchNorm(HyperMLP):
        def hidden_block(self, hp, x, index):
            x = super().hidden_block(hp, x, index)
            return keras.layers.BatchNormalization(name=f"bn_{index}")(x)

    tuner = keras_hpo.RandomSearch(
        WithBatchNorm(num_classes=10, num_layers=1, units=[8, 16]),
        max_trials=2,
        seed=0,
        directory=tmp_path,
        project_name="bn",
        fuse=2,
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    out = capsys.readouterr().out
    assert (
        "fuse=2: these trials run one by one: layer 'bn_0' (BatchNormalization)" in out
    )
    assert [r.status.value for r in results(tuner)] == ["completed"] * 2


def test_a_trial_that_cannot_build_fails_alone_and_the_rest_fuse(tmp_path, digits):
    # 128 units is over max_model_size: that trial failed the whole group
    # (4 of 4 failed, then "3 trials failed in a row" ended the search).
    xt, yt, xv, yv = digits
    tuner = keras_hpo.GridSearch(
        small(),
        param_grid={"units": [16, 24, 32, 128]},
        fuse=4,
        max_model_size=5000,
        directory=tmp_path,
        refit=False,
        verbose=0,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    found = {r.values["units"]: r for r in results(tuner)}
    assert [found[u].status.value for u in (16, 24, 32, 128)] == [
        "completed",
        "completed",
        "completed",
        "failed",
    ]
    assert "Oversized model: 9610 parameters > max_model_size=5000" in (
        found[128].error
    )
    assert found[16].fused_with == [found[u].trial_id for u in (16, 24, 32)]
    assert tuner.fusion_messages == []


def test_an_error_before_a_fused_group_trains_is_reported_as_itself(
    tmp_path, digits, monkeypatch
):
    # The slices' callbacks ended without having begun, and Keras' "on_xxx_end
    # called without corresponding on_xxx_begin" hid the real error.
    from keras_hpo.fused import FusedMLP

    def broken(self, *args, **kwargs):
        raise RuntimeError("the data could not be read")

    monkeypatch.setattr(FusedMLP, "fit", broken)
    xt, yt, xv, yv = digits
    tuner = keras_hpo.GridSearch(
        small(),
        param_grid={"units": [16, 24]},
        fuse=2,
        directory=tmp_path,
        refit=False,
        verbose=0,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    for result in results(tuner):
        assert result.status.value in ("failed", "invalid")
        assert "RuntimeError: the data could not be read" in result.error
        assert "on_xxx_begin" not in result.error


@pytest.mark.parametrize("fuse", [0, -2, 1.5, True, "max", None])
def test_bad_fuse_is_refused_with_the_fix(tmp_path, fuse):
    with pytest.raises(ValueError, match=r"fuse.*E\.g\. fuse=16"):
        keras_hpo.RandomSearch(
            small(), max_trials=2, directory=tmp_path, fuse=fuse, refit=False
        )


def test_bayesian_fused_groups_propose_distinct_points(tmp_path, digits):
    xt, yt, xv, yv = digits
    tuner = keras_hpo.BayesianSearch(
        small(learning_rate=(1e-3, 1e-1), dropout=(0.0, 0.5)),
        max_trials=8,
        num_initial_points=2,
        seed=1,
        directory=tmp_path,
        fuse=4,
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    values = [tuple(sorted(r.values.items())) for r in results(tuner)]
    assert len(values) == 8 and len(set(values)) == 8


KILLED = """
import glob, os, signal, sys
import keras
import keras_hpo
from keras_hpo.callbacks import SearchCallback
from sklearn.datasets import load_digits

class Kill(keras.callbacks.Callback):
    # SIGKILL at the end of epoch 3 of the second fused group, once.
    def on_epoch_end(self, epoch, logs=None):
        marker = os.path.join(sys.argv[1], "killed")
        ended = glob.glob(os.path.join(sys.argv[1], "p", "trial_*", "result.json"))
        if epoch == 2 and len(ended) >= 4 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

class KillInSecondGroup(SearchCallback):
    def trial_callbacks(self, search, trial, execution):
        return [Kill()]

x, y = load_digits(return_X_y=True)
tuner = keras_hpo.RandomSearch(
    keras_hpo.HyperMLP(num_classes=10, num_layers=1, units=[16, 32]),
    max_trials=8, seed=5, directory=sys.argv[1], project_name="p", fuse=4,
    early_stopping=None, search_callbacks=[KillInSecondGroup()], refit=False
)
tuner.search(x[:600] / 16, y[:600], validation_split=0.25, epochs=5)
print("DONE", len(tuner.results()), flush=True)
"""


@pytest.mark.slow  # two processes, about 20 s; the default run stays under 12 min
def test_sigkill_during_a_fused_group_then_resume_runs_only_unfinished_trials(
    tmp_path,
):
    project = tmp_path / "p"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = [sys.executable, "-c", KILLED, str(tmp_path)]
    first = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == -signal.SIGKILL, (
        first.stdout[-3000:] + first.stderr[-3000:]
    )
    done = sorted(p.parent.name for p in project.glob("trial_*/result.json"))
    assert len(done) == 4, done
    kept = {d: (project / d / "result.json").read_text() for d in done}

    second = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "DONE 8" in second.stdout
    assert "will run again" in second.stdout
    ended = [json.loads(p.read_text()) for p in project.glob("trial_*/result.json")]
    assert len(ended) == 8 and len({r["trial_id"] for r in ended}) == 8
    assert sorted(r["number"] for r in ended) == list(range(1, 9))
    assert all(r["status"] == "completed" for r in ended)
    assert all(len(r["history"]["val_accuracy"]) == 5 for r in ended)
    for d, text in kept.items():  # the finished group was not run again
        assert (project / d / "result.json").read_text() == text


def test_a_quiet_search_keeps_why_it_did_not_fuse(tmp_path, digits):
    xt, yt, xv, yv = digits
    tuner = keras_hpo.RandomSearch(
        small(units=[8, 16]),
        max_trials=2,
        seed=0,
        directory=tmp_path,
        fuse=2,
        isolate_trials=False,
        verbose=0,
        executions_per_trial=2,
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    assert tuner.fusion_messages == [
        "fuse=2: trials run one by one: executions_per_trial > 1."
    ]


def test_weighted_validation_data_does_not_fuse(tmp_path, digits):
    # A fused model ignored the weights of validation_data=(x, y, w) and
    # recorded (and ranked by) the unweighted val_loss.
    xt, yt, xv, yv = digits
    weights = np.where(yv == 3, 10.0, 1.0).astype("float32")
    tuner = keras_hpo.RandomSearch(
        small(units=[8, 16]),
        objective="val_loss",
        max_trials=2,
        seed=0,
        directory=tmp_path,
        fuse=2,
        verbose=0,
        refit=False,
    )
    tuner.search(xt, yt, validation_data=(xv, yv, weights), epochs=1)
    assert tuner.fusion_messages == [
        "fuse=2: trials run one by one: sample or class weights are given."
    ]
    for result in results(tuner):
        model = tuner.load_model(tuner.oracle.get_trial(result.trial_id))
        weighted = model.evaluate(xv, yv, sample_weight=weights, verbose=0)[0]
        assert result.score == pytest.approx(weighted, rel=1e-4)


def test_search_best_so_far_of_a_fused_group_is_the_best_up_to_each_trial(
    tmp_path, digits
):
    # A group is recorded best trial first: every step got the group's best.
    from tb_reading import read_logs

    xt, yt, xv, yv = digits
    tuner = keras_hpo.GridSearch(
        small(),
        param_grid={"learning_rate": [1e-4, 1e-3, 1e-2, 3e-2]},
        fuse=4,
        directory=tmp_path,
        refit=False,
        verbose=0,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=2)
    scalars, _ = read_logs(tuner.tensorboard_dir)
    by_step = dict(scalars["search"]["search/best_so_far"])
    scores = [r.score for r in results(tuner)]
    assert [by_step[n] for n in (1, 2, 3, 4)] == pytest.approx(
        [max(scores[:n]) for n in (1, 2, 3, 4)]
    )
    # The first trial is not the group's best (two others may tie: 0.72 and
    # 0.72 on one run), so a step given the group's best would show.
    assert scores[0] < max(scores)


def test_trials_held_back_by_a_limit_never_begin(tmp_path, digits):
    # Every trial drawn for a step began (a TensorBoard run with its device
    # text) although a limit held most of them back: they never trained.
    xt, yt, xv, yv = digits
    tuner = keras_hpo.GridSearch(
        small(),
        param_grid={"learning_rate": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2]},
        fuse=2,
        target=0.0,  # reached by the first group
        directory=tmp_path,
        refit=False,
        verbose=0,
    )
    tuner.search(xt, yt, validation_data=(xv, yv), epochs=1)
    ended = {r.trial_id for r in tuner.results()}
    assert len(ended) == 2 and tuner.stop_reason.startswith("target:")
    runs = {p.name for p in (tmp_path / "untitled_project" / "tensorboard").iterdir()}
    assert {r for r in runs if r.startswith("trial_")} == {f"trial_{i}" for i in ended}


def test_a_users_initial_epoch_is_kept_in_a_fused_group(tmp_path, digits):
    xt, yt, xv, yv = digits
    runs = {}
    for fuse in (1, 2):
        tuner = keras_hpo.GridSearch(
            small(),
            param_grid={"learning_rate": [1e-3, 1e-2]},
            fuse=fuse,
            directory=tmp_path,
            project_name=f"fuse{fuse}",
            refit=False,
            verbose=0,
        )
        tuner.search(xt, yt, validation_data=(xv, yv), epochs=3, initial_epoch=1)
        runs[fuse] = [
            (r.epochs_run, len(r.history["val_loss"])) for r in results(tuner)
        ]
    assert runs[2] == runs[1] == [(2, 2), (2, 2)]
