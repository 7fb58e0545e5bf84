"""The knobs of `HyperMLP`: tasks, activations, optimizers and their rules.

This module owns what a `HyperMLP` may be told (each knob's type, bounds,
default and example) and its default search space; it must not build
models.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.search_space.knobs import Knob

__all__ = ["ACTIVATIONS", "KNOBS", "OPTIMIZERS", "TASKS", "check_outputs", "check_task"]

#: Activations a hidden layer may use (names Keras understands).
ACTIVATIONS = (
    "relu",
    "tanh",
    "gelu",
    "elu",
    "selu",
    "silu",
    "swish",
    "sigmoid",
    "softplus",
    "leaky_relu",
    "linear",
)

#: Optimizers by name.
OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "nadam": keras.optimizers.Nadam,
}

#: Tasks: output activation, loss, metric and default objective for each.
TASKS = {
    "classification": (
        "softmax",
        "sparse_categorical_crossentropy",
        "accuracy",
        "val_accuracy",
    ),
    "binary": ("sigmoid", "binary_crossentropy", "accuracy", "val_accuracy"),
    "regression": ("linear", "mean_squared_error", "mae", "val_loss"),
}

#: The tunable knobs of `HyperMLP`, with their validation rules and defaults.
KNOBS = {
    knob.name: knob
    for knob in (
        Knob("num_layers", int, low=0, high=64, default=2, example="num_layers=(1, 4)"),
        Knob("units", int, low=1, log=True, default=128, example="units=(16, 512)"),
        Knob(
            "dropout",
            float,
            low=0.0,
            high=1.0,
            high_open=True,
            default=0.0,
            example="dropout=(0.0, 0.5)",
        ),
        Knob(
            "activation",
            str,
            choices=ACTIVATIONS,
            default="relu",
            example='activation=["relu", "tanh"]',
        ),
        Knob(
            "learning_rate",
            float,
            low=1e-12,
            high=10.0,
            log=True,
            default=1e-3,
            example="learning_rate=(1e-4, 1e-1)",
        ),
        Knob(
            "optimizer",
            str,
            choices=tuple(OPTIMIZERS),
            default="adam",
            example='optimizer=["adam", "sgd"]',
        ),
        Knob("batch_size", int, low=1, default=32, example="batch_size=[32, 128]"),
        # Tuned only when given (HyperMLP(epochs=...) or a param_grid);
        # otherwise search(epochs=...) decides.
        Knob("epochs", int, low=1, default=10, example="epochs=[5, 10, 20]"),
    )
}

#: Knobs that are not hyperparameters unless given (see `HyperMLP.epochs`).
ONLY_WHEN_GIVEN = ("epochs",)

_DEFAULTS = {
    "num_layers": (1, 4),
    "units": (16, 512),
    "dropout": (0.0, 0.5),
    "activation": ["relu", "tanh", "gelu"],
    "learning_rate": (1e-4, 1e-1),
    "optimizer": "adam",
    "batch_size": 32,
}


def _shape(argument: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    if not isinstance(value, (tuple, list)) or not value:
        raise bad_type(
            argument, value, "a tuple of positive ints", "E.g. input_shape=(28, 28)."
        )
    if any(
        isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
        for d in value
    ):
        raise bad_value(
            argument,
            value,
            "every dimension must be a positive int",
            "E.g. input_shape=(64,).",
        )
    return tuple(int(d) for d in value)


def check_task(task: Any) -> str:
    """The task's name, lower-cased; refuses an unknown one."""
    if not isinstance(task, str) or task.lower() not in TASKS:
        raise bad_value(
            "task",
            task,
            "unknown task",
            f"Use one of: {', '.join(repr(t) for t in TASKS)}.",
        )
    return task.lower()


def check_outputs(task: str, num_classes: Any, output_dim: Any) -> int | None:
    """The number of classes of a classifier (``None`` for other tasks), checked."""
    if isinstance(output_dim, bool) or not isinstance(output_dim, (int, np.integer)):
        raise bad_type("output_dim", output_dim, "an int", "E.g. output_dim=1.")
    if output_dim < 1:
        raise bad_value(
            "output_dim", output_dim, "must be at least 1", "E.g. output_dim=1."
        )
    if task == "classification" and output_dim != 1:
        raise bad_value(
            "output_dim",
            output_dim,
            "is the number of regression targets; a classifier's outputs are "
            "its num_classes",
            "Leave output_dim out, or use task='regression'.",
        )
    if task != "classification":
        if num_classes is None or (task == "binary" and num_classes == 2):
            return None
        raise bad_value(
            "num_classes",
            num_classes,
            f'task="{task}" '
            + (
                "has one sigmoid output for two classes"
                if task == "binary"
                else "predicts numbers (output_dim of them), not classes"
            ),
            'Use task="classification" for that many classes, or leave '
            "num_classes out.",
        )
    if num_classes is None:
        raise bad_value(
            "num_classes",
            num_classes,
            'task="classification" needs the number of classes',
            'Pass num_classes=<number of labels>, or use task="binary" for '
            "two classes with a sigmoid output.",
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise bad_type("num_classes", num_classes, "an int", "E.g. num_classes=10.")
    if num_classes < 2:
        raise bad_value(
            "num_classes",
            num_classes,
            "a classifier needs at least 2 classes",
            "Pass the number of distinct labels, e.g. num_classes=10.",
        )
    return int(num_classes)
