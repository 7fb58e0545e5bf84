"""Habits users bring: epochs in a param_grid, grids, trial folders in order."""

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


def test_trial_folders_sort_in_trial_order_whatever_max_trials_is(
    tmp_path, tiny_classification
):
    x, y = tiny_classification

    def search(trials: int) -> keras_hpo.RandomSearch:
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3, batch_size=100, num_layers=1),
            max_trials=trials,
            seed=0,
            refit=False,
            directory=str(tmp_path),
            verbose=0,
            tensorboard_dir=None,
        )
        tuner.search(x, y, validation_split=0.25, epochs=1)
        return tuner

    search(9)
    tuner = search(11)  # resumed with more trials: the IDs keep their width
    table = tuner.cv_results_
    assert table["trial_id"] == [f"{n:04d}" for n in range(11)]
    folders = sorted(p.name for p in tmp_path.glob("*/trial_*"))
    assert folders == [f"trial_{n:04d}" for n in range(11)]
    assert table["number"] == list(range(1, 12))
