"""What a fused group is made of: each trial's MLP, read from its built model.

`read_mlp` turns one trial's compiled Keras model into a `SliceSpec` (its
input block, hidden widths, activations and dropout rates, output layer,
optimizer and loss), refusing with `NotFusable` and a one-line reason
anything a fused model would not reproduce exactly (an unknown layer, a
branched graph, gradient clipping, a loss other than the task's). Reading
the built model rather than the hyperparameters is what lets a subclass of
`HyperMLP` (or any plain MLP) fuse when its hooks keep the standard layers,
and fall back when they do not. This module owns that reading and
`check_same_group`; it must not build or train a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

import keras
import numpy as np

__all__ = ["LOSSES", "NotFusable", "SliceSpec", "check_same_group", "read_mlp"]

#: Losses a fused model computes per slice: name -> (task, metric names).
LOSSES = {
    "sparse_categorical_crossentropy": ("classification", ("accuracy",)),
    "binary_crossentropy": ("binary", ("accuracy",)),
    "mean_squared_error": ("regression", ("mae",)),
}
_LOSS_ALIASES = {"mse": "mean_squared_error"}
_METRIC_ALIASES = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "sparse_categorical_accuracy": "accuracy",
    "binary_accuracy": "accuracy",
    "mae": "mae",
    "mean_absolute_error": "mae",
}
#: Optimizer settings that would couple slices or change the update rule.
_COUPLING = ("clipnorm", "global_clipnorm", "use_ema", "loss_scale_factor")
_IGNORED_CONFIG = ("name", "learning_rate")


class NotFusable(ValueError):
    """A model (or a group of models) that cannot train as one fused model."""


@dataclass
class SliceSpec:
    """One trial's MLP, as a fused model needs it.

    Attributes:
        input_shape: The shape of one sample.
        mean: Standardisation mean (``None``: no standardisation).
        variance: Standardisation variance.
        widths: Width of each hidden layer.
        activations: Activation name of each hidden layer.
        dropouts: Dropout rate after each hidden layer (0.0: none).
        output_width: Width of the output layer.
        output_activation: ``"softmax"``, ``"sigmoid"`` or ``"linear"``.
        loss: One of `LOSSES`.
        metrics: The metric names the trial logs besides ``loss``.
        optimizer: The optimizer's class.
        optimizer_config: Its config without ``name`` and ``learning_rate``.
        learning_rate: The trial's learning rate.
        layer_names: Names of the Dense layers, hidden then output.
    """

    input_shape: tuple[int, ...]
    mean: np.ndarray | None
    variance: np.ndarray | None
    widths: list[int] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    dropouts: list[float] = field(default_factory=list)
    output_width: int = 1
    output_activation: str = "linear"
    loss: str = "mean_squared_error"
    metrics: tuple[str, ...] = ()
    optimizer: type = keras.optimizers.Adam
    optimizer_config: dict[str, Any] = field(default_factory=dict)
    learning_rate: float = 1e-3
    layer_names: list[str] = field(default_factory=list)

    @property
    def task(self) -> str:
        """``"classification"``, ``"binary"`` or ``"regression"``."""
        return LOSSES[self.loss][0]


#: Activations whose output for one unit depends on the layer's other units.
_ACROSS_UNITS = frozenset({"softmax", "log_softmax", "sparsemax", "glu"})


def _activation_name(layer: keras.layers.Dense) -> str:
    """The name that ``keras.activations.get`` turns back into its activation."""
    name = keras.activations.serialize(layer.activation)
    if isinstance(name, dict):  # {"config": "name"} or {"config": {"name": ...}}
        config = name.get("config")
        name = config.get("name") if isinstance(config, dict) else config
    try:
        same = keras.activations.get(name) is layer.activation
    except (ValueError, TypeError):
        same = False
    if not isinstance(name, str) or not same:
        function = layer.activation
        called = getattr(function, "__name__", type(function).__name__)
        raise NotFusable(
            f"Dense layer {layer.name!r} has an activation that keras.activations "
            f"does not name ({called})"
        )
    return name


def _settings(item: Any) -> dict[str, Any]:
    """The settings of a loss or metric object that differ from its defaults."""
    if not hasattr(item, "get_config"):
        return {}
    try:
        default = type(item)().get_config()
    except TypeError:  # a class with required arguments
        return {"arguments": "required"}
    ignored = ("name", "dtype", "fn")
    return {
        key: value
        for key, value in item.get_config().items()
        if key not in ignored and default.get(key) != value
    }


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, if it is a plain chain of single layers.

    Uses only public Keras: each layer's ``input`` must be the previous
    layer's ``output``, the model's output the last layer's, and the saved
    config must call each layer once.
    """
    if (
        not isinstance(model, keras.Model)
        or len(getattr(model, "inputs", None) or []) != 1
    ):
        raise NotFusable("the model is not a single-input functional model")
    if len(model.outputs) != 1:
        raise NotFusable("the model has more than one output")
    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    calls = {
        entry["name"]: len(entry.get("inbound_nodes") or [])
        for entry in model.get_config().get("layers", [])
    }
    source = model.inputs[0]
    for layer in layers:
        if calls.get(layer.name, 1) != 1 or layer.input is not source:
            raise NotFusable(
                f"layer {layer.name!r} is shared, or not fed by the layer before it"
            )
        source = layer.output
    if model.outputs[0] is not source:
        raise NotFusable("the model's output is not its last layer's")
    return layers


def read_mlp(model: keras.Model) -> SliceSpec:
    """Reads a compiled Keras MLP into a `SliceSpec`.

    The model must be ``Input -> [Flatten] -> [Normalization] -> (Dense ->
    [Dropout]) x n -> Dense``, compiled with one of `LOSSES`, its task's
    metric and a Keras optimizer without gradient clipping, EMA or
    gradient accumulation.

    Raises:
        NotFusable: With the reason, for anything else.
    """
    layers = _chain(model)
    spec = SliceSpec(tuple(int(d) for d in model.inputs[0].shape[1:]), None, None)
    dense: list[keras.layers.Dense] = []
    for position, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Flatten) and position == 0:
            continue
        if isinstance(layer, keras.layers.Normalization) and not dense:
            if spec.mean is not None:
                raise NotFusable("two Normalization layers")
            if getattr(layer, "invert", False):
                raise NotFusable(f"Normalization layer {layer.name!r} inverts")
            spec.mean = np.asarray(keras.ops.convert_to_numpy(layer.mean)).reshape(-1)
            spec.variance = np.asarray(
                keras.ops.convert_to_numpy(layer.variance)
            ).reshape(-1)
            continue
        if isinstance(layer, keras.layers.Dense):
            if layer.kernel_regularizer or layer.bias_regularizer or not layer.use_bias:
                raise NotFusable(
                    f"Dense layer {layer.name!r} has a regularizer or no bias"
                )
            if (
                layer.activity_regularizer
                or layer.kernel_constraint
                or layer.bias_constraint
            ):
                raise NotFusable(f"Dense layer {layer.name!r} has a constraint")
            dense.append(layer)
            spec.dropouts.append(0.0)
            continue
        if isinstance(layer, keras.layers.Dropout) and dense and spec.dropouts[-1] == 0:
            if layer.noise_shape is not None:
                raise NotFusable(f"Dropout layer {layer.name!r} has a noise_shape")
            spec.dropouts[-1] = float(layer.rate)
            continue
        raise NotFusable(
            f"layer {layer.name!r} ({type(layer).__name__}) is not one a fused "
            "MLP reproduces (Flatten, Normalization, Dense, Dropout)"
        )
    if len(dense) < 2:
        raise NotFusable("the model has no hidden Dense layer")
    flat = isinstance(layers[0], keras.layers.Flatten)
    if len(spec.input_shape) > 1 and not flat:
        raise NotFusable(
            f"its inputs of shape {spec.input_shape} reach a Dense layer without "
            "a Flatten first"
        )
    if spec.dropouts.pop():  # the output layer's slot
        raise NotFusable("a Dropout layer follows the output layer")
    spec.widths = [int(layer.units) for layer in dense[:-1]]
    spec.activations = [_activation_name(layer) for layer in dense[:-1]]
    across = [a for a in spec.activations if a in _ACROSS_UNITS]
    if across:
        raise NotFusable(
            f"a hidden layer's activation ({across[0]}) mixes its units, which "
            "padding to the group's widest would change"
        )
    spec.output_width = int(dense[-1].units)
    spec.output_activation = _activation_name(dense[-1])
    spec.layer_names = [layer.name for layer in dense]
    _read_compile(model, spec)
    return spec


def _read_compile(model: keras.Model, spec: SliceSpec) -> None:
    if not getattr(model, "compiled", False):
        raise NotFusable("the model is not compiled")
    loss = model.loss
    changed = _settings(loss)
    if changed:
        raise NotFusable(
            f"the loss sets {changed} (a fused model computes the default)"
        )
    if not isinstance(loss, str):
        loss = getattr(loss, "name", None) or getattr(loss, "__name__", repr(loss))
    loss = _LOSS_ALIASES.get(loss, loss)
    if loss not in LOSSES:
        raise NotFusable(f"loss {loss!r} is not one of {sorted(LOSSES)}")
    spec.loss = loss
    config = model.get_compile_config() or {}
    metrics = config.get("metrics") or []
    names = []
    for metric in metrics if isinstance(metrics, list) else [metrics]:
        name = metric if isinstance(metric, str) else getattr(metric, "name", None)
        if isinstance(metric, dict):
            name = metric.get("config", {}).get("name")
            changed = _settings(keras.metrics.deserialize(metric))
            if changed:
                raise NotFusable(f"metric {name!r} sets {changed}")
        if _METRIC_ALIASES.get(name) not in LOSSES[loss][1]:
            raise NotFusable(f"metric {name!r} is not the task's {LOSSES[loss][1]}")
        names.append(_METRIC_ALIASES[name])
    if config.get("loss_weights") or config.get("weighted_metrics"):
        raise NotFusable("loss weights or weighted metrics")
    spec.metrics = tuple(names)
    optimizer = model.optimizer
    options = optimizer.get_config()
    for key in _COUPLING:
        if options.get(key):
            raise NotFusable(f"the optimizer sets {key}={options[key]!r}")
    if options.get("gradient_accumulation_steps"):
        raise NotFusable("the optimizer accumulates gradients")
    if not isinstance(options.get("learning_rate"), (int, float)):
        raise NotFusable("the learning rate is a schedule")
    spec.optimizer = type(optimizer)
    spec.learning_rate = float(options["learning_rate"])
    spec.optimizer_config = {
        k: v for k, v in options.items() if k not in _IGNORED_CONFIG
    }


def check_same_group(specs: list[SliceSpec]) -> None:
    """Checks that the slices can share one fused model.

    They must have the same input block, depth, output layer, loss, metrics
    and optimizer settings (learning rates, widths, activations, dropout
    rates and standardisation statistics may differ: each slice keeps its
    own, as each ``cv=`` fold's model does).

    Raises:
        NotFusable: Naming the first difference.
    """
    first = specs[0]
    for spec in specs[1:]:
        for name in (
            "input_shape",
            "output_width",
            "output_activation",
            "loss",
            "metrics",
            "optimizer",
            "optimizer_config",
        ):
            if getattr(spec, name) != getattr(first, name):
                raise NotFusable(f"the trials differ in {name}")
        if len(spec.widths) != len(first.widths):
            raise NotFusable("the trials differ in their number of layers")
        for name in ("mean", "variance"):
            a, b = getattr(first, name), getattr(spec, name)
            if (a is None) != (b is None) or (a is not None and a.shape != b.shape):
                raise NotFusable("some trials standardise their inputs and some do not")
