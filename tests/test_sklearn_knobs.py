"""scikit-learn habits: epochs in a param_grid, and a grid too large to mean."""

from __future__ import annotations

import pytest

import keras_hpo


def test_epochs_in_a_param_grid_is_each_trials_epochs(tmp_path, tiny_classification):
    x, y = tiny_classification
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=3),
        param_grid={"epochs": [1, 3], "batch_size": [50]},
        early_stopping=None,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    assert len(tuner.grid) == 2
    tuner.search(x, y, validation_split=0.25, epochs=10)
    table = tuner.cv_results_
    assert table["param_epochs"] == [1, 3]
    assert table["epochs_run"] == [1, 3]
    # The refit trains the best trial's chosen epochs, not its grid value.
    best = tuner.best_result()
    assert tuner.refitted.saved()["epochs"] == best.best_epoch + 1


def test_a_grid_of_default_ranges_over_10000_points_asks_what_is_meant(tmp_path):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=10, learning_rate=[1e-3, 1e-2], dropout=0.0
    )
    with pytest.raises(ValueError) as info:
        keras_hpo.GridSearch(hypermodel, directory=str(tmp_path))
    message = str(info.value)
    assert "`max_trials`" in message and "combinations, more than 10,000" in message
    assert "units (" in message  # the knob that made it large
    assert "param_grid=" in message
    # Asked for: the first max_trials combinations, or a param_grid.
    tuner = keras_hpo.GridSearch(
        hypermodel, max_trials=3, directory=str(tmp_path), project_name="capped"
    )
    assert len(tuner.grid) > 10_000 and tuner.expected_trials == 3
    keras_hpo.GridSearch(
        hypermodel,
        param_grid={"units": [32, 64]},
        directory=str(tmp_path),
        project_name="grid",
    )
