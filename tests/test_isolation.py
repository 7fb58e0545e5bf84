"""``isolate_trials=True``: each trial in its own process, with the same outcome."""

from __future__ import annotations

import json
import os

import pytest
from tb_reading import read_logs

import keras_hpo
from keras_hpo.stopping import MedianStopping


def _search(directory, digits, isolate: bool):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(
            num_classes=10, num_layers=1, units=32, optimizer="sgd", dropout=0.0
        ),
        # Two good learning rates, then a hopeless one (pruned at epoch 2).
        param_grid={"learning_rate": [0.05, 0.2, 1e-12]},
        stopper=MedianStopping(min_trials=2, min_epochs=2),
        early_stopping=None,
        seed=0,
        directory=directory,
        verbose=0,
        isolate_trials=isolate,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=4)
    return tuner


# Slow: about 30 s;
# the isolated variant of test_same_results stays;
# the default run has to stay under 12 minutes.
@pytest.mark.slow
def test_isolated_trials_give_the_same_results_pruning_and_logs(tmp_path, digits):
    here = _search(tmp_path / "here", digits, isolate=False)
    apart = _search(tmp_path / "apart", digits, isolate=True)
    assert apart.cv_results_["status"] == ["completed", "completed", "pruned"]
    assert apart.cv_results_["epochs_run"] == [4, 4, 2]
    for a, b in zip(here.results(), apart.results(), strict=True):
        assert (a.values, a.seed, a.history) == (b.values, b.seed, b.history)
        assert a.score == b.score and a.status == b.status
    # The best trial's weights were written by its process and load here.
    best = apart.best_model()
    assert best.count_params() == here.best_model().count_params()
    kept = sorted(
        d
        for d in os.listdir(apart.project_dir)
        if d.startswith("trial_")
        if os.path.exists(os.path.join(apart.project_dir, d, "checkpoint.weights.h5"))
    )
    assert len(kept) == 3
    # The architecture came with them, from the trial's process.
    for trial in kept:
        assert os.path.exists(
            os.path.join(apart.project_dir, trial, "checkpoint.model.json")
        )
    assert keras_hpo.load(apart.project_dir).best_model().count_params() == (
        best.count_params()
    )
    assert not any(
        f.startswith("pending.")
        for _, _, files in os.walk(apart.project_dir)
        for f in files
    )
    # TensorBoard: the same runs and tags, curves written by the trials' processes.
    here_logs, _ = read_logs(here.tensorboard_dir)
    apart_logs, _ = read_logs(apart.tensorboard_dir)
    assert {r: set(t) for r, t in here_logs.items()} == {
        r: set(t) for r, t in apart_logs.items()
    }


class _Untrainable(keras_hpo.HyperMLP):
    def fit(self, hp, model, *args, **kwargs):
        if hp.get("units") == 16:
            raise ValueError("units=16 cannot be trained")
        return super().fit(hp, model, *args, **kwargs)


@pytest.mark.slow  # about 17 s; the default run has to stay under 12 minutes
def test_an_error_in_a_trials_process_fails_that_trial(tmp_path, tiny_classification):
    x, y = tiny_classification
    tuner = keras_hpo.GridSearch(
        _Untrainable(num_classes=3),
        param_grid={"units": [16, 8]},
        directory=tmp_path,
        verbose=0,
        isolate_trials=True,
    )
    tuner.search(x, y, validation_split=0.25, epochs=1)
    assert tuner.cv_results_["status"] == ["failed", "completed"]
    error = tuner.cv_results_["error"][0]
    assert "ValueError: units=16 cannot be trained" in error
    assert "_child" in error  # the traceback from the trial's process


def test_isolate_trials_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="`isolate_trials`"):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3), directory=tmp_path, isolate_trials=1
        )


ISOLATED_SEARCH = """
import json, os, signal, sys
import keras, keras_tuner, numpy as np
import keras_hpo


class KillOnce(keras.callbacks.Callback):
    # In the trial's process, at the end of its second epoch: kills the search.
    def __init__(self, marker):
        super().__init__()
        self.marker = marker

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getppid(), signal.SIGKILL)
            os._exit(9)


def main():
    directory, epochs, kill = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    tuner = keras_hpo.RandomSearch(keras_hpo.HyperMLP(num_classes=2), max_trials=1,
        # The training loss falls: as "max", its first epoch is the best.
        objective=keras_tuner.Objective("loss", "max"), seed=3,
        directory=directory, project_name="p", checkpoint="every_epoch",
        early_stopping=None, refit=False, verbose=0, tensorboard_dir=None,
        isolate_trials=True)
    callbacks = [KillOnce(os.path.join(directory, "killed"))] if kill else []
    tuner.search(x, y, validation_split=0.25, epochs=epochs, batch_size=30,
        callbacks=callbacks)
    (result,) = tuner.results()
    weights = np.concatenate([w.ravel() for w in tuner.best_model().get_weights()])
    print(json.dumps({"best": result.best_epoch, "epochs": result.epochs_run,
        "weights": [float(weights.sum()), float((weights ** 2).sum())]}))


if __name__ == "__main__":
    main()
"""


@pytest.mark.slow  # about 25 s; the same kill without isolation is in test_resume
def test_an_isolated_trial_resumed_after_its_best_epoch_keeps_that_epochs_weights(
    tmp_path,
):
    # The trial's process wrote its current (last) weights over the best
    # epoch's when the best came before the resume.
    import signal

    from conftest import run_python

    script = tmp_path / "search.py"
    script.write_text(ISOLATED_SEARCH)
    records = {}
    for kill in ("0", "1"):
        args = [str(script), str(tmp_path / f"kill{kill}"), "3", kill]
        if kill == "1":
            (tmp_path / "kill1").mkdir()
            assert run_python(args).returncode == -signal.SIGKILL
        done = run_python(args)
        assert done.returncode == 0, done.stderr[-3000:]
        records[kill] = json.loads(done.stdout.strip().splitlines()[-1])
    # Epoch 1 trains alike in both (seeded); it is the best of the three.
    assert records["0"]["best"] == records["1"]["best"] == 0
    assert records["1"]["epochs"] == 3
    assert records["1"]["weights"] == pytest.approx(records["0"]["weights"], rel=1e-6)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc (Linux)")
def test_a_killed_search_leaves_no_trial_process_running(tmp_path):
    # SIGKILL of the search left its trial's process training on, writing
    # into the project beside the search that resumed it.
    import subprocess
    import sys
    import time

    script = tmp_path / "search.py"
    script.write_text(ISOLATED_SEARCH)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    search = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path), "1000", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    record = tmp_path / "p" / "trial_0000" / "last.json"
    deadline = time.monotonic() + 120
    while not record.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    children = [
        int(pid)
        for pid in subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(search.pid)],
            capture_output=True,
            text=True,
        ).stdout.split()
    ]
    search.kill()
    search.wait()
    assert record.exists() and children
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_running(p) for p in children):
        time.sleep(0.2)
    assert not any(_running(p) for p in children)
    epochs = json.loads(record.read_text())["epochs"]
    time.sleep(2)
    assert json.loads(record.read_text())["epochs"] == epochs


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
