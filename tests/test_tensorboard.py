"""TensorBoard logs, read back with TensorBoard's own reader."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import run_python
from keras_hpo.callbacks import DeviceProbe
from keras_hpo.callbacks import EpochTensorBoard
from keras_hpo.callbacks import TensorBoardLogger
from keras_hpo.callbacks.hparams import order_hyperparameters
from keras_tuner.engine import hyperparameters as kt_hp
from tb_reading import event_files
from tb_reading import hparams
from tb_reading import read_logs
from tensorboard.plugins.hparams import api_pb2

import keras_hpo
from keras_hpo.stopping import MedianStopping
from keras_hpo.summary import format_summary
from keras_hpo.summary import read_project

TRAIN_TAGS = {
    "epoch_loss",
    "epoch_accuracy",
    "epoch_seconds",
    "epoch_samples_per_second",
    "epoch_learning_rate",
}
TRIAL_TAGS = {
    "best/loss",
    "best/accuracy",
    "best/val_loss",
    "best/val_accuracy",
    "epochs_run",
    "best_epoch",
    "seconds",
}


def _search(tmp_path, data, **kwargs):
    x, y = data
    kwargs.setdefault("refit", False)  # no refit: these tests are about the logs
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=kwargs.pop("max_trials", 2),
        seed=3,
        directory=tmp_path,
        verbose=0,
        **kwargs,
    )
    tuner.search(x, y, validation_split=0.25, epochs=3, batch_size=50)
    return tuner


def test_every_trial_gets_its_curves_and_a_session(tmp_path, tiny_classification):
    tuner = _search(tmp_path, tiny_classification)
    log_dir = tuner.tensorboard_dir
    assert log_dir == os.path.join(tuner.project_dir, "tensorboard")
    results = tuner.results()
    trials = [f"trial_{r.trial_id}" for r in results]
    scalars, texts = read_logs(log_dir)

    # Exactly these runs and tags: no stray or empty event files.
    expected_runs = {"search"}
    for trial in trials:
        expected_runs |= {trial, f"{trial}/train", f"{trial}/validation"}
    assert set(scalars) == expected_runs
    files = event_files(log_dir)
    assert len(files) == len(expected_runs) + 1  # + the experiment in "."
    for trial in trials:
        assert set(scalars[f"{trial}/train"]) == TRAIN_TAGS
        assert set(scalars[f"{trial}/validation"]) == {"epoch_loss", "epoch_accuracy"}
        assert set(scalars[trial]) == TRIAL_TAGS
        assert set(texts[trial]) == {"device", "status"}
        assert texts[trial]["device"] == [DeviceProbe().name()]
        assert texts[trial]["status"] == ["completed"]

    # The values of a known trial are what it logged, epoch by epoch.
    first = results[0]
    train, validation = (
        scalars[f"{trials[0]}/train"],
        scalars[f"{trials[0]}/validation"],
    )
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    assert [v for _, v in train["epoch_loss"]] == pytest.approx(first.history["loss"])
    assert [v for _, v in validation["epoch_accuracy"]] == pytest.approx(
        first.history["val_accuracy"]
    )
    rate = first.values["learning_rate"]
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([rate] * 3)
    # 200 samples, a quarter held out: 150 training samples per epoch.
    seconds = [v for _, v in train["epoch_seconds"]]
    speed = [v for _, v in train["epoch_samples_per_second"]]
    assert speed == pytest.approx([150 / s for s in seconds], rel=1e-5)
    assert scalars[trials[0]]["best/val_accuracy"] == [(0, pytest.approx(first.score))]
    assert scalars[trials[0]]["epochs_run"] == [(0, 3.0)]
    assert scalars[trials[0]]["best_epoch"] == [(0, first.best_epoch + 1)]

    # The search run: each trial's score and the best so far, by trial number.
    scores = [r.score for r in results]
    assert scalars["search"]["search/objective"] == [
        (1, pytest.approx(scores[0])),
        (2, pytest.approx(scores[1])),
    ]
    assert [v for _, v in scalars["search"]["search/best_so_far"]] == pytest.approx(
        [scores[0], max(scores)]
    )


def test_hparams_config_and_one_session_per_trial(tmp_path, tiny_classification):
    tuner = _search(tmp_path, tiny_classification, max_trials=3)
    experiment, sessions, ends = hparams(tuner.tensorboard_dir)

    infos = {info.name: info for info in experiment.hparam_infos}
    assert [info.name for info in experiment.hparam_infos] == [
        "learning_rate",
        "num_layers",
        "units",
        "dropout",
        "activation",
        "batch_size",
        "optimizer",
        "trial_status",
    ]
    # The five tunable ones are TensorBoard's default columns.
    assert [i.name for i in experiment.hparam_infos if i.differs] == [
        "learning_rate",
        "num_layers",
        "units",
        "dropout",
        "activation",
    ]
    interval = infos["learning_rate"].domain_interval
    assert (interval.min_value, interval.max_value) == (1e-4, 1e-1)
    assert "log scale" in infos["learning_rate"].description
    assert infos["learning_rate"].type == api_pb2.DATA_TYPE_FLOAT64
    units = infos["units"].domain_interval
    assert (units.min_value, units.max_value) == (16, 512)
    assert "integer" in infos["units"].description
    assert "log scale" in infos["units"].description
    dropout = infos["dropout"].domain_interval
    assert (dropout.min_value, dropout.max_value) == (0.0, 0.5)
    assert "linear scale" in infos["dropout"].description
    assert list(infos["activation"].domain_discrete) == ["gelu", "relu", "tanh"]
    assert infos["activation"].type == api_pb2.DATA_TYPE_STRING
    assert list(infos["optimizer"].domain_discrete) == ["adam"]
    # The size given to search() (50), which the trials trained at, not the
    # knob's default 32.
    assert list(infos["batch_size"].domain_discrete) == [50.0]
    assert set(infos["trial_status"].domain_discrete) == {
        "completed",
        "stopped_early",
        "pruned",
        "failed",
    }
    metrics = [(m.name.group, m.name.tag) for m in experiment.metric_infos]
    assert metrics == [
        ("", "best/val_accuracy"),
        ("validation", "epoch_accuracy"),
        ("validation", "epoch_loss"),
        ("train", "epoch_accuracy"),
        ("train", "epoch_loss"),
        ("", "best/accuracy"),
        ("", "best/loss"),
        ("", "best/val_loss"),
        ("", "epochs_run"),
        ("", "best_epoch"),
    ]

    results = tuner.results()
    assert set(sessions) == {f"trial_{r.trial_id}" for r in results}
    for result in results:
        run = f"trial_{result.trial_id}"
        session = sessions[run]
        assert session.group_name == run
        values = {
            name: value.WhichOneof("kind") and getattr(value, value.WhichOneof("kind"))
            for name, value in session.hparams.items()
        }
        expected = dict(result.values, trial_status="completed")
        assert values == pytest.approx(expected)
        assert ends[run].status == api_pb2.STATUS_SUCCESS


def _three_kinds(hp):
    """Good; hopeless (learning rate 1e-12: pruned); diverging (loss inf: fails)."""
    kind = hp.Choice("kind", ["good", "hopeless", "diverging"])
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu")(inputs)
    if kind == "diverging":
        hidden = keras.layers.Lambda(lambda t: t * float("inf"))(hidden)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(hidden))
    rate = 1e-12 if kind == "hopeless" else 0.05
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_pruned_and_failed_trials_have_their_status(tmp_path, digits):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.GridSearch(
        _three_kinds,
        objective="val_accuracy",
        stopper=MedianStopping(min_trials=1, min_epochs=2),
        early_stopping=None,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=4)
    assert tuner.cv_results_["status"] == ["completed", "pruned", "failed"]
    _, sessions, ends = hparams(tuner.tensorboard_dir)
    scalars, texts = read_logs(tuner.tensorboard_dir)
    good, pruned, failed = (f"trial_{r.trial_id}" for r in tuner.results())
    status = {
        run: s.hparams["trial_status"].string_value for run, s in sessions.items()
    }
    assert status == {good: "completed", pruned: "pruned", failed: "failed"}
    assert ends[good].status == ends[pruned].status == api_pb2.STATUS_SUCCESS
    assert ends[failed].status == api_pb2.STATUS_FAILURE
    assert texts[pruned]["status"][0].startswith("pruned: pruned by MedianStopping")
    assert texts[failed]["status"][0].startswith("failed: ")
    assert "diverged" in texts[failed]["status"][0]
    # A pruned trial keeps its curve up to where it stopped.
    assert len(scalars[f"{pruned}/validation"]["epoch_accuracy"]) == 2
    assert len(scalars[f"{failed}/train"]["epoch_seconds"]) == 1
    assert "best/val_accuracy" not in scalars[failed]
    # The search run holds the two trials that have a score.
    assert [s for s, _ in scalars["search"]["search/objective"]] == [1, 2]


def test_executions_get_one_run_each(tmp_path, tiny_classification):
    tuner = _search(tmp_path, tiny_classification, max_trials=1, executions_per_trial=2)
    trial = f"trial_{tuner.results()[0].trial_id}"
    scalars, _ = read_logs(tuner.tensorboard_dir)
    assert set(scalars) == {
        "search",
        trial,
        f"{trial}/train",  # the last epoch's values, for the HParams columns
        f"{trial}/validation",
        f"{trial}/execution_1/train",
        f"{trial}/execution_1/validation",
        f"{trial}/execution_2/train",
        f"{trial}/execution_2/validation",
    }


def test_tensorboard_dir_chooses_the_place_or_turns_it_off(
    tmp_path, tiny_classification
):
    custom = tmp_path / "logs"
    tuner = _search(tmp_path / "a", tiny_classification, tensorboard_dir=custom)
    assert tuner.tensorboard_dir == str(custom)
    assert len(event_files(custom)) == 1 + 1 + 3 * 2
    tuner = _search(tmp_path / "b", tiny_classification, tensorboard_dir=None)
    assert not any(isinstance(c, TensorBoardLogger) for c in tuner.search_callbacks)
    assert event_files(tmp_path / "b") == []
    with pytest.raises(TypeError, match="tensorboard_dir"):
        _search(tmp_path / "c", tiny_classification, tensorboard_dir=5)


def test_a_users_tensorboard_callback_gets_a_directory_per_trial(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    theirs = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "mine"))
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=2,
        seed=3,
        directory=tmp_path,
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, validation_split=0.25, epochs=2, callbacks=[theirs])
    assert theirs.log_dir == str(tmp_path / "mine")  # the user's object is untouched
    scalars, _ = read_logs(tmp_path / "mine")
    runs = {run.split("/")[0] for run in scalars}
    assert runs == {f"trial_{r.trial_id}" for r in tuner.results()}
    assert set(scalars[f"trial_{tuner.results()[0].trial_id}/validation"]) >= {
        "epoch_loss",
        "epoch_accuracy",
    }


def test_gpu_name_and_peak_memory_are_recorded(
    tmp_path, tiny_classification, monkeypatch
):
    """Only TensorFlow's device query is faked: it reports one GPU."""
    import tensorflow as tf

    class FakeGpu:
        name = "/physical_device:GPU:0"
        device_type = "GPU"

    real_list = tf.config.list_physical_devices

    def list_devices(device_type=None):
        return [FakeGpu()] if device_type == "GPU" else real_list(device_type)

    resets = []
    monkeypatch.setattr(tf.config, "list_physical_devices", list_devices)
    monkeypatch.setattr(
        tf.config.experimental,
        "get_device_details",
        lambda device: {"device_name": "Fake GPU 80GB"},
    )
    monkeypatch.setattr(tf.config.experimental, "reset_memory_stats", resets.append)
    monkeypatch.setattr(
        tf.config.experimental,
        "get_memory_info",
        lambda device: {"current": 0, "peak": 3 * 2**20},
    )
    tuner = _search(tmp_path, tiny_classification, max_trials=1)
    trial = f"trial_{tuner.results()[0].trial_id}"
    scalars, texts = read_logs(tuner.tensorboard_dir)
    assert texts[trial]["device"] == ["GPU: Fake GPU 80GB"]
    assert scalars[trial]["gpu_peak_memory_mb"] == [(0, 3.0)]
    assert resets == ["GPU:0"]


@pytest.mark.slow  # 9 s; curves flushed per epoch are read back in the default run
def test_a_killed_search_leaves_curves_up_to_its_last_finished_epoch(tmp_path):
    script = f"""
import os, signal
import keras, numpy as np
import keras_hpo

class Kill(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if len(os.listdir({str(tmp_path)!r} + "/untitled_project/tensorboard")) > 3 \\
                and epoch == 2:
            os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.default_rng(0)
x = rng.normal(size=(100, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.RandomSearch(keras_hpo.HyperMLP(num_classes=2), max_trials=3,
    seed=1, directory={str(tmp_path)!r}, verbose=0, early_stopping=None, refit=False)
tuner.search(x, y, validation_split=0.2, epochs=4, callbacks=[Kill()])
"""
    done = run_python(["-c", script])
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    log_dir = tmp_path / "untitled_project" / "tensorboard"
    scalars, _ = read_logs(log_dir)
    finished, killed = sorted(r for r in scalars if r.endswith("/train"))
    # The first trial ran its 4 epochs; the second was killed in its third,
    # after two epochs had been written and flushed.
    assert len(scalars[finished]["epoch_loss"]) == 4
    assert len(scalars[killed]["epoch_loss"]) == 2
    assert len(scalars[killed.replace("/train", "/validation")]["epoch_loss"]) == 2

    # `keras-hpo summary` reads the interrupted search from disk.
    summary = read_project(str(tmp_path / "untitled_project"))
    assert [r.status.value for r in summary.results] == ["completed"]
    assert summary.interrupted == [killed.split("/")[0].removeprefix("trial_")]
    assert summary.stop_reason is None
    text = format_summary(summary)
    assert "Search ended: no (still running, or killed: run it again to resume)" in text
    assert re.search(rf"^id {summary.interrupted[0]} +interrupted", text, re.M)


def test_hyperparameters_are_ordered_by_importance():
    hp = kt_hp.HyperParameters()
    hp.Fixed("optimizer", "adam")
    hp.Choice("activation", ["relu", "tanh"])
    hp.Float("my_own", 0, 1)
    layers = hp.Int("num_layers", 1, 3)
    with hp.conditional_scope("num_layers", [2, 3]):
        hp.Int("units_1", 8, 64)
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    assert layers == 1
    names = [p.name for p in order_hyperparameters(hp.space)]
    assert names == [
        "learning_rate",
        "num_layers",
        "activation",
        "my_own",
        "units_1",
        "optimizer",
    ]


def test_epoch_tensorboard_alone_writes_nothing_before_training(tmp_path):
    callback = EpochTensorBoard(str(tmp_path / "run"))
    callback.on_train_begin()
    callback.on_train_end()
    assert not (tmp_path / "run").exists()


def test_a_trial_run_again_from_epoch_0_sets_the_interrupted_curves_aside(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    run = str(tmp_path / "trial_0001")

    def fit(epochs, initial_epoch=0, callback=None):
        callback = callback or EpochTensorBoard(run)
        model.fit(
            x,
            y,
            validation_split=0.25,
            epochs=epochs,
            initial_epoch=initial_epoch,
            callbacks=[callback],
            verbose=0,
        )
        scalars, _ = read_logs(tmp_path)
        # Sorted: files written in one second are read in the order of their
        # names, which need not be the order they were written in.
        return {
            name: sorted(step for step, _ in tags["epoch_loss"])
            for name, tags in scalars.items()
        }

    fit(3)  # the attempt that was killed: its curves stay behind
    steps = fit(2)  # the trial runs again from epoch 0
    assert steps == {
        "trial_0001/train": [0, 1],
        "trial_0001/validation": [0, 1],
        "trial_0001/interrupted_1/train": [0, 1, 2],
        "trial_0001/interrupted_1/validation": [0, 1, 2],
    }
    # Resumed from a later epoch: the curves there are its first epochs.
    steps = fit(4, initial_epoch=2)
    assert steps["trial_0001/validation"] == [0, 1, 2, 3]
    assert not (tmp_path / "trial_0001" / "interrupted_2").exists()
    # A fit of one's own in two phases (one callback): nothing is set aside.
    two_phases = EpochTensorBoard(str(tmp_path / "trial_0002"))
    fit(1, callback=two_phases)
    steps = fit(1, callback=two_phases)
    assert steps["trial_0002/validation"] == [0, 0]
    assert not (tmp_path / "trial_0002" / "interrupted_1").exists()


class _OwnFit(keras_hpo.HyperMLP):
    """A fit of one's own that declares a hyperparameter of its own."""

    def fit(self, hp, model, *args, **kwargs):
        kwargs["batch_size"] = hp.Choice("my_batch", [16, 32])
        return model.fit(*args, **kwargs)


def test_the_experiment_lists_what_a_fit_of_one_s_own_declares_and_logs(
    tmp_path, tiny_classification
):
    tuner = keras_hpo.RandomSearch(
        _OwnFit(num_classes=3, units=[4, 8]),
        max_trials=2,
        seed=1,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(*tiny_classification, validation_split=0.25, epochs=2)
    experiment, sessions, _ = hparams(tuner.tensorboard_dir)
    names = [info.name for info in experiment.hparam_infos]
    assert "my_batch" in names and "units" in names
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"best/val_accuracy", "best/val_loss", "best/loss", "best/accuracy"} <= (
        metrics
    )
    assert {"epoch_loss", "epoch_accuracy"} <= metrics
    assert len(sessions) == 2
    # Written again, not twice: one experiment file in the folder.
    assert len(list(Path(tuner.tensorboard_dir).glob("events.out.tfevents.*"))) == 1


def test_a_log_folder_of_another_project_is_refused_and_left_as_it_is(
    tmp_path, tiny_classification
):
    # Runs are named by trial ID: a second project's search wrote into the
    # first one's runs (its curves moved aside as "interrupted", two HParams
    # sessions per run, its experiment replaced).
    x, y = tiny_classification
    logs = tmp_path / "logs"

    def tuner(name, max_trials=1, **kwargs):
        return keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8),
            max_trials=max_trials,
            seed=0,
            directory=tmp_path,
            project_name=name,
            verbose=0,
            refit=False,
            tensorboard_dir=logs,
            **kwargs,
        )

    def files():
        return {p: p.stat().st_mtime_ns for p in logs.rglob("*") if p.is_file()}

    tuner("a").search(x, y, validation_split=0.25, epochs=1)
    before = files()
    with pytest.raises(keras_hpo.ConfigError) as info:
        tuner("b")
    assert str(info.value).startswith(
        "`tensorboard_dir`: holds the TensorBoard logs of another search (project "
        "'a' created "
    )
    assert files() == before
    # The same project resumes into its folder; made again, it is another.
    resumed = tuner("a", max_trials=2)
    resumed.search(x, y, validation_split=0.25, epochs=1)
    assert len(resumed.results()) == 2
    before = files()
    with pytest.raises(keras_hpo.ConfigError) as info:
        tuner("a", overwrite=True)
    assert "overwrite=True makes a new project, whose runs" in str(info.value)
    assert files() == before
    assert len(tuner("a", max_trials=2).results()) == 2  # refused before deleting


@pytest.mark.parametrize("kind", ["cv", "executions"])
def test_hparams_last_epoch_columns_of_a_trial_of_several_trainings(
    tmp_path, tiny_classification, kind
):
    # Its curves are in trial_<id>/fold_<k> (execution_<n>) runs, and the
    # "last epoch" columns, read from trial_<id>/validation and /train,
    # stayed empty.
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8),
        max_trials=1,
        seed=0,
        directory=tmp_path,
        verbose=0,
        refit=False,
        **({"cv": 2} if kind == "cv" else {"executions_per_trial": 2}),
    )
    fit = {} if kind == "cv" else {"validation_split": 0.25}
    tuner.search(x, y, epochs=2, **fit)
    (result,) = tuner.results()
    experiment, sessions, _ = hparams(tuner.tensorboard_dir)
    scalars, _ = read_logs(tuner.tensorboard_dir)
    histories = [f["history"] for f in result.folds or []] or [result.history]
    for metric in experiment.metric_infos:
        if not metric.name.group:
            continue
        run = f"trial_{result.trial_id}/{metric.name.group}"
        name = metric.name.tag.removeprefix("epoch_")
        name = f"val_{name}" if metric.name.group == "validation" else name
        expected = np.mean([h[name][-1] for h in histories])
        assert scalars[run][metric.name.tag] == [(1, pytest.approx(expected))]
