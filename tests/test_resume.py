"""Killed with SIGKILL at random moments, a search resumes and loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest

from keras_hpo.tuners.termination import Terminated

SCRIPT = """
import sys
import numpy as np
import keras_hpo

rng = np.random.default_rng(0)
x = rng.normal(size=(120, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.RandomSearch(
    keras_hpo.HyperMLP(num_classes=2),
    max_trials=int(sys.argv[2]),
    seed=7,
    directory=sys.argv[1],
    project_name="killed",
    checkpoint=sys.argv[3], refit=False
)
tuner.search(x, y, validation_split=0.25, epochs=int(sys.argv[4]), batch_size=30)
print("DONE", len(tuner.results()), flush=True)
"""


class Run:
    """The search script in a subprocess, its output collected line by line."""

    def __init__(self, directory, trials: int, checkpoint: str, epochs: int):
        self.lines: list[str] = []
        self.started = threading.Event()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(directory), str(trials), checkpoint]
            + [str(epochs)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("[trial ") or line.startswith("DONE"):
                self.started.set()
        self.started.set()

    def kill_after_first_trial(self, delay: float) -> None:
        """SIGKILL ``delay`` seconds after the first trial of this run ended."""
        self.started.wait(timeout=300)
        time.sleep(delay)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)
        self._reader.join(timeout=10)

    def finish(self) -> int:
        self.process.wait(timeout=600)
        self._reader.join(timeout=10)
        return self.process.returncode


def ended_trials(project) -> list[dict]:
    results = [json.loads(p.read_text()) for p in project.glob("trial_*/result.json")]
    return sorted(results, key=lambda r: r["number"])


@pytest.mark.parametrize(
    ("checkpoint", "kills"),
    # Both modes share the kill/resume path. The default run kills once
    # (each kill costs a process start, about 8 s: the default run has to
    # stay under 12 minutes); -m slow kills four times in each mode.
    [
        ("best", 1),
        pytest.param("best", 4, marks=pytest.mark.slow),
        pytest.param("every_epoch", 4, marks=pytest.mark.slow),
    ],
)
def test_sigkill_at_random_moments_loses_and_repeats_nothing(
    tmp_path, checkpoint, kills
):
    trials = 6
    rng = random.Random(f"kills-{checkpoint}-{kills}")
    project = tmp_path / "killed"
    reloaded = []
    for _ in range(kills):
        run = Run(tmp_path, trials, checkpoint, epochs=3)
        # Somewhere in the next trial: while training, or while its results,
        # weights, logs or the oracle's state are being written.
        run.kill_after_first_trial(rng.uniform(0.0, 1.5))
        reloaded += [line for line in run.lines if line.startswith("Reloaded ")]
        assert run.process.returncode == -signal.SIGKILL, run.lines[-20:]
    done = Run(tmp_path, trials, checkpoint, epochs=3)
    assert done.finish() == 0, "\n".join(done.lines[-30:])
    assert done.lines[-1] == f"DONE {trials}"

    results = ended_trials(project)
    assert [r["number"] for r in results] == list(range(1, trials + 1))
    assert len({r["trial_id"] for r in results}) == trials
    assert all(r["status"] == "completed" for r in results)
    assert all(len(r["history"]["val_accuracy"]) == 3 for r in results)
    # Every finished trial is in the oracle once, and none is still running.
    statuses = [
        json.loads(p.read_text())["status"] for p in project.glob("trial_*/trial.json")
    ]
    assert statuses == ["COMPLETED"] * trials
    # Each resumed run said what it reloaded.
    resumed = [line for line in done.lines if line.startswith("Reloaded ")]
    for line in reloaded + resumed:
        assert line.startswith(f"Reloaded project {project}: ")
        assert " trials finished, " in line and " to go" in line
    assert resumed, done.lines[:5]


KILL_IN_THIRD_EPOCH = """
import os, signal, sys
import keras, numpy as np
import keras_hpo

class KillOnce(keras.callbacks.Callback):
    # Kills the process at the end of the third epoch of the second trial,
    # once: before keras_hpo's own callbacks saw that epoch.
    def on_epoch_end(self, epoch, logs=None):
        marker = os.path.join(sys.argv[1], "killed")
        runs = os.listdir(os.path.join(sys.argv[1], "p", "tensorboard"))
        trials = len([run for run in runs if run.startswith("trial_")])
        if epoch == 2 and trials >= 2 and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)

rng = np.random.default_rng(0)
x = rng.normal(size=(120, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.RandomSearch(keras_hpo.HyperMLP(num_classes=2), max_trials=2,
    seed=3, directory=sys.argv[1], project_name="p", checkpoint="every_epoch",
    early_stopping=None, refit=False)
tuner.search(x, y, validation_split=0.25, epochs=5, batch_size=30,
             callbacks=[KillOnce()])
"""


@pytest.mark.slow  # 16 s; the default run kills and resumes in the sigkill test
def test_every_epoch_checkpoint_resumes_an_interrupted_trial_from_its_last_epoch(
    tmp_path,
):
    from tb_reading import read_logs

    args = [sys.executable, "-c", KILL_IN_THIRD_EPOCH, str(tmp_path)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.run(args, capture_output=True, text=True, env=env)
    assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]
    trial_dir = tmp_path / "p" / "trial_0001"
    record = json.loads((trial_dir / "last.json").read_text())
    assert record["epochs"] == 2 and record["weights"] == "last.e2.weights.h5"

    second = subprocess.run(args, capture_output=True, text=True, env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "interrupted trial(s) 0001 will run again" in second.stdout
    results = ended_trials(tmp_path / "p")
    assert [len(r["history"]["loss"]) for r in results] == [5, 5]
    # The interrupted trial trained epochs 0-1, was killed in epoch 2, and
    # went on from epoch 2: each epoch was logged exactly once.
    scalars, _ = read_logs(tmp_path / "p" / "tensorboard")
    steps = [step for step, _ in scalars["trial_0001/train"]["epoch_loss"]]
    assert steps == [0, 1, 2, 3, 4]
    assert sorted(os.listdir(trial_dir)) == [
        "checkpoint.model.json",
        "checkpoint.weights.h5",
        "last.weights.h5",
        "result.json",
        "trial.json",
    ]


# -- in one process ------------------------------------------------------------------

import keras  # noqa: E402
import numpy as np  # noqa: E402
from conftest import untrainable_mlp  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import keras_hpo  # noqa: E402


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


def _grid(tmp_path, grid, **kwargs):
    kwargs.setdefault("refit", False)  # no refit: these tests are about trials
    return keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=2),
        param_grid=grid,
        directory=tmp_path,
        project_name="p",
        verbose=kwargs.pop("verbose", 0),
        tensorboard_dir=None,
        **kwargs,
    )


def _search(tuner, epochs=2, **kwargs):
    x, y = _data()
    tuner.search(x, y, validation_split=0.25, epochs=epochs, **kwargs)
    return tuner


def test_resuming_with_another_space_or_strategy_is_refused(tmp_path, capsys):
    _search(_grid(tmp_path, {"units": [8, 16]}))
    with pytest.raises(ValueError) as info:
        _grid(tmp_path, {"units": [8, 32]})
    message = str(info.value)
    assert f"{tmp_path / 'p'} holds a different search" in message
    assert "units was Choice(values=[8, 16]" in message
    assert "now Choice(values=[8, 32]" in message
    assert "overwrite=True" in message and "project_name" in message
    with pytest.raises(
        ValueError, match="the strategy was GridOracle, now RandomOracle"
    ):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=2),
            param_distributions={"units": [8, 16]},
            directory=tmp_path,
            project_name="p",
            verbose=0,
            refit=False,
        )
    # The same search resumes, and says what it reloaded.
    capsys.readouterr()
    again = _grid(tmp_path, {"units": [8, 16]}, verbose=1)
    assert capsys.readouterr().out == (
        f"Reloaded project {tmp_path / 'p'}: 2 trials finished, 0 to go\n"
    )
    assert len(again.results()) == 2
    # overwrite=True starts afresh with the new space.
    fresh = _search(_grid(tmp_path, {"units": [8, 32]}, overwrite=True))
    assert fresh.cv_results_["param_units"] == [8, 32]


def _project_files(project):
    return {
        os.path.join(folder, name): os.stat(os.path.join(folder, name)).st_mtime_ns
        for folder, _, names in os.walk(project)
        for name in names
        if name != "keras_hpo.lock"  # rewritten by each search that holds it
    }


def test_resuming_with_data_of_other_features_is_refused(tmp_path):
    # A project found again under its name (another CSV file called the
    # same, a script pointed at another data set) must not rank trials of
    # two data sets together: the number of features is compared.
    _search(_grid(tmp_path, {"units": [8, 16]}), epochs=1)
    before = _project_files(tmp_path / "p")
    x, y = _data()
    tuner = _grid(tmp_path, {"units": [8, 16]}, max_trials=3)
    with pytest.raises(ValueError) as info:
        tuner.search(x[:, :4], y, validation_split=0.25, epochs=1)
    assert str(info.value) == (
        f"{tmp_path / 'p'} holds a search of other data, so resuming it would rank "
        "trials trained on two data sets together and refit the best of them on "
        "this one: it was searched on 6 features, this data has 4 features. Pass "
        "overwrite=True to start afresh, or a new project_name to keep both."
    )
    assert _project_files(tmp_path / "p") == before  # nothing written
    # More rows, or other values in as many rows, are other data too (they
    # used to resume, mixing trials of both; keras-tuner #469).
    more = np.concatenate([x, x[:40] + 0.01])
    with pytest.raises(ValueError) as info:
        tuner.search(
            more, (more[:, 0] > 0).astype("int64"), validation_split=0.25, epochs=1
        )
    assert str(info.value) == (
        f"{tmp_path / 'p'} holds a search of other data, so resuming it would rank "
        "trials trained on two data sets together and refit the best of them on "
        f"this one: its rows differ ({len(x)} rows then, {len(more)} now: another "
        "file or split; a script that splits or shuffles its data at random must "
        "seed it to resume). Pass overwrite=True to start afresh, or a new "
        "project_name to keep both."
    )
    with pytest.raises(ValueError, match=rf"the same number, {len(x)}, with other"):
        tuner.search(x[::-1], y[::-1], validation_split=0.25, epochs=1)
    with pytest.raises(ValueError, match="its rows differ"):  # another split
        tuner.search(x, y, validation_split=0.5, epochs=1)
    assert _project_files(tmp_path / "p") == before
    tuner.search(x, y, validation_split=0.25, epochs=1)  # the same data resumes
    assert len(tuner.results()) == 2


def test_data_refused_before_any_trial_can_be_replaced_on_the_same_tuner(tmp_path):
    # Nothing ran, so nothing can be mixed: fixing the data is not refused.
    x, y = _data()
    tuner = _grid(tmp_path, {"units": [8]})
    with pytest.raises(ValueError, match="`y`"):
        tuner.search(x, y + 5, validation_split=0.25, epochs=1)
    tuner.search(x[:, :4], y, validation_split=0.25, epochs=1)
    assert len(tuner.results()) == 1
    data = tuner.get_state()["search"]["data"]
    assert data["features"] == [4] and data["rows"] == len(x)


def test_a_second_fit_on_other_data_is_refused(tmp_path):
    # scikit-learn's second fit starts again; a tuner's project would mix
    # them: refused, naming the columns, with the way out.
    import pandas as pd

    x, y = load_iris(return_X_y=True, as_frame=True)
    search = keras_hpo.SklearnSearch(
        LogisticRegression(max_iter=300),
        {"C": [0.1, 1.0]},
        cv=3,
        directory=str(tmp_path),
        project_name="p",
        verbose=0,
    ).fit(x, y)
    score = search.best_score_
    other = pd.concat([x.iloc[:, :3], x.iloc[:, :1].rename(columns=str.upper)], axis=1)
    with pytest.raises(ValueError) as info:
        search.fit(other, y)
    assert str(info.value) == (
        f"{tmp_path / 'p'} holds a search of other data, so resuming it would rank "
        "trials trained on two data sets together and refit the best of them on "
        "this one: the columns 'petal width (cm)' are missing; the columns "
        "'SEPAL LENGTH (CM)' are new. A tuner searches one data set: create a new "
        "one for this data, with overwrite=True to replace this project or a new "
        "project_name to keep both."
    )
    with pytest.raises(
        ValueError, match="it was searched on 4 features, this data has 2"
    ):
        search.fit(x.to_numpy()[:, :2], y)
    # Other rows of the same columns: refused too (the second fit returned
    # the first one's results, on the first data).
    with pytest.raises(ValueError, match=r"its rows differ \(150 rows then, 60 now"):
        search.fit(x.iloc[:60], y.iloc[:60])
    assert search.best_score_ == score
    assert search.best_estimator_.n_features_in_ == 4
    # The same data again: nothing to do, nothing refused.
    assert search.fit(x, y).best_score_ == score


def test_a_list_of_param_grids_that_share_a_name_resumes(tmp_path, capsys):
    # Each sub-grid has its own "units": each is compared with its own.
    grids = [{"units": [4, 8]}, {"units": [16], "dropout": [0.25]}]
    _search(_grid(tmp_path, grids), epochs=1)
    capsys.readouterr()
    again = _grid(tmp_path, grids, verbose=1)
    assert capsys.readouterr().out == (
        f"Reloaded project {tmp_path / 'p'}: 3 trials finished, 0 to go\n"
    )
    assert len(again.results()) == 3
    changed = [{"units": [4, 8]}, {"units": [32], "dropout": [0.25]}]
    with pytest.raises(ValueError) as info:
        _grid(tmp_path, changed)
    assert "units was Fixed(value=16), now Fixed(value=32)" in str(info.value)


# Slow (11 s; test_tuners resumes with a larger max_trials; the default run has to stay
# under 12 minutes).
@pytest.mark.slow
def test_raising_max_trials_extends_a_finished_search(tmp_path):
    def random(max_trials):
        return keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=2),
            max_trials=max_trials,
            seed=4,
            directory=tmp_path,
            project_name="p",
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )

    first = _search(random(2))
    second = _search(random(4))
    assert [r.number for r in second.results()] == [1, 2, 3, 4]
    assert second.results()[:2] == first.results()
    values = [tuple(sorted(r.values.items())) for r in second.results()]
    assert len(set(values)) == 4


@pytest.mark.parametrize(
    "damaged", ["oracle.json", "trial_*/trial.json", "tuner0.json"]
)
def test_a_damaged_state_file_is_named(tmp_path, damaged):
    _search(_grid(tmp_path, {"units": [8, 16]}))
    path = sorted((tmp_path / "p").glob(damaged))[-1]
    text = path.read_text()
    path.write_text(text[: len(text) // 2])  # as if cut short
    with pytest.raises(ValueError) as info:
        _grid(tmp_path, {"units": [8, 16]})
    assert str(path) in str(info.value)
    assert "is not a valid JSON file" in str(info.value)
    assert "overwrite=True" in str(info.value)


def test_a_foreign_result_file_is_named(tmp_path):
    _search(_grid(tmp_path, {"units": [8, 16]}))
    path = sorted((tmp_path / "p").glob("trial_*/result.json"))[-1]
    path.write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ValueError) as info:
        _grid(tmp_path, {"units": [8, 16]})
    assert f"{path} is not a keras_hpo trial result" in str(info.value)


def test_too_many_failures_in_a_row_stop_the_search_with_everything_saved(tmp_path):
    tuner = keras_hpo.GridSearch(
        untrainable_mlp(num_classes=2),
        param_grid={"units": [1, 2, 3, 4, 5]},
        directory=tmp_path,
        project_name="p",
        verbose=0,
        tensorboard_dir=None,
        max_consecutive_failed_trials=3,
        refit=False,
    )
    with pytest.raises(RuntimeError) as info:
        _search(tuner)
    message = str(info.value)
    assert message.startswith(
        "3 trials failed in a row (max_consecutive_failed_trials=3), so the "
        "search stopped. The last error: ValueError: this model cannot be trained. "
        "Every trial's error"
    )
    assert "run the search again" in message
    assert tuner.cv_results_["status"] == ["failed"] * 3
    assert all("Traceback" in e for e in tuner.cv_results_["error"])
    states = [
        json.loads(path.read_text())["status"]
        for path in sorted((tmp_path / "p").glob("trial_*/trial.json"))
    ]
    assert states == ["FAILED"] * 3
    assert tuner.stop_reason.startswith("error: RuntimeError: 3 trials failed in a row")


class _CtrlC(keras.callbacks.Callback):
    """Presses Ctrl-C in the second epoch of the second trial.

    Each trial trains a deep copy of it, so the count is kept on the class.
    ``sigterm``: sends this process SIGTERM instead (a job scheduler's end).
    """

    trainings = 0

    def __init__(self, sigterm: bool = False):
        super().__init__()
        self.sigterm = sigterm

    def on_train_begin(self, logs=None):
        type(self).trainings += 1

    def on_epoch_end(self, epoch, logs=None):
        if type(self).trainings == 2 and epoch == 1:
            if self.sigterm:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5.0)  # the handler raises before this ends
            raise KeyboardInterrupt


@pytest.fixture
def default_sigterm():
    """SIGTERM has Python's default handler during the test (a test runner's
    own is put back after)."""
    before = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    hook = sys.excepthook  # a SIGTERM during a search wraps it
    yield
    signal.signal(signal.SIGTERM, before)
    sys.excepthook = hook


@pytest.mark.parametrize(
    ("sigterm", "reason"),
    [(False, "interrupted (Ctrl-C)"), (True, "terminated (SIGTERM)")],
)
def test_ctrl_c_or_sigterm_stops_cleanly_and_the_search_resumes(
    tmp_path, default_sigterm, sigterm, reason
):
    _CtrlC.trainings = 0
    x, y = _data()
    first = _grid(tmp_path, {"units": [8, 16, 32]})
    with pytest.raises(KeyboardInterrupt) as raised:
        first.search(x, y, validation_split=0.25, epochs=3, callbacks=[_CtrlC(sigterm)])
    assert isinstance(raised.value, Terminated) == sigterm
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # put back
    assert first.stop_reason == reason
    assert [r.number for r in first.results()] == [1]
    state = json.loads((tmp_path / "p" / "search.json").read_text())
    assert state["stop_reason"] == reason
    second = _search(_grid(tmp_path, {"units": [8, 16, 32]}), epochs=3)
    assert [r.number for r in second.results()] == [1, 2, 3]
    assert second.cv_results_["param_units"] == [8, 16, 32]
    assert second.results()[0] == first.results()[0]


TERMINATED_SCRIPT = """
import os, signal, sys
import keras, numpy as np
import keras_hpo

class Term(keras.callbacks.Callback):  # a job scheduler's end, mid-trial
    def on_epoch_end(self, epoch, logs=None):
        os.kill(os.getpid(), signal.SIGTERM)

rng = np.random.default_rng(0)
x = rng.normal(size=(80, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.GridSearch(keras_hpo.HyperMLP(num_classes=2),
    param_grid={"units": [4, 8]}, directory=sys.argv[1], project_name="p",
    refit=False, verbose=0)
tuner.search(x, y, validation_split=0.25, epochs=3, callbacks=[Term()])
print("not reached")
"""


def test_a_script_that_does_not_catch_sigterm_ends_with_one_line(tmp_path):
    # As a chief that keras-hpo launch ends: no traceback of Terminated.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", TERMINATED_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 1
    assert "not reached" not in done.stdout
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "keras_hpo: the search was terminated (SIGTERM); the trials that finished "
        "are kept: run the same command again to resume it"
    )
    state = json.loads((tmp_path / "p" / "search.json").read_text())
    assert state["stop_reason"] == "terminated (SIGTERM)"


def test_a_program_s_own_sigterm_handler_is_left_alone(tmp_path):
    heard = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: heard.append(signum))
    try:
        x, y = _data()
        tuner = _grid(tmp_path, {"units": [8, 16]})

        class _Term(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 0:
                    os.kill(os.getpid(), signal.SIGTERM)

        tuner.search(x, y, validation_split=0.25, epochs=2, callbacks=[_Term()])
        assert heard and tuner.stop_reason == "the search space is exhausted"
        assert len(tuner.results()) == 2
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.parametrize(
    "trials",
    # One trial in the default run; three (11 s) with -m slow: the default
    # run has to stay under 12 minutes.
    [1, pytest.param(3, marks=pytest.mark.slow)],
)
def test_retrain_reproduces_every_trials_metrics_exactly(tmp_path, trials):
    x, y = _data()
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2),
        max_trials=trials,
        seed=2,
        directory=tmp_path,
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    tuner.search(x, y, validation_split=0.25, epochs=3)
    assert len(tuner.results()) == trials
    for result in tuner.results():
        model, history = tuner.retrain(result.trial_id, x, y, validation_split=0.25)
        assert history == result.history
        assert isinstance(model, keras.Model)
    with pytest.raises(ValueError, match="`trial_id`"):
        tuner.retrain("nope", x, y)


def _widths(hp):
    width = hp.Choice("width", [8, 400_000, 16])
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(width, activation="relu")(inputs)
    hidden = keras.layers.Dense(width, activation="relu")(hidden)  # 640 GB at 400k
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(hidden))
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_out_of_memory_fails_the_trial_not_the_search(tmp_path):
    tuner = keras_hpo.GridSearch(
        _widths,
        objective="val_accuracy",
        directory=tmp_path,
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    _search(tuner, epochs=1)
    table = tuner.cv_results_
    assert table["param_width"] == [8, 400_000, 16]
    assert table["status"] == ["completed", "failed", "completed"]
    assert "ResourceExhaustedError" in table["error"][1]
    assert "OOM when allocating tensor" in table["error"][1]
    assert tuner.stop_reason == "the search space is exhausted"


@pytest.mark.parametrize(
    "strategy",
    # Both run with -m slow (14 s each; the default run has to stay under 12
    # minutes); test_same_results.py checks a seeded search's results anyway.
    [
        pytest.param("RandomSearch", marks=pytest.mark.slow),
        pytest.param("BayesianSearch", marks=pytest.mark.slow),
    ],
)
def test_a_seeded_search_is_the_same_run_to_run(tmp_path, strategy):
    def run(directory):
        tuner = getattr(keras_hpo, strategy)(
            keras_hpo.HyperMLP(num_classes=2),
            max_trials=4,
            seed=11,
            directory=directory,
            verbose=0,
            tensorboard_dir=None,
        )
        return _search(tuner).results()

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert [r.values for r in first] == [r.values for r in second]
    assert [r.seed for r in first] == [r.seed for r in second]
    assert [r.history for r in first] == [r.history for r in second]


def test_other_weights_or_groups_do_not_resume(tmp_path):
    # Resumed with other sample weights (or groups), the search kept the
    # first weights' scores and refit: best max_depth=2 (0.9414) where
    # GridSearchCV with the new weights finds 3 (0.9637).
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GroupKFold
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    weights, other = rng.uniform(0.1, 3, 150), rng.uniform(0.1, 3, 150)
    groups = np.arange(150) % 5

    def search(cv=3, name="weights", **kwargs):
        tuner = keras_hpo.GridSearch(
            DecisionTreeClassifier(random_state=0),
            param_grid={"max_depth": [1, 2, 3]},
            cv=cv,
            directory=tmp_path,
            project_name=name,
            verbose=0,
        )
        return tuner.search(x, y, **kwargs)

    search(sample_weight=weights)
    search(sample_weight=weights)  # the same weights resume
    for again in ({"sample_weight": other}, {}):
        with pytest.raises(ValueError, match="its sample weights, class weights or"):
            search(**again)
    search(cv=GroupKFold(3), name="groups", groups=groups)
    with pytest.raises(ValueError, match="or groups differ"):
        search(cv=GroupKFold(3), name="groups", groups=rng.permutation(groups))


class _Plateau(keras.callbacks.Callback):
    """Sets ``val_accuracy``: best at the first epoch, never better after it.

    Presses Ctrl-C in the third epoch of the first search (before keras_hpo's
    callbacks see that epoch); the flag is kept on the class, as each trial
    trains a deep copy.
    """

    interrupted = False

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = 0.9 if epoch == 0 else 0.5
        if epoch == 2 and not type(self).interrupted:
            type(self).interrupted = True
            raise KeyboardInterrupt


class _Watcher(keras_hpo.MedianStopping):
    """Never stops a trial; records (epochs, length of the trial's curve)."""

    seen: list = []

    def should_stop(self, trial_id, epochs, curves):
        type(self).seen.append((epochs, len(curves[trial_id].values)))
        return False


def test_a_resumed_trial_keeps_its_early_stopping_and_its_curve(tmp_path):
    # Resumed from its last epoch, a trial's early stopping started afresh
    # (6 epochs instead of 4) and its stopper saw only the epochs after it.
    _Plateau.interrupted, _Watcher.seen = False, []

    def run():
        tuner = _grid(
            tmp_path,
            {"units": [8]},
            checkpoint="every_epoch",
            early_stopping=3,
            stopper=_Watcher(),
        )
        return _search(tuner, epochs=8, callbacks=[_Plateau()])

    with pytest.raises(KeyboardInterrupt):
        run()
    assert _Watcher.seen == [(1, 1), (2, 2)]
    tuner = run()
    (result,) = tuner.results()
    assert len(result.history["loss"]) == 4
    assert result.end_reason == (
        "no improvement of val_accuracy for 3 epochs; stopped after epoch 4"
    )
    assert _Watcher.seen == [(1, 1), (2, 2), (3, 3)]


def test_a_resumed_search_counts_only_the_failures_that_ended_last(tmp_path):
    # keras-tuner counts any run of failures since the first trial: after a
    # search stopped on failures, the resumed one stopped after every trial,
    # completed ones included.
    import keras_tuner

    from keras_hpo.oracles import RandomOracle

    def oracle():
        hp = keras_tuner.HyperParameters()
        hp.Int("units", 1, 1000)
        made = RandomOracle(
            objective=keras_tuner.Objective("loss", "min"),
            hyperparameters=hp,
            max_trials=20,
            seed=1,
            max_consecutive_failed_trials=2,
        )
        made._set_project_dir(str(tmp_path), "p")
        made.verbose = 0
        return made

    def end(made, loss=None):
        trial = made.create_trial("tuner0")
        if loss is None:
            trial.status, trial.message = "FAILED", "Traceback...\nValueError: no."
        else:
            made.update_trial(trial.trial_id, {"loss": loss})
            trial.status = "COMPLETED"
        made.end_trial(trial)

    first = oracle()
    end(first)
    with pytest.raises(RuntimeError, match="The last error: ValueError: no. Every"):
        end(first)
    resumed = oracle()
    resumed.reload()
    end(resumed, 0.5)
    end(resumed, 0.4)
    end(resumed)
    with pytest.raises(RuntimeError, match="2 trials failed in a row"):
        end(resumed)
    assert [resumed.trials[t].status for t in resumed.end_order] == [
        "FAILED",
        "FAILED",
        "COMPLETED",
        "COMPLETED",
        "FAILED",
        "FAILED",
    ]


def test_resuming_with_other_epochs_is_refused(tmp_path):
    # The trials of 1 epoch and of 3 were ranked together, without a word.
    from keras_hpo.errors import ConfigError

    _search(_grid(tmp_path, {"units": [8, 16]}, max_trials=1), epochs=1)
    with pytest.raises(ConfigError) as info:
        _search(_grid(tmp_path, {"units": [8, 16]}), epochs=3)
    assert str(info.value) == (
        f"{tmp_path / 'p'} holds trials trained with epochs=1; resuming it with "
        "epochs=3 would rank trials of two trainings together. Pass the same "
        "arguments to resume, or overwrite=True to start afresh, or a new "
        "project_name to keep both."
    )
    with pytest.raises(ConfigError, match="with epochs=1, steps_per_epoch=2 would"):
        _search(_grid(tmp_path, {"units": [8, 16]}), epochs=1, steps_per_epoch=2)
    tuner = _search(_grid(tmp_path, {"units": [8, 16]}), epochs=1)
    assert tuner.cv_results_["epochs_run"] == [1, 1]
    with pytest.raises(ConfigError, match="Create a new tuner for it"):
        _search(tuner, epochs=2)


KILL_IN_A_TRIALS_LAST_MOMENTS = """
import json, os, signal, sys
import numpy as np
import keras_hpo
import keras_hpo.tuners.checkpoint as checkpoint

directory, moment, isolate = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
marker = os.path.join(directory, "killed")
first = not os.path.exists(marker)


def kill():
    open(marker, "w").close()
    os.kill(os.getppid() if isolate else os.getpid(), signal.SIGKILL)
    os._exit(9)


if first and moment == "best_file":  # last.json written, the best file not yet
    save = checkpoint.save_weights

    def save_weights(model, path, optimizer=False):
        if path.endswith(checkpoint.BEST_FILE):
            record = json.load(open(os.path.join(os.path.dirname(path), "last.json")))
            if record["epochs"] == 4:
                kill()
        return save(model, path, optimizer)

    checkpoint.save_weights = save_weights

rng = np.random.default_rng(0)
x = rng.normal(size=(400, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
tuner = keras_hpo.RandomSearch(keras_hpo.HyperMLP(num_classes=2), max_trials=1,
    seed=3, directory=directory, project_name="p", checkpoint="every_epoch",
    early_stopping=(1, 0.5) if moment == "end_trial" else None, refit=False,
    verbose=0, tensorboard_dir=None, isolate_trials=isolate)
if first and moment == "end_trial":  # result.json written, the oracle not told
    tuner.oracle.end_trial = lambda trial: kill()
tuner.search(x, y, validation_split=0.25, epochs=4, batch_size=30)
(result,) = tuner.results()
model = tuner.best_model()
loss = model.evaluate(x[300:], y[300:], verbose=0, return_dict=True)["loss"]
print(json.dumps({"val_loss": result.history["val_loss"], "best": result.best_epoch,
    "epochs_run": result.epochs_run, "status": result.status.value,
    "best_model_val_loss": loss}))
"""


@pytest.mark.parametrize("moment", ["best_file", "end_trial"])
def test_a_kill_in_a_trials_last_moments_keeps_its_best_weights_and_epochs(
    tmp_path, moment
):
    # best_file: killed after last.json named the last epoch the best, before
    # its weights were written: best_model() was an older epoch's model.
    # end_trial: killed after a trial stopped early, before the oracle ended
    # it: the rerun went on training it (4 epochs instead of 2).
    from conftest import run_python

    args = ["-c", KILL_IN_A_TRIALS_LAST_MOMENTS, str(tmp_path), moment, "0"]
    assert run_python(args).returncode == -signal.SIGKILL
    done = run_python(args)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(done.stdout.strip().splitlines()[-1])
    if moment == "best_file":
        assert record["best"] == 3 == min(range(4), key=lambda e: record["val_loss"][e])
    else:
        assert (record["status"], record["epochs_run"]) == ("stopped_early", 2)
    best = record["val_loss"][record["best"]]
    assert record["best_model_val_loss"] == pytest.approx(best, abs=1e-5)
