"""The smoke subset every Keras backend must pass: TensorFlow, JAX, PyTorch.

Each test runs on the backend Keras loaded (``KERAS_BACKEND``). CI runs this
file, with ``tests/test_fused_model.py``, on JAX in an environment without
TensorFlow and on PyTorch, each in its own fresh virtual environment
(``.ci/backends``); the default run (TensorFlow) covers the same ground in
depth elsewhere, so the ``backends`` marker keeps this file out of it. The
last test runs one seeded search on all three backends, in subprocesses, and
needs them all installed.

Run it by hand with ``KERAS_BACKEND=jax python -m pytest -m backends``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest
from conftest import REPO
from tb_reading import read_logs
from test_resume import Run
from test_resume import ended_trials

import keras_hpo

pytestmark = [
    pytest.mark.backends,
    pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning:keras_tuner"),
]

BACKENDS = ("tensorflow", "jax", "torch")


def mlp(**knobs) -> keras_hpo.HyperMLP:
    settings = {
        "num_classes": 10,
        "num_layers": [1, 2],
        "units": [16, 32],
        "dropout": [0.0, 0.1],
        "activation": ["relu", "tanh"],
        "learning_rate": [1e-3, 1e-2],
        "optimizer": ["adam"],
        "batch_size": [32],
    }
    settings.update(knobs)
    return keras_hpo.HyperMLP(**settings)


def test_keras_runs_on_the_backend_asked_for():
    wanted = os.environ.get("KERAS_BACKEND")
    assert wanted in BACKENDS, (
        f"KERAS_BACKEND={wanted!r}: run this file with KERAS_BACKEND set to one "
        f"of {', '.join(BACKENDS)}"
    )
    assert keras.backend.backend() == wanted
    if os.environ.get("KERAS_HPO_WITHOUT_TENSORFLOW") == "1":
        assert importlib.util.find_spec("tensorflow") is None


def test_a_grid_search_stops_early_and_tensorboard_reads_its_curves(tmp_path, digits):
    x, x_val, y, y_val = digits
    # A vanishing learning rate: val_loss never improves by 1e-3, so the best
    # epoch is the first and patience 2 ends every trial after epoch 3.
    tuner = keras_hpo.GridSearch(
        mlp(num_layers=1, units=16, dropout=0.0, activation="relu"),
        param_grid={"learning_rate": [1e-12, 1e-11]},
        objective="val_loss",
        early_stopping=(2, 1e-3),
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=20)
    results = tuner.results()
    assert [r.values["learning_rate"] for r in results] == [1e-12, 1e-11]
    assert all(r.status == keras_hpo.TrialStatus.STOPPED_EARLY for r in results)
    assert [r.epochs_run for r in results] == [3, 3]
    scalars, _ = read_logs(tuner.tensorboard_dir)
    for r in results:
        curve = scalars[f"trial_{r.trial_id}/validation"]["epoch_loss"]
        assert [step for step, _ in curve] == [0, 1, 2]
        np.testing.assert_allclose(
            [value for _, value in curve], r.history["val_loss"], rtol=1e-6
        )


@pytest.mark.parametrize("strategy", ["random", "bayesian"])
def test_a_search_finds_its_trials_and_best_model_scores_as_recorded(
    tmp_path, digits, strategy
):
    x, x_val, y, y_val = digits
    cls = {"random": keras_hpo.RandomSearch, "bayesian": keras_hpo.BayesianSearch}
    tuner = cls[strategy](
        mlp(),
        max_trials=4,
        seed=3,
        directory=tmp_path,
        verbose=0,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=3)
    results = tuner.results()
    assert len(results) == 4
    assert len({json.dumps(r.values, sort_keys=True) for r in results}) == 4
    assert all(r.status == keras_hpo.TrialStatus.COMPLETED for r in results)
    # The best epoch's weights come back: the model scores what was recorded.
    model = tuner.best_model()
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    assert accuracy == pytest.approx(tuner.best_score_, abs=1e-6)


def test_a_killed_search_resumes_and_loses_nothing(tmp_path):
    run = Run(tmp_path, 3, "best", epochs=2)
    run.kill_after_first_trial(0.0)
    assert run.process.returncode == -signal.SIGKILL, run.lines[-20:]
    done = Run(tmp_path, 3, "best", epochs=2)
    assert done.finish() == 0, "\n".join(done.lines[-30:])
    assert done.lines[-1] == "DONE 3"
    assert any(line.startswith("Reloaded project ") for line in done.lines)
    results = ended_trials(tmp_path / "killed")
    assert [r["number"] for r in results] == [1, 2, 3]
    assert all(r["status"] == "completed" for r in results)


def test_cross_validation_keeps_every_fold(tmp_path, digits):
    x, _, y, _ = digits
    tuner = keras_hpo.RandomSearch(
        mlp(), max_trials=2, seed=1, cv=3, directory=tmp_path, verbose=0
    )
    tuner.search(x, y, epochs=2)
    table = tuner.cv_results_
    assert len(table["params"]) == 2
    folds = np.array([table[f"split{k}_test_score"] for k in range(3)])
    np.testing.assert_allclose(folds.mean(axis=0), table["mean_test_score"])
    assert tuner.predict(x[:5]).shape == (5,)


def test_a_fused_search_trains_its_trials_as_one_model(tmp_path, digits, capsys):
    x, x_val, y, y_val = digits
    tuner = keras_hpo.RandomSearch(
        mlp(num_layers=2),
        max_trials=4,
        seed=2,
        fuse=4,
        directory=tmp_path,
        refit=False,
    )
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=3)
    assert "run one by one" not in capsys.readouterr().out
    results = tuner.results()
    assert len(results) == 4
    assert all(r.fused_with is not None and len(r.fused_with) >= 2 for r in results)
    assert all(len(r.history["val_accuracy"]) == 3 for r in results)
    # Each trial learned on its own: better than chance (10 classes).
    assert max(r.score for r in results) > 0.5
    model = tuner.best_model()
    _, accuracy = model.evaluate(x_val, y_val, verbose=0)
    assert accuracy == pytest.approx(tuner.best_score_, abs=1e-6)


SEEDED = """
import json, sys
import keras, keras_hpo
from sklearn.datasets import load_digits

class Scored(keras.callbacks.Callback):
    # Replaces val_accuracy by a function of the trial's values before the
    # search's own callbacks read it: the strategies see the same scores on
    # every backend, so any difference in what they draw is theirs.
    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        v = self.values
        logs["val_accuracy"] = (
            1.0 - abs(v["units"] - 40) / 100 - abs(v["dropout"] - 0.2)
            - (0.1 if v["activation"] == "tanh" else 0.0)
        )

class ScoredMLP(keras_hpo.HyperMLP):
    def fit(self, hp, model, *args, callbacks=None, **kwargs):
        scored = [Scored(dict(hp.values)), *(callbacks or [])]
        return super().fit(hp, model, *args, callbacks=scored, **kwargs)

x, y = load_digits(return_X_y=True)
x = (x[:80] / 16).astype("float32")
y = y[:80]
space = dict(num_classes=10, num_layers=1, units=(8, 64), dropout=(0.0, 0.5),
             activation=["relu", "tanh"], learning_rate=[1e-3])
drawn = {"backend": keras.backend.backend()}
for name, cls in [("random", keras_hpo.RandomSearch),
                  ("bayesian", keras_hpo.BayesianSearch)]:
    tuner = cls(ScoredMLP(**space), max_trials=6, seed=5, directory=sys.argv[1],
                project_name=name, verbose=0, refit=False, early_stopping=None)
    tuner.search(x, y, validation_split=0.25, epochs=1)
    drawn[name] = [r.values for r in tuner.results()]
print("DRAWN " + json.dumps(drawn, sort_keys=True))
"""


def test_a_seeded_search_draws_the_same_configurations_on_every_backend(tmp_path):
    missing = [b for b in BACKENDS if importlib.util.find_spec(b) is None]
    assert not missing, (
        f"this test compares all three backends; {', '.join(missing)} not "
        "installed here (pip install -e '.[jax,torch,test]')"
    )
    drawn = {}
    for backend in BACKENDS:
        process = subprocess.run(
            [sys.executable, "-c", SEEDED, str(tmp_path / backend)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        lines = [x for x in process.stdout.splitlines() if x.startswith("DRAWN ")]
        assert process.returncode == 0 and lines, process.stderr[-3000:]
        drawn[backend] = json.loads(lines[-1].removeprefix("DRAWN "))
        assert drawn[backend].pop("backend") == backend
    reference = drawn["tensorflow"]
    assert len(reference["random"]) == len(reference["bayesian"]) == 6
    # Of 6 Bayesian trials the Gaussian process chose the last 3 (the first
    # 3 are its quasi-random initial design, max_trials // 2).
    assert reference["random"] != reference["bayesian"]
    for backend in ("jax", "torch"):
        assert drawn[backend] == reference, backend


def test_the_device_is_named_as_the_backend_sees_it(digits):
    from keras_hpo.callbacks import DeviceProbe

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        on_gpu = bool(tf.config.list_physical_devices("GPU"))
    elif backend == "jax":
        import jax

        on_gpu = jax.devices()[0].platform != "cpu"
    else:
        import torch

        on_gpu = torch.cuda.is_available()
    probe = DeviceProbe()
    assert probe.name().startswith("GPU: " if on_gpu else "CPU (")
    probe.reset_peak()
    x, _, y, _ = digits
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    peak = probe.peak_bytes()
    if on_gpu and backend != "jax":  # JAX cannot reset its peak counter
        assert peak > 0
    else:
        assert peak is None


def test_a_table_of_numbers_works_and_text_needs_tensorflow(tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=160), "b": rng.normal(size=160)})
    frame.loc[::7, "b"] = np.nan  # filled by the model's own median layer
    y = (frame["a"] > 0).astype("int64")
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2, preprocessing="auto"),
        max_trials=1,
        seed=0,
        directory=tmp_path,
        verbose=0,
    )
    tuner.search(frame, y, validation_split=0.25, epochs=2)
    assert tuner.predict(frame[:4]).shape == (4,)
    frame["c"] = rng.choice(["x", "y"], size=160)
    text = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2, preprocessing="auto"),
        max_trials=1,
        directory=tmp_path,
        project_name="text",
        verbose=0,
    )
    if keras.backend.backend() == "tensorflow":
        text.search(frame, y, validation_split=0.25, epochs=1)
        assert len(text.results()) == 1
    else:
        with pytest.raises(keras_hpo.ConfigError, match="text columns \\['c'\\]"):
            text.search(frame, y, validation_split=0.25, epochs=1)


def test_the_backends_benchmark_runs_on_the_installed_backends(tmp_path):
    installed = [b for b in BACKENDS if importlib.util.find_spec(b) is not None]
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "backends.py"),
            "--quick",
            f"--backends={','.join(installed)}",
            f"--out={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "backends.json").read_text())
    assert list(report["summary"]) == installed
    assert len(report["values"]) == 2
    for backend in installed:
        arms = report["rounds"][0][backend]["arms"]
        assert [arm["trials"] for arm in arms.values()] == [2, 2, 2]
        summary = report["summary"][backend]
        assert summary["search_over_fit"]["median"] > 1.0
        assert 0.0 < summary["best_val_accuracy"]["median"] <= 1.0
        assert f"| {backend} (" in (tmp_path / "backends.md").read_text()
