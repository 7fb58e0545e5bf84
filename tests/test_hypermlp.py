"""HyperMLP builds the right model for each task, knob form and hook."""

from __future__ import annotations

import keras
import keras_tuner
import numpy as np
import pytest
from scipy import stats

import keras_hpo
from keras_hpo.hypermodels import KNOBS

H = keras_tuner.engine.hyperparameters


def space(hypermodel) -> dict:
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return {h.name: h for h in hp.space}


@pytest.mark.parametrize(
    ("task", "kwargs", "activation", "loss", "metric", "width"),
    [
        (
            "classification",
            {"num_classes": 7},
            "softmax",
            "sparse_categorical_crossentropy",
            "accuracy",
            7,
        ),
        ("binary", {}, "sigmoid", "binary_crossentropy", "accuracy", 1),
        ("regression", {}, "linear", "mean_squared_error", "mae", 1),
        ("regression", {"output_dim": 3}, "linear", "mean_squared_error", "mae", 3),
    ],
)
def test_each_task_builds_its_head_loss_and_metric(
    task, kwargs, activation, loss, metric, width
):
    hypermodel = keras_hpo.HyperMLP(task, input_shape=(5,), **kwargs)
    model = hypermodel.build(keras_tuner.HyperParameters())
    head = model.get_layer("output")
    assert head.activation.__name__ == activation
    assert model.output_shape == (None, width)
    assert model.loss == loss
    x = np.zeros((4, 5), "float32")
    y = np.zeros((4, width), "float32") if task == "regression" else np.zeros(4)
    logged = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logged) == {"loss", metric}


def test_default_space_matches_the_specification():
    knobs = space(keras_hpo.HyperMLP(num_classes=10))
    assert (knobs["num_layers"].min_value, knobs["num_layers"].max_value) == (1, 4)
    units = knobs["units"]
    assert (units.min_value, units.max_value, units.sampling) == (16, 512, "log")
    dropout = knobs["dropout"]
    assert (dropout.min_value, dropout.max_value, dropout.sampling) == (
        0.0,
        0.5,
        "linear",
    )
    assert list(knobs["activation"].values) == ["relu", "tanh", "gelu"]
    lr = knobs["learning_rate"]
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-1, "log")
    assert (
        isinstance(knobs["optimizer"], H.Fixed) and knobs["optimizer"].value == "adam"
    )
    assert isinstance(knobs["batch_size"], H.Fixed) and knobs["batch_size"].value == 32


@pytest.mark.parametrize(
    ("spec", "kind", "check"),
    [
        (64, H.Fixed, lambda h: h.value == 64),
        ([32, 64], H.Choice, lambda h: list(h.values) == [32, 64]),
        (
            (8, 64),
            H.Int,
            lambda h: (h.min_value, h.max_value, h.sampling) == (8, 64, "log"),
        ),
        ((8, 64, 8), H.Int, lambda h: (h.step, h.sampling) == (8, "linear")),
        (H.Int("width", 4, 12, step=4), H.Int, lambda h: h.name == "width"),
        (stats.randint(8, 65), H.Int, lambda h: (h.min_value, h.max_value) == (8, 64)),
        (np.array([16, 32]), H.Choice, lambda h: list(h.values) == [16, 32]),
    ],
)
def test_a_knob_accepts_every_form(spec, kind, check):
    template = keras_hpo.HyperMLP(num_classes=3, units=spec).templates["units"]
    assert isinstance(template, kind)
    assert check(template)


def test_float_knobs_from_distributions_and_steps():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3,
        dropout=stats.uniform(0.1, 0.3),
        learning_rate=stats.loguniform(1e-3, 1e-1),
    )
    dropout, lr = (hypermodel.templates[k] for k in ("dropout", "learning_rate"))
    assert (dropout.min_value, dropout.max_value) == pytest.approx((0.1, 0.4))
    assert (lr.min_value, lr.max_value, lr.sampling) == pytest.approx(
        (1e-3, 1e-1, "log")
    )
    stepped = keras_hpo.HyperMLP(num_classes=3, dropout=(0.0, 0.5, 0.25))
    grid = keras_hpo.HyperGrid([stepped.templates["dropout"]])
    assert [values["dropout"] for values in grid] == [0.0, 0.25, 0.5]


def test_units_per_layer_are_conditional_on_depth():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, num_layers=(1, 3), units_per_layer=True
    )
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    conditions = {
        h.name: [c.values for c in h.conditions]
        for h in hp.space
        if h.name.startswith("units")
    }
    assert conditions == {
        "units_0": [[1, 2, 3]],
        "units_1": [[2, 3]],
        "units_2": [[3]],
    }
    hp.values.update({"num_layers": 2, "units_0": 16, "units_1": 48})
    model = keras_hpo.HyperMLP(
        num_classes=3, input_shape=(4,), num_layers=(1, 3), units_per_layer=True
    ).build(hp)
    assert [model.get_layer(f"dense_{i}").units for i in range(2)] == [16, 48]


def test_images_are_flattened_and_standardised_with_statistics_from_adapt():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(50, 28, 28)).astype("float32")
    hypermodel = keras_hpo.HyperMLP(num_classes=10, standardize=True, num_layers=1)
    assert not hypermodel.ready
    with pytest.raises(ValueError, match="input_shape"):
        hypermodel.build(keras_tuner.HyperParameters())
    hypermodel.adapt(x)
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.input_shape == (None, 28, 28)
    assert model.get_layer("flatten") is not None
    norm = model.get_layer("standardize")
    flat = x.reshape(50, -1)
    np.testing.assert_allclose(np.ravel(norm.mean), flat.mean(0), rtol=1e-4)
    np.testing.assert_allclose(np.ravel(norm.variance), flat.var(0), rtol=1e-3)
    out = keras.Model(model.input, norm.output)(x)
    np.testing.assert_allclose(np.asarray(out).mean(0), 0, atol=1e-3)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("adam", keras.optimizers.Adam),
        ("sgd", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
        ("adamw", keras.optimizers.AdamW),
    ],
)
def test_optimizers_and_learning_rate(name, cls):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, input_shape=(4,), optimizer=name, learning_rate=0.02
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert type(model.optimizer) is cls
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_linear_activation_is_allowed_and_used():
    hypermodel = keras_hpo.HyperMLP(
        "regression", input_shape=(1,), activation="linear", num_layers=2
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.get_layer("dense_1").activation.__name__ == "linear"


def test_fit_applies_the_batch_size_hyperparameter():
    hypermodel = keras_hpo.HyperMLP(num_classes=2, input_shape=(3,), batch_size=25)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    steps = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps.append(batch)

    x, y = np.zeros((100, 3), "float32"), np.zeros(100)
    hypermodel.fit(hp, model, x, y, epochs=1, verbose=0, callbacks=[Count()])
    assert len(steps) == 4  # 100 samples / batch_size 25


def test_knob_names_are_the_documented_ones():
    assert list(KNOBS) == [
        "num_layers",
        "units",
        "dropout",
        "activation",
        "learning_rate",
        "optimizer",
        "batch_size",
    ]
