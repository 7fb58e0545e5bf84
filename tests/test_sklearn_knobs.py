"""scikit-learn habits: epochs and a subclass's hyperparameters in a param_grid.

And a grid too large to mean.
"""

from __future__ import annotations

import keras
import pytest
from keras_tuner.engine import hyperparameters as kt_hp

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


class _Hooked(keras_hpo.HyperMLP):
    """Declares batch_norm where the layer is built and lr_decay in fit."""

    def hidden_block(self, hp, x, index):
        x = super().hidden_block(hp, x, index)
        if hp.Boolean("batch_norm", default=False):
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        return x

    def fit(self, hp, model, *args, **kwargs):
        decay = hp.Choice("lr_decay", [1.0, 0.5], default=1.0)
        model.optimizer.learning_rate.assign(
            float(model.optimizer.learning_rate) * decay
        )
        return super().fit(hp, model, *args, **kwargs)


def test_a_param_grid_names_what_a_subclass_declares_in_its_hooks(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    hypermodel = _Hooked(num_classes=3, num_layers=1, units=8, dropout=0.0)
    tuner = keras_hpo.GridSearch(
        hypermodel,
        param_grid={"batch_norm": [True, False], "lr_decay": [1.0, 0.5]},
        keep_top_k=4,  # every trial's weights, to look at each model
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    assert len(tuner.grid) == 4
    tuner.search(x, y, validation_split=0.25, epochs=1)
    params = tuner.cv_results_["params"]
    assert sorted((p["batch_norm"], p["lr_decay"]) for p in params) == [
        (False, 0.5),
        (False, 1.0),
        (True, 0.5),
        (True, 1.0),
    ]
    for result in tuner.results():
        model = tuner.load_model(tuner.oracle.get_trial(result.trial_id))
        layers = {type(layer).__name__ for layer in model.layers}
        assert ("BatchNormalization" in layers) == result.values["batch_norm"]


def test_a_name_no_hook_declares_is_refused_with_the_known_names(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    tuner = keras_hpo.GridSearch(
        _Hooked(num_classes=3, num_layers=1, units=8, dropout=0.0),
        param_grid={"batchnorm": [True, False]},
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    with pytest.raises(ValueError) as info:
        tuner.search(x, y, validation_split=0.25, epochs=1)
    message = str(info.value)
    assert "`param_grid`" in message and "'batchnorm' is neither a knob" in message
    assert "batch_norm" in message and "lr_decay" in message
    assert tuner.results() == []  # refused before any trial
    # A plain HyperMLP still refuses a name that is not a knob, when made.
    with pytest.raises(ValueError, match="not a hyperparameter of this hypermodel"):
        keras_hpo.GridSearch(
            keras_hpo.HyperMLP(num_classes=3), param_grid={"batch_norm": [True]}
        )


_STEPS: list[int] = []


class _CountSteps(keras.callbacks.Callback):
    """Counts each fit's training steps (in a list: trials copy callbacks)."""

    def on_train_begin(self, logs=None):
        _STEPS.append(0)

    def on_train_batch_end(self, batch, logs=None):
        _STEPS[-1] += 1


def _small_search(tmp_path, max_trials: int) -> keras_hpo.RandomSearch:
    """A seeded search of one-layer MLPs in the project ``given``."""
    return keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=8),
        max_trials=max_trials,
        seed=1,
        directory=str(tmp_path),
        project_name="given",
        refit=False,
        verbose=0,
        tensorboard_dir=None,
    )


def test_a_batch_size_given_to_search_is_the_size_each_trial_records(
    tmp_path, tiny_classification
):
    # HyperMLP's batch_size knob is fixed at 32 unless told otherwise; a size
    # given to search() is the one trials train at, so it is the one they
    # record (cv_results_, best_params_, the saved project), not 32.
    _STEPS.clear()
    tuner = _small_search(tmp_path, max_trials=2)
    tuner.search(
        *tiny_classification,
        validation_split=0.2,
        epochs=1,
        batch_size=40,
        callbacks=[_CountSteps()],
    )
    assert _STEPS == [4, 4]  # 160 training rows at 40, not 5 steps at 32
    assert tuner.cv_results_["param_batch_size"] == [40, 40]
    assert tuner.best_params_["batch_size"] == 40
    saved = keras_hpo.load(str(tmp_path / "given"))
    assert saved.cv_results_["param_batch_size"] == [40, 40]
    # Resumed by the same script (the hypermodel declares 32 again) without a
    # size: not refused as another search; the knob's 32 trains and is
    # recorded for the new trial, the earlier ones keep theirs.
    _STEPS.clear()
    resumed = _small_search(tmp_path, max_trials=3)
    resumed.search(
        *tiny_classification, validation_split=0.2, epochs=1, callbacks=[_CountSteps()]
    )
    assert _STEPS == [5]
    assert resumed.cv_results_["param_batch_size"] == [40, 40, 32]


@pytest.mark.parametrize(
    ("hypermodel", "problem"),
    [
        (
            keras_hpo.HyperMLP(num_classes=3, units_per_layer=True),
            "HyperMLP(units_per_layer=True) reads each hidden layer's width as "
            "units_0, units_1, ..., so a grid's 'units' would reach no layer",
        ),
        (
            keras_hpo.HyperMLP(num_classes=3, units=kt_hp.Int("width", 16, 64)),
            "this HyperMLP reads the knob units as the hyperparameter 'width'",
        ),
    ],
    ids=["units_per_layer", "named"],
)
def test_a_grid_entry_the_model_would_not_read_is_refused(
    tmp_path, hypermodel, problem
):
    # Every grid point built the same model under a different label.
    with pytest.raises(keras_hpo.ConfigError) as info:
        keras_hpo.GridSearch(
            hypermodel, param_grid={"units": [32, 64]}, directory=tmp_path
        )
    assert str(info.value).startswith(f"`param_grid`: {problem}")
