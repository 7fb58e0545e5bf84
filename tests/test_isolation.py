"""``isolate_trials=True``: each trial in its own process, with the same outcome."""

from __future__ import annotations

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
