"""HyperMLP builds and compiles the right model for each task, knob form and hook."""

from __future__ import annotations

import keras
import keras_tuner
import numpy as np
import pytest
from scipy import stats

import keras_hpo
from keras_hpo.hypermodels import KNOBS

H = keras_tuner.engine.hyperparameters


def declared(hypermodel) -> keras_tuner.HyperParameters:
    """The search space a tuner sees: every knob declared on a fresh hp."""
    hp = keras_tuner.HyperParameters()
    hypermodel.declare_hyperparameters(hp)
    return hp


def space(hypermodel) -> dict:
    return {h.name: h for h in declared(hypermodel).space}


def build(hypermodel, **values) -> keras.Model:
    """Builds one trial's model with the given knob values (the rest default)."""
    hp = declared(hypermodel)
    hp.values.update(values)
    return hypermodel.build(hp)


def dense_layers(model) -> list:
    return [layer for layer in model.layers if layer.name.startswith("dense_")]


# -- tasks: head, loss, metric, width ----------------------------------------------


@pytest.mark.parametrize(
    ("task", "kwargs", "activation", "loss", "metric", "width", "objective"),
    [
        (
            "classification",
            {"num_classes": 7},
            "softmax",
            "sparse_categorical_crossentropy",
            "accuracy",
            7,
            "val_accuracy",
        ),
        (
            "classification",
            {"num_classes": 2},
            "softmax",
            "sparse_categorical_crossentropy",
            "accuracy",
            2,
            "val_accuracy",
        ),
        (
            "binary",
            {},
            "sigmoid",
            "binary_crossentropy",
            "accuracy",
            1,
            "val_accuracy",
        ),
        (
            "regression",
            {},
            "linear",
            "mean_squared_error",
            "mae",
            1,
            "val_loss",
        ),
        (
            "regression",
            {"output_dim": 3},
            "linear",
            "mean_squared_error",
            "mae",
            3,
            "val_loss",
        ),
    ],
)
def test_each_task_builds_its_head_loss_and_metric(
    task, kwargs, activation, loss, metric, width, objective
):
    hypermodel = keras_hpo.HyperMLP(task, input_shape=(5,), num_layers=1, **kwargs)
    assert hypermodel.default_objective == objective
    model = hypermodel.build(keras_tuner.HyperParameters())
    head = model.get_layer("output")
    assert isinstance(head, keras.layers.Dense)
    assert head.units == width
    assert head.activation.__name__ == activation
    assert model.input_shape == (None, 5)
    assert model.output_shape == (None, width)
    config = model.get_compile_config()
    assert config["loss"] == loss
    assert config["metrics"] == [metric]
    # The compiled model logs exactly the loss and the task's metric.
    x = np.zeros((4, 5), "float32")
    y = np.zeros((4, width), "float32") if task == "regression" else np.zeros(4)
    logged = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logged) == {"loss", metric}


def test_classification_outputs_are_probabilities_over_the_classes():
    hypermodel = keras_hpo.HyperMLP(num_classes=4, input_shape=(6,), num_layers=1)
    model = hypermodel.build(keras_tuner.HyperParameters())
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    out = np.asarray(model(x))
    assert out.shape == (8, 4)
    np.testing.assert_allclose(out.sum(axis=1), np.ones(8), rtol=1e-5)
    assert (out > 0).all()


def test_task_name_is_case_insensitive():
    assert keras_hpo.HyperMLP("Regression").task == "regression"


# -- inputs: flattening and standardisation ----------------------------------------


def test_multi_dimensional_inputs_are_flattened():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=10, input_shape=(28, 28), num_layers=1, units=32
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.input_shape == (None, 28, 28)
    assert isinstance(model.get_layer("flatten"), keras.layers.Flatten)
    assert model.get_layer("flatten").output.shape == (None, 784)
    assert tuple(model.get_layer("dense_0").kernel.shape) == (784, 32)
    assert model.output_shape == (None, 10)
    x = np.zeros((3, 28, 28), "float32")
    assert np.asarray(model(x)).shape == (3, 10)


def test_flat_inputs_get_no_flatten_layer():
    model = keras_hpo.HyperMLP(num_classes=3, input_shape=(8,), num_layers=1).build(
        keras_tuner.HyperParameters()
    )
    names = [layer.name for layer in model.layers]
    assert names == ["inputs", "dense_0", "output"]


def test_adapt_takes_the_input_shape_from_the_data():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, num_layers=1)
    assert hypermodel.input_shape is None
    assert not hypermodel.ready
    assert hypermodel.adapt(np.zeros((10, 4, 3), "float32")) is hypermodel
    assert hypermodel.input_shape == (4, 3)
    assert hypermodel.ready
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.input_shape == (None, 4, 3)


def test_standardize_adds_a_normalization_layer_with_statistics_from_adapt():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(50, 28, 28)).astype("float32")
    x[:, :, 0] = 7.0  # a constant column: variance 0
    hypermodel = keras_hpo.HyperMLP(num_classes=10, standardize=True, num_layers=1)
    hypermodel.adapt(x)
    model = hypermodel.build(keras_tuner.HyperParameters())
    norm = model.get_layer("standardize")
    assert isinstance(norm, keras.layers.Normalization)
    # Flattened first, then standardised feature by feature.
    names = [layer.name for layer in model.layers]
    assert names == ["inputs", "flatten", "standardize", "dense_0", "output"]
    flat = x.reshape(50, -1).astype("float64")
    mean, variance = np.ravel(norm.mean), np.ravel(norm.variance)
    assert mean.shape == variance.shape == (784,)
    np.testing.assert_allclose(mean, flat.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(variance, flat.var(axis=0), rtol=1e-4)
    assert variance[0] == 0.0 and mean[0] == pytest.approx(7.0)
    standardised = np.asarray(keras.Model(model.input, norm.output)(x))
    varying = flat.var(axis=0) > 0
    np.testing.assert_allclose(standardised.mean(axis=0), 0.0, atol=1e-3)
    np.testing.assert_allclose(standardised.std(axis=0)[varying], 1.0, rtol=1e-3)


def test_standardisation_statistics_follow_the_data_given_to_adapt():
    hypermodel = keras_hpo.HyperMLP(
        "regression", input_shape=(2,), standardize=True, num_layers=1
    )
    hypermodel.adapt(np.array([[0.0, 10.0], [2.0, 30.0]], "float32"))
    norm = hypermodel.build(keras_tuner.HyperParameters()).get_layer("standardize")
    np.testing.assert_allclose(np.ravel(norm.mean), [1.0, 20.0])
    np.testing.assert_allclose(np.ravel(norm.variance), [1.0, 100.0])
    hypermodel.adapt(np.array([[4.0, 0.0], [8.0, 0.0], [6.0, 3.0]], "float32"))
    norm = hypermodel.build(keras_tuner.HyperParameters()).get_layer("standardize")
    np.testing.assert_allclose(np.ravel(norm.mean), [6.0, 1.0])
    np.testing.assert_allclose(np.ravel(norm.variance), [8.0 / 3.0, 2.0], rtol=1e-6)


def test_without_standardize_there_is_no_normalization_layer():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, num_layers=1)
    hypermodel.adapt(np.ones((5, 4), "float32"))
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert not any(isinstance(x, keras.layers.Normalization) for x in model.layers)


def test_building_without_input_shape_or_adapt_names_input_shape():
    hypermodel = keras_hpo.HyperMLP(num_classes=3)
    with pytest.raises(ValueError, match=r"`input_shape`") as info:
        hypermodel.build(keras_tuner.HyperParameters())
    message = str(info.value)
    assert "Received: input_shape=None" in message
    assert "input_shape=..." in message
    assert "hypermodel.adapt(x_train)" in message


def test_standardize_without_adapt_names_standardize():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, input_shape=(4,), standardize=True)
    assert not hypermodel.ready
    with pytest.raises(ValueError, match=r"`standardize`") as info:
        hypermodel.build(keras_tuner.HyperParameters())
    assert "hypermodel.adapt(x_train)" in str(info.value)


def test_adapt_refuses_data_of_another_shape():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, input_shape=(4,))
    with pytest.raises(ValueError, match=r"do not match input_shape=\(4,\)"):
        hypermodel.adapt(np.zeros((10, 5), "float32"))
    # As many values in another shape: the model then refused the data.
    with pytest.raises(ValueError, match=r"shape \(2, 2\) do not match input_s"):
        hypermodel.adapt(np.zeros((10, 2, 2), "float32"))
    with pytest.raises(ValueError, match=r"x\.reshape\(-1, 1\)"):
        hypermodel.adapt(np.zeros(10, "float32"))


# -- the default space -------------------------------------------------------------


def test_default_space_matches_the_specification():
    hp = declared(keras_hpo.HyperMLP(num_classes=10))
    knobs = {h.name: h for h in hp.space}
    # epochs is a hyperparameter only when given (search(epochs=) decides).
    assert list(knobs) == [k for k in KNOBS if k != "epochs"]
    assert all(not h.conditions for h in hp.space)

    num_layers = knobs["num_layers"]
    assert isinstance(num_layers, H.Int)
    assert (num_layers.min_value, num_layers.max_value) == (1, 4)
    assert num_layers.sampling == "linear"

    units = knobs["units"]
    assert isinstance(units, H.Int)
    assert (units.min_value, units.max_value, units.sampling) == (16, 512, "log")

    dropout = knobs["dropout"]
    assert isinstance(dropout, H.Float)
    assert (dropout.min_value, dropout.max_value) == (0.0, 0.5)
    assert (dropout.step, dropout.sampling) == (None, "linear")

    activation = knobs["activation"]
    assert isinstance(activation, H.Choice)
    assert list(activation.values) == ["relu", "tanh", "gelu"]

    lr = knobs["learning_rate"]
    assert isinstance(lr, H.Float)
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-1, "log")

    assert isinstance(knobs["optimizer"], H.Fixed)
    assert knobs["optimizer"].value == "adam"
    assert isinstance(knobs["batch_size"], H.Fixed)
    assert knobs["batch_size"].value == 32

    # The defaults a trial starts from, as the README lists them.
    assert hp.values == {
        "num_layers": 2,
        "units": 128,
        "dropout": 0.0,
        "activation": "relu",
        "learning_rate": 1e-3,
        "optimizer": "adam",
        "batch_size": 32,
    }


def test_the_default_trial_builds_the_documented_model():
    model = keras_hpo.HyperMLP(num_classes=10, input_shape=(64,)).build(
        keras_tuner.HyperParameters()
    )
    dense = dense_layers(model)
    assert [layer.units for layer in dense] == [128, 128]
    assert [layer.activation.__name__ for layer in dense] == ["relu", "relu"]
    assert not any(isinstance(x, keras.layers.Dropout) for x in model.layers)
    assert type(model.optimizer) is keras.optimizers.Adam
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_knob_names_are_the_documented_ones():
    assert list(KNOBS) == [
        "num_layers",
        "units",
        "dropout",
        "activation",
        "learning_rate",
        "optimizer",
        "batch_size",
        "epochs",
    ]


# -- every form of every knob ------------------------------------------------------

# (knob, spec, class of the declared hyperparameter, its name, attributes)
FORMS = [
    # fixed values
    ("num_layers", 3, H.Fixed, "num_layers", {"value": 3}),
    ("units", 64, H.Fixed, "units", {"value": 64}),
    ("dropout", 0.25, H.Fixed, "dropout", {"value": 0.25}),
    ("activation", "tanh", H.Fixed, "activation", {"value": "tanh"}),
    ("learning_rate", 0.02, H.Fixed, "learning_rate", {"value": 0.02}),
    ("optimizer", "sgd", H.Fixed, "optimizer", {"value": "sgd"}),
    ("batch_size", 64, H.Fixed, "batch_size", {"value": 64}),
    ("epochs", 5, H.Fixed, "epochs", {"value": 5}),
    # lists: a choice
    ("num_layers", [1, 3], H.Choice, "num_layers", {"values": [1, 3]}),
    ("units", [32, 64, 128], H.Choice, "units", {"values": [32, 64, 128]}),
    ("dropout", [0.0, 0.25], H.Choice, "dropout", {"values": [0.0, 0.25]}),
    (
        "activation",
        ["relu", "gelu"],
        H.Choice,
        "activation",
        {"values": ["relu", "gelu"]},
    ),
    (
        "learning_rate",
        [1e-3, 1e-2],
        H.Choice,
        "learning_rate",
        {"values": [1e-3, 1e-2]},
    ),
    ("optimizer", ["adam", "sgd"], H.Choice, "optimizer", {"values": ["adam", "sgd"]}),
    ("batch_size", [16, 128], H.Choice, "batch_size", {"values": [16, 128]}),
    # a one-value list is a fixed value
    ("units", [48], H.Fixed, "units", {"value": 48}),
    # (low, high): Int/Float, log scale for units and learning_rate only
    (
        "num_layers",
        (1, 4),
        H.Int,
        "num_layers",
        {"min_value": 1, "max_value": 4, "sampling": "linear"},
    ),
    (
        "units",
        (16, 512),
        H.Int,
        "units",
        {"min_value": 16, "max_value": 512, "sampling": "log"},
    ),
    (
        "dropout",
        (0.0, 0.5),
        H.Float,
        "dropout",
        {"min_value": 0.0, "max_value": 0.5, "sampling": "linear", "step": None},
    ),
    (
        "learning_rate",
        (1e-4, 1e-1),
        H.Float,
        "learning_rate",
        {"min_value": 1e-4, "max_value": 1e-1, "sampling": "log", "step": None},
    ),
    (
        "batch_size",
        (16, 128),
        H.Int,
        "batch_size",
        {"min_value": 16, "max_value": 128, "sampling": "linear"},
    ),
    # (low, high, step): an additive grid, even for log-scale knobs
    (
        "num_layers",
        (1, 5, 2),
        H.Int,
        "num_layers",
        {"min_value": 1, "max_value": 5, "step": 2, "sampling": "linear"},
    ),
    (
        "units",
        (16, 64, 16),
        H.Int,
        "units",
        {"min_value": 16, "max_value": 64, "step": 16, "sampling": "linear"},
    ),
    (
        "dropout",
        (0.0, 0.5, 0.1),
        H.Float,
        "dropout",
        {"min_value": 0.0, "max_value": 0.5, "step": 0.1, "sampling": "linear"},
    ),
    (
        "learning_rate",
        (0.01, 0.05, 0.01),
        H.Float,
        "learning_rate",
        {"min_value": 0.01, "max_value": 0.05, "step": 0.01, "sampling": "linear"},
    ),
    (
        "batch_size",
        (32, 128, 32),
        H.Int,
        "batch_size",
        {"min_value": 32, "max_value": 128, "step": 32},
    ),
    # a keras-tuner hyperparameter object keeps its own name
    (
        "num_layers",
        H.Int("depth", 1, 3),
        H.Int,
        "depth",
        {"min_value": 1, "max_value": 3},
    ),
    (
        "units",
        H.Int("width", 32, 256, step=32),
        H.Int,
        "width",
        {"min_value": 32, "max_value": 256, "step": 32},
    ),
    (
        "dropout",
        H.Float("rate", 0.0, 0.3, step=0.1),
        H.Float,
        "rate",
        {"min_value": 0.0, "max_value": 0.3, "step": 0.1},
    ),
    (
        "activation",
        H.Choice("act", ["relu", "selu"]),
        H.Choice,
        "act",
        {"values": ["relu", "selu"]},
    ),
    (
        "learning_rate",
        H.Float("lr", 1e-4, 1e-2, sampling="log"),
        H.Float,
        "lr",
        {"min_value": 1e-4, "max_value": 1e-2, "sampling": "log"},
    ),
    (
        "optimizer",
        H.Choice("opt", ["rmsprop", "adamw"]),
        H.Choice,
        "opt",
        {"values": ["rmsprop", "adamw"]},
    ),
    ("batch_size", H.Fixed("bs", 8), H.Fixed, "bs", {"value": 8}),
    # scipy.stats distributions, as in scikit-learn's param_distributions
    (
        "num_layers",
        stats.randint(1, 4),
        H.Int,
        "num_layers",
        {"min_value": 1, "max_value": 3},
    ),
    (
        "units",
        stats.randint(8, 65),
        H.Int,
        "units",
        {"min_value": 8, "max_value": 64},
    ),
    (
        "dropout",
        stats.uniform(0.1, 0.3),
        H.Float,
        "dropout",
        {"min_value": pytest.approx(0.1), "max_value": pytest.approx(0.4)},
    ),
    (
        "learning_rate",
        stats.loguniform(1e-4, 1e-1),
        H.Float,
        "learning_rate",
        {
            "min_value": pytest.approx(1e-4),
            "max_value": pytest.approx(1e-1),
            "sampling": "log",
        },
    ),
    (
        "batch_size",
        stats.randint(16, 129),
        H.Int,
        "batch_size",
        {"min_value": 16, "max_value": 128},
    ),
]


@pytest.mark.parametrize(
    ("knob", "spec", "kind", "name", "attributes"),
    FORMS,
    ids=[
        f"{knob}-{type(spec).__name__}-{i}" for i, (knob, spec, *_) in enumerate(FORMS)
    ],
)
def test_every_knob_accepts_every_form(knob, spec, kind, name, attributes):
    hypermodel = keras_hpo.HyperMLP(num_classes=3, **{knob: spec})
    declared_space = space(hypermodel)
    assert set(declared_space) == set(KNOBS) - {"epochs", knob} | {name}
    hyperparameter = declared_space[name]
    assert type(hyperparameter) is kind
    for attribute, expected in attributes.items():
        actual = getattr(hyperparameter, attribute)
        if isinstance(actual, tuple):
            actual = list(actual)
        assert actual == expected, attribute


def test_numpy_values_become_python_scalars():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3,
        units=np.array([16, 32]),
        dropout=np.float64(0.25),
        learning_rate=[np.float32(0.5), np.float64(0.25)],
        num_layers=(np.int64(1), np.int64(3)),
    )
    knobs = space(hypermodel)
    assert [type(v) for v in knobs["units"].values] == [int, int]
    assert list(knobs["units"].values) == [16, 32]
    assert type(knobs["dropout"].value) is float and knobs["dropout"].value == 0.25
    assert [type(v) for v in knobs["learning_rate"].values] == [float, float]
    assert type(knobs["num_layers"].min_value) is int


def test_a_stepped_range_enumerates_its_upper_bound():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, dropout=(0.0, 0.5, 0.1), learning_rate=(0.01, 0.05, 0.01)
    )
    templates = [hypermodel.templates[k] for k in ("dropout", "learning_rate")]
    grid = keras_hpo.HyperGrid(templates)
    assert sorted({v["dropout"] for v in grid}) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    assert sorted({v["learning_rate"] for v in grid}) == [0.01, 0.02, 0.03, 0.04, 0.05]
    assert len(grid) == 30


def test_a_range_includes_the_default_only_when_it_lies_inside():
    inside = space(keras_hpo.HyperMLP(num_classes=3, units=(64, 256)))["units"]
    assert inside.default == 128
    outside = space(keras_hpo.HyperMLP(num_classes=3, units=(16, 64)))["units"]
    assert outside.default == 16


@pytest.mark.parametrize(
    ("values", "check"),
    [
        ({"num_layers": 3}, lambda m: len(dense_layers(m)) == 3),
        ({"num_layers": 1}, lambda m: len(dense_layers(m)) == 1),
        (
            {"units": 48},
            lambda m: [layer.units for layer in dense_layers(m)] == [48, 48],
        ),
        (
            {"activation": "gelu"},
            lambda m: {x.activation.__name__ for x in dense_layers(m)} == {"gelu"},
        ),
        (
            {"dropout": 0.3},
            lambda m: (
                [
                    (x.name, x.rate)
                    for x in m.layers
                    if isinstance(x, keras.layers.Dropout)
                ]
                == [("dropout_0", 0.3), ("dropout_1", 0.3)]
            ),
        ),
        (
            {"dropout": 0.0},
            lambda m: not any(isinstance(x, keras.layers.Dropout) for x in m.layers),
        ),
        (
            {"learning_rate": 0.05},
            lambda m: float(m.optimizer.learning_rate) == pytest.approx(0.05),
        ),
        (
            {"optimizer": "rmsprop"},
            lambda m: type(m.optimizer) is keras.optimizers.RMSprop,
        ),
    ],
)
def test_the_trial_values_shape_the_model(values, check):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3,
        input_shape=(4,),
        num_layers=(1, 3),
        units=(16, 64),
        dropout=(0.0, 0.5),
        activation=["relu", "gelu"],
        learning_rate=(1e-3, 1e-1),
        optimizer=["adam", "rmsprop"],
    )
    model = build(hypermodel, **{"num_layers": 2, "units": 48, **values})
    assert check(model)


def test_a_users_hyperparameter_object_is_read_under_its_own_name():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3,
        input_shape=(4,),
        num_layers=H.Int("depth", 1, 3),
        units=H.Choice("width", [8, 24]),
    )
    model = build(hypermodel, depth=3, width=24)
    assert [layer.units for layer in dense_layers(model)] == [24, 24, 24]


# -- per-layer widths --------------------------------------------------------------


def conditions(hp) -> dict:
    return {
        h.name: [(c.name, list(c.values)) for c in h.conditions]
        for h in hp.space
        if h.name.startswith("units")
    }


@pytest.mark.parametrize(
    ("num_layers", "expected"),
    [
        (
            (1, 4),
            {
                "units_0": [("num_layers", [1, 2, 3, 4])],
                "units_1": [("num_layers", [2, 3, 4])],
                "units_2": [("num_layers", [3, 4])],
                "units_3": [("num_layers", [4])],
            },
        ),
        (
            [1, 3],
            {
                "units_0": [("num_layers", [1, 3])],
                "units_1": [("num_layers", [3])],
                "units_2": [("num_layers", [3])],
            },
        ),
        (
            (0, 2),
            {
                "units_0": [("num_layers", [1, 2])],
                "units_1": [("num_layers", [2])],
            },
        ),
        (
            2,
            {
                "units_0": [("num_layers", [2])],
                "units_1": [("num_layers", [2])],
            },
        ),
    ],
)
def test_units_per_layer_are_conditional_on_depth(num_layers, expected):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, num_layers=num_layers, units=(8, 64), units_per_layer=True
    )
    hp = declared(hypermodel)
    assert hypermodel.max_layers == len(expected)
    assert conditions(hp) == expected
    assert "units" not in {h.name for h in hp.space}
    for h in hp.space:
        if h.name.startswith("units_"):
            assert isinstance(h, H.Int)
            assert (h.min_value, h.max_value, h.sampling) == (8, 64, "log")


def test_units_per_layer_under_a_users_depth_hyperparameter():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, num_layers=H.Int("depth", 1, 2), units_per_layer=True
    )
    assert conditions(declared(hypermodel)) == {
        "units_0": [("depth", [1, 2])],
        "units_1": [("depth", [2])],
    }


def test_each_layer_gets_its_own_width():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3,
        input_shape=(4,),
        num_layers=(1, 3),
        units=(8, 64),
        units_per_layer=True,
    )
    model = build(hypermodel, num_layers=3, units_0=16, units_1=48, units_2=8)
    assert [layer.units for layer in dense_layers(model)] == [16, 48, 8]
    shallow = build(hypermodel, num_layers=1, units_0=40, units_1=48)
    assert [layer.units for layer in dense_layers(shallow)] == [40]


def test_units_per_layer_off_shares_one_width():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, num_layers=(1, 3))
    names = {h.name for h in declared(hypermodel).space}
    assert "units" in names
    assert not any(name.startswith("units_") for name in names)


# -- optimizers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("adam", keras.optimizers.Adam),
        ("sgd", keras.optimizers.SGD),
        ("rmsprop", keras.optimizers.RMSprop),
        ("adamw", keras.optimizers.AdamW),
        ("nadam", keras.optimizers.Nadam),
        ("SGD", keras.optimizers.SGD),
    ],
)
def test_optimizers_and_learning_rate(name, cls):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=3, input_shape=(4,), optimizer=name, learning_rate=0.02
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert type(model.optimizer) is cls
    assert float(model.optimizer.learning_rate) == pytest.approx(0.02)


def test_each_trial_gets_a_new_optimizer():
    hypermodel = keras_hpo.HyperMLP(num_classes=3, input_shape=(4,))
    first = hypermodel.build(keras_tuner.HyperParameters())
    second = hypermodel.build(keras_tuner.HyperParameters())
    assert first.optimizer is not second.optimizer


def test_linear_activation_is_allowed_and_used():
    hypermodel = keras_hpo.HyperMLP(
        "regression", input_shape=(1,), activation="linear", num_layers=2
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert [x.activation.__name__ for x in dense_layers(model)] == ["linear"] * 2


# -- fit-time knobs ----------------------------------------------------------------


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.per_epoch: list[int] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1


@pytest.mark.parametrize(("batch_size", "steps"), [(10, 10), (25, 4), (50, 2)])
def test_fit_applies_the_batch_size_hyperparameter(batch_size, steps):
    hypermodel = keras_hpo.HyperMLP(
        num_classes=2, input_shape=(3,), num_layers=1, batch_size=[10, 25, 50]
    )
    hp = declared(hypermodel)
    hp.values["batch_size"] = batch_size
    model = hypermodel.build(hp)
    counter = CountBatches()
    x, y = np.zeros((100, 3), "float32"), np.zeros(100, "int64")
    history = hypermodel.fit(hp, model, x, y, epochs=2, verbose=0, callbacks=[counter])
    assert counter.per_epoch == [steps, steps]
    assert len(history.history["loss"]) == 2


def test_an_explicit_batch_size_wins_over_the_knob():
    hypermodel = keras_hpo.HyperMLP(
        num_classes=2, input_shape=(3,), num_layers=1, batch_size=10
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    counter = CountBatches()
    x, y = np.zeros((100, 3), "float32"), np.zeros(100, "int64")
    hypermodel.fit(
        hp, model, x, y, batch_size=50, epochs=1, verbose=0, callbacks=[counter]
    )
    assert counter.per_epoch == [2]
