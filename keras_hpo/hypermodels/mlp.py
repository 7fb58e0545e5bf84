"""HyperMLP: a keras-tuner hypermodel that builds and compiles an MLP."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import keras_tuner
import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.fused.model import FusedMLP
from keras_hpo.fused.spec import NotFusable
from keras_hpo.hypermodels.mlp_knobs import _DEFAULTS
from keras_hpo.hypermodels.mlp_knobs import ACTIVATIONS
from keras_hpo.hypermodels.mlp_knobs import KNOBS
from keras_hpo.hypermodels.mlp_knobs import ONLY_WHEN_GIVEN
from keras_hpo.hypermodels.mlp_knobs import OPTIMIZERS
from keras_hpo.hypermodels.mlp_knobs import TASKS
from keras_hpo.hypermodels.mlp_knobs import _shape
from keras_hpo.hypermodels.mlp_knobs import check_outputs
from keras_hpo.hypermodels.mlp_knobs import check_task
from keras_hpo.hypermodels.tabular import TabularModel
from keras_hpo.hypermodels.tabular import TabularSchema
from keras_hpo.protocols import Labels
from keras_hpo.protocols import plain_fit
from keras_hpo.search_space.importance import IMPORTANCE
from keras_hpo.search_space.knobs import Knob
from keras_hpo.search_space.knobs import declare
from keras_hpo.search_space.knobs import possible_values

__all__ = ["ACTIVATIONS", "HOOKS", "KNOBS", "OPTIMIZERS", "TASKS", "HyperMLP"]

#: The methods a subclass overrides to change the model or its training.
HOOKS = (
    "input_block",
    "hidden_block",
    "output_head",
    "build_optimizer",
    "build",
    "fit",
)


class HyperMLP(keras_tuner.HyperModel):
    """A multi-layer perceptron whose shape and training are hyperparameters.

    Every knob (``num_layers``, ``units``, ``dropout``, ``activation``,
    ``learning_rate``, ``optimizer``, ``batch_size``) accepts a fixed value, a
    list (a choice), a ``(low, high)`` or ``(low, high, step)`` range, a
    keras-tuner hyperparameter object or a frozen ``scipy.stats``
    distribution. All of it is validated here, before any training.

    Subclass it to change the architecture: override the public hooks
    `input_block`, `hidden_block`, `output_head`, `build_optimizer` and `fit`,
    and read knob values with `value`.

    It implements `keras_hpo.protocols.DataAwareHyperModel`: the tuners adapt
    it to the data, check labels against its task and take its default
    objective.

    Args:
        task: ``"classification"`` (softmax, sparse categorical
            cross-entropy, accuracy), ``"binary"`` (sigmoid, binary
            cross-entropy, accuracy) or ``"regression"`` (linear output, mean
            squared error, mean absolute error).
        num_classes: Number of classes; required for ``"classification"``.
        output_dim: Width of the regression output. Defaults to 1.
        input_shape: Shape of one sample, e.g. ``(64,)`` or ``(28, 28)``.
            Multi-dimensional inputs are flattened. If ``None`` it is taken from
            the data by `adapt` (our tuners call it at the start of a search).
        standardize: Whether to standardise inputs with a
            ``keras.layers.Normalization`` layer adapted on the training data.
        preprocessing: ``"auto"``: the data is a pandas DataFrame with
            numeric and text columns and missing values, preprocessed inside
            the model as a scikit-learn ``Pipeline`` would (median imputation
            and standardisation of numbers, one-hot categories; see
            `keras_hpo.hypermodels.tabular`), so the model predicts raw rows.
            ``None`` (default): numeric arrays, and NaN or text refused
            before the first trial.
        num_layers: Number of hidden layers. Defaults to ``(1, 4)``.
        units: Width of the hidden layers. Defaults to ``(16, 512)``, searched
            on a log scale.
        units_per_layer: If ``True`` each hidden layer has its own width
            hyperparameter (``units_0``, ``units_1``, ...), active only when
            the layer exists; if ``False`` (default) all share ``units``.
        dropout: Dropout rate after each hidden layer, in ``[0, 1)``. Defaults
            to ``(0.0, 0.5)``.
        activation: Hidden activation. Defaults to
            ``["relu", "tanh", "gelu"]``; any of `ACTIVATIONS`, ``"linear"``
            included.
        learning_rate: Defaults to ``(1e-4, 1e-1)``, on a log scale.
        optimizer: One of ``"adam"`` (default), ``"adamw"``, ``"sgd"``,
            ``"rmsprop"``, ``"nadam"``, or a list of them.
        batch_size: Fit-time hyperparameter. Defaults to 32 (fixed).
        epochs: Fit-time hyperparameter, e.g. ``[5, 10, 20]``: a trial then
            trains for its value, whatever ``search(epochs=...)`` says.
            Defaults to ``None``: not a hyperparameter (``search`` decides).
            A scikit-learn ``param_grid`` may name it too.
        metrics: More Keras metric names to compile (and log every epoch,
            as ``<name>`` and ``val_<name>``) next to the task's own
            (``accuracy``, or ``mae`` for a regression). A tuner's
            ``scoring=`` adds the Keras metrics it names here.
        name: The hypermodel's name.

    Raises:
        ValueError: For an unknown task, a missing ``num_classes``, or an
            invalid value of any knob (the message names the argument, the
            value and the fix).
        TypeError: For a knob given in an unsupported form.

    Example:
        >>> hypermodel = HyperMLP(num_classes=10, input_shape=(64,),
        ...                       units=[32, 64], dropout=0.1)
        >>> model = hypermodel.build(keras_tuner.HyperParameters())
        >>> model.output_shape
        (None, 10)
    """

    def __init__(
        self,
        task: str = "classification",
        *,
        num_classes: int | None = None,
        output_dim: int = 1,
        input_shape: Sequence[int] | int | None = None,
        standardize: bool = False,
        preprocessing: str | None = None,
        num_layers: Any = _DEFAULTS["num_layers"],
        units: Any = _DEFAULTS["units"],
        units_per_layer: bool = False,
        dropout: Any = _DEFAULTS["dropout"],
        activation: Any = _DEFAULTS["activation"],
        learning_rate: Any = _DEFAULTS["learning_rate"],
        optimizer: Any = _DEFAULTS["optimizer"],
        batch_size: Any = _DEFAULTS["batch_size"],
        epochs: Any = None,
        metrics: Sequence[str] | None = None,
        name: str | None = None,
    ):
        super().__init__(name=name, tunable=True)
        self.task = check_task(task)
        self.num_classes = check_outputs(self.task, num_classes, output_dim)
        self.output_dim = int(output_dim)
        self.input_shape = _shape("input_shape", input_shape)
        if not isinstance(standardize, bool):
            raise bad_type(
                "standardize", standardize, "True or False", "E.g. standardize=True."
            )
        if not isinstance(units_per_layer, bool):
            raise bad_type(
                "units_per_layer", units_per_layer, "True or False", "E.g. False."
            )
        if preprocessing not in (None, "auto"):
            raise bad_value(
                "preprocessing",
                preprocessing,
                'not "auto" or None',
                'Pass preprocessing="auto" for a DataFrame with text columns or '
                "missing values, or leave it out for numeric arrays.",
            )
        if preprocessing and standardize:
            raise bad_value(
                "standardize",
                standardize,
                'given with preprocessing="auto", which standardises the '
                "numeric columns itself",
                "Drop standardize=True.",
            )
        self.standardize = standardize
        #: ``"auto"`` or ``None`` (see ``preprocessing``).
        self.preprocessing = preprocessing
        #: The columns and their statistics, once `adapt` read a DataFrame.
        self.schema: TabularSchema | None = None
        self.units_per_layer = units_per_layer
        #: Extra Keras metrics every model compiles (see ``metrics``).
        self.metrics: list[str] = []
        for metric in metrics or []:
            self.add_metric(metric)
        specs = {
            "num_layers": num_layers,
            "units": units,
            "dropout": dropout,
            "activation": activation,
            "learning_rate": learning_rate,
            "optimizer": optimizer,
            "batch_size": batch_size,
            "epochs": epochs,
        }
        #: Knob name -> keras-tuner hyperparameter template (``epochs`` only
        #: when given).
        self.templates = {
            key: KNOBS[key].template(spec, key)
            for key, spec in specs.items()
            if not (key in ONLY_WHEN_GIVEN and spec is None)
        }
        self._mean: np.ndarray | None = None
        self._variance: np.ndarray | None = None

    def add_metric(self, metric: str) -> None:
        """Compiles one more Keras metric into every model (once).

        Raises:
            ValueError: If Keras does not know the metric.
        """
        if not isinstance(metric, str):
            raise bad_type("metrics", metric, "a Keras metric name", 'E.g. ["mae"].')
        try:
            keras.metrics.get(metric)
        except (ValueError, TypeError):
            raise bad_value(
                "metrics", metric, "not a Keras metric name", 'E.g. ["mae", "auc"].'
            ) from None
        if metric not in self.metrics and metric != TASKS[self.task][2]:
            self.metrics.append(metric)

    @property
    def logged_metrics(self) -> tuple[str, ...]:
        """What its models log each epoch (before ``val_``): loss and metrics."""
        return ("loss", TASKS[self.task][2], *self.metrics)

    # -- knobs -----------------------------------------------------------------
    @property
    def default_objective(self) -> str:
        """The objective our tuners use when none is given."""
        return TASKS[self.task][3]

    @property
    def labels(self) -> Labels:
        """The rule its labels follow (checked before the first trial)."""
        return Labels(self.task, self.num_classes, self.output_dim)

    @property
    def important_hyperparameters(self) -> tuple[str, ...]:
        """Its knobs, most important first (the HParams column order)."""
        return IMPORTANCE

    @property
    def knobs(self) -> dict[str, Knob]:
        """The knobs a scikit-learn ``param_grid`` may name (`KNOBS`)."""
        return KNOBS

    @property
    def declares_in_hooks(self) -> bool:
        """Whether a subclass overrides a hook, which may declare hyperparameters.

        A ``param_grid`` may then name them too; the tuner checks before the
        first trial that each such name is declared (`preflight`).
        """
        return any(
            getattr(type(self), hook) is not getattr(HyperMLP, hook) for hook in HOOKS
        )

    def search_identity(self) -> dict[str, Any]:
        """The task, the loss and the number of outputs: what scores mean."""
        outputs = self.num_classes if self.task == "classification" else self.output_dim
        identity = {"task": self.task, "loss": TASKS[self.task][1], "outputs": outputs}
        if self.preprocessing:
            identity["preprocessing"] = self.preprocessing
        return identity

    @property
    def ready(self) -> bool:
        """Whether `build` has what it needs.

        That is the input shape and, with ``standardize=True``, the
        standardisation statistics; `adapt` provides both.
        """
        if self.preprocessing:
            return self.schema is not None
        return self.input_shape is not None and (
            not self.standardize or self._mean is not None
        )

    @property
    def max_layers(self) -> int:
        """The largest number of hidden layers the search space allows."""
        return max(possible_values(self.templates["num_layers"]) or [0])

    def value(self, hp: kt_hp.HyperParameters, knob: str, layer: int | None = None):
        """Returns this trial's value of a knob, declaring it on ``hp`` if needed.

        Args:
            hp: The trial's hyperparameters.
            knob: One of `KNOBS`.
            layer: The hidden layer's index, for ``units`` with
                ``units_per_layer=True``.

        Returns:
            The value.
        """
        template = self.templates.get(knob)
        if template is None and knob not in KNOBS:
            raise bad_value(
                "knob",
                knob,
                "is not a knob of HyperMLP",
                f"Use one of: {', '.join(KNOBS)} (or hp.get(name) for a "
                "hyperparameter your hooks declare).",
            )
        if template is None:  # a knob only tuned when given (epochs)
            return hp.get(knob) if knob in hp else None
        name = template.name
        if knob == "units" and self.units_per_layer:
            if layer is None:
                raise ValueError("`layer` is required when units_per_layer=True.")
            return self._declare_layer_units(hp, layer)
        return declare(hp, template, name)

    def grid_name_problem(self, name: str) -> tuple[str, str] | None:
        """Why a ``param_grid`` entry named ``name`` would not reach the model.

        Returns:
            ``(problem, fix)``, or ``None`` when the model reads that name:
            with ``units_per_layer=True`` it reads ``units_0``, ``units_1``...,
            and a knob given as a keras-tuner hyperparameter of another name
            (``units=Int("width", ...)``) is read by that name.
        """
        template = self.templates.get(name)
        if template is None:
            return None
        if name == "units" and self.units_per_layer:
            return (
                "HyperMLP(units_per_layer=True) reads each hidden layer's width "
                f"as {template.name}_0, {template.name}_1, ..., so a grid's "
                "'units' would reach no layer",
                "Give the widths to the hypermodel, HyperMLP(units=[32, 64], "
                "units_per_layer=True) (the grid then takes each layer's), or "
                "pass units_per_layer=False.",
            )
        if template.name != name:
            return (
                f"this HyperMLP reads the knob {name} as the hyperparameter "
                f"{template.name!r} (given as {name}=...), so the grid's would "
                "reach no layer",
                f"Give the values as {name}=[...] (a list, not a named "
                "hyperparameter), or leave it out of the grid.",
            )
        return None

    def _declare_layer_units(self, hp: kt_hp.HyperParameters, layer: int):
        parent = self.templates["num_layers"].name
        # Every declaration of the depth counts: a list of grids declares it
        # once per sub-grid, each under its sub-grid's condition.
        existing = [h for h in hp.space if h.name == parent]
        counts = sorted(
            {
                n
                for h in existing or [self.templates["num_layers"]]
                for n in possible_values(h)
            }
        )
        template = self.templates["units"]
        with hp.conditional_scope(parent, [n for n in counts if n > layer] or [-1]):
            return declare(hp, template, f"{template.name}_{layer}")

    def declare_hyperparameters(self, hp: kt_hp.HyperParameters) -> None:
        """Declares every knob on ``hp``, conditional per-layer widths included."""
        for knob in KNOBS:
            if knob not in self.templates:
                continue
            if knob == "units" and self.units_per_layer:
                self.value(hp, "num_layers")
                for layer in range(self.max_layers):
                    self._declare_layer_units(hp, layer)
            else:
                self.value(hp, knob)

    # -- data ------------------------------------------------------------------
    def adapt(self, x: Any, y: Any = None) -> HyperMLP:
        """Takes the input shape and standardisation statistics from the data.

        Args:
            x: Training inputs, an array of shape ``(samples, *input_shape)``.
            y: Unused; accepted so that ``adapt(x, y)`` mirrors ``fit``.

        Returns:
            ``self``.

        Raises:
            ValueError: If ``x`` does not match a given ``input_shape``.
        """
        del y
        if self.preprocessing:
            self.schema = TabularSchema.from_frame(x)
            self.input_shape = (len(self.schema.columns),)
            return self
        x = np.asarray(x)
        if x.ndim < 2:
            raise bad_value(
                "x",
                Described(f"array of shape {x.shape}", x),
                "inputs need a sample axis and at least one feature axis",
                "Reshape a single feature to x.reshape(-1, 1).",
            )
        shape = tuple(int(d) for d in x.shape[1:])
        if self.input_shape is None:
            self.input_shape = shape
        elif tuple(self.input_shape) != shape:
            raise bad_value(
                "x",
                Described(f"array of shape {x.shape}", x),
                f"samples of shape {shape} do not match input_shape={self.input_shape}",
                "Pass data of the declared shape, or fix input_shape.",
            )
        if self.standardize:
            flat = x.reshape(len(x), -1).astype("float64")
            self._mean = flat.mean(axis=0).astype("float32")
            self._variance = flat.var(axis=0).astype("float32")
        return self

    # -- hooks -----------------------------------------------------------------
    def input_block(self, hp: kt_hp.HyperParameters, inputs):
        """Turns the raw inputs into the first hidden layer's input.

        Flattens multi-dimensional samples and, with ``standardize=True``,
        standardises each feature.

        Args:
            hp: The trial's hyperparameters.
            inputs: The ``keras.Input`` tensor.

        Returns:
            A 2-D tensor.
        """
        del hp
        x = inputs
        if len(self.input_shape) > 1:
            x = keras.layers.Flatten(name="flatten")(x)
        if self.standardize:
            x = keras.layers.Normalization(
                mean=self._mean, variance=self._variance, name="standardize"
            )(x)
        return x

    def hidden_block(self, hp: kt_hp.HyperParameters, x, index: int):
        """One hidden layer.

        ``Dense`` with the trial's width and activation, then ``Dropout`` when
        the rate is above zero.

        Args:
            hp: The trial's hyperparameters.
            x: The previous block's output.
            index: The layer's index, from 0.

        Returns:
            The block's output tensor.
        """
        x = keras.layers.Dense(
            self.value(hp, "units", index),
            activation=self.value(hp, "activation"),
            name=f"dense_{index}",
        )(x)
        rate = self.value(hp, "dropout")
        if rate > 0:
            x = keras.layers.Dropout(rate, name=f"dropout_{index}")(x)
        return x

    def output_head(self, hp: kt_hp.HyperParameters, x):
        """The output layer for the task.

        Args:
            hp: The trial's hyperparameters.
            x: The last hidden block's output.

        Returns:
            The model's output tensor.
        """
        del hp
        activation = TASKS[self.task][0]
        width = {
            "classification": self.num_classes,
            "binary": 1,
            "regression": self.output_dim,
        }[self.task]
        return keras.layers.Dense(width, activation=activation, name="output")(x)

    def build_optimizer(self, hp: kt_hp.HyperParameters) -> keras.optimizers.Optimizer:
        """Creates the optimizer from the ``optimizer`` and ``learning_rate`` knobs.

        Args:
            hp: The trial's hyperparameters.

        Returns:
            A new Keras optimizer.
        """
        optimizer = OPTIMIZERS[self.value(hp, "optimizer")]
        return optimizer(learning_rate=self.value(hp, "learning_rate"))

    def build(self, hp: kt_hp.HyperParameters) -> keras.Model:
        """Builds and compiles the model for one trial.

        Args:
            hp: The trial's hyperparameters.

        Returns:
            A compiled ``keras.Model``.

        Raises:
            ValueError: If the input shape is still unknown.
        """
        if self.preprocessing and self.schema is None:
            raise bad_value(
                "preprocessing",
                self.preprocessing,
                "HyperMLP has not read its DataFrame's columns yet",
                "Call hypermodel.adapt(x_train) before building (keras_hpo's "
                "tuners do this at the start of search()).",
            )
        if self.input_shape is None:
            raise bad_value(
                "input_shape",
                None,
                "HyperMLP does not know the shape of its inputs yet",
                "Pass input_shape=... when creating it, or call "
                "hypermodel.adapt(x_train) before building (keras_hpo's tuners "
                "do this at the start of search()).",
            )
        if self.standardize and self._mean is None:
            raise bad_value(
                "standardize",
                True,
                "the standardisation statistics have not been computed yet",
                "Call hypermodel.adapt(x_train) before building (keras_hpo's "
                "tuners do this at the start of search()).",
            )
        self.declare_hyperparameters(hp)
        if self.schema is not None:  # preprocessing="auto": named columns
            inputs = self.schema.inputs()
            x = self.schema.encode(inputs)
            if type(self).input_block is not HyperMLP.input_block:
                x = self.input_block(hp, x)  # a subclass's, on the features
        else:
            inputs = keras.Input(shape=self.input_shape, name="inputs")
            x = self.input_block(hp, inputs)
        for index in range(self.value(hp, "num_layers")):
            x = self.hidden_block(hp, x, index)
        outputs = self.output_head(hp, x)
        # With named columns, a TabularModel: it also takes a DataFrame.
        kind = keras.Model if self.schema is None else TabularModel
        with warnings.catch_warnings():  # inputs keyed by column, not by name
            warnings.filterwarnings("ignore", "When providing `inputs` as a dict")
            model = kind(inputs, outputs, name=self.name or "hyper_mlp")
        _, loss, metric, _ = TASKS[self.task]
        model.compile(
            optimizer=self.build_optimizer(hp),
            loss=loss,
            metrics=[metric, *self.metrics],
        )
        return model

    # -- fused trials (keras_hpo.protocols.FusableHyperModel) -----------------
    def fusion_key(self, hp: kt_hp.HyperParameters) -> tuple:
        """Trials fuse when they share depth, optimizer, batch size and epochs."""
        return (
            self.value(hp, "num_layers"),
            self.value(hp, "optimizer"),
            self.value(hp, "batch_size"),
            self.value(hp, "epochs"),
        )

    def fusion_batch_size(self, hp: kt_hp.HyperParameters) -> int:
        """The trial's batch size, which ``fuse="auto"`` costs its steps at."""
        return int(self.value(hp, "batch_size"))

    def fusion_shape(self, hp: kt_hp.HyperParameters) -> tuple[int, ...]:
        """Input width, each hidden layer's width, output width."""
        outputs = {"classification": self.num_classes, "binary": 1}.get(
            self.task, self.output_dim
        )
        widths = [
            self.value(hp, "units", i) for i in range(self.value(hp, "num_layers"))
        ]
        return (math.prod(self.input_shape or (0,)), *widths, outputs)

    def build_fused(
        self, models: Sequence[keras.Model], seed: int | None = None
    ) -> keras.Model:
        """One `keras_hpo.fused.FusedMLP` of the trials' own models.

        The models are read back (`keras_hpo.fused.read_mlp`), so a subclass
        whose hooks keep the standard layers (Flatten, Normalization, Dense,
        Dropout) fuses too; one that adds another layer is refused.

        Args:
            models: Each trial's model, as `build` returned it.
            seed: Seed of the fused model's dropout masks.

        Raises:
            keras_hpo.fused.NotFusable: With the reason.
        """
        if self.schema is not None:
            raise NotFusable(
                "preprocessing='auto' models take named columns, not one array"
            )
        if self.metrics:
            raise NotFusable(
                f"metrics={self.metrics} are not computed per slice of a fused model"
            )
        return FusedMLP.from_models(models, seed=seed)

    @plain_fit
    def fit(self, hp: kt_hp.HyperParameters, model: keras.Model, *args, **kwargs):
        """Trains one trial's model; fit-time knobs apply here.

        ``batch_size`` comes from its knob unless given (a search records a
        given size as its trials' when the knob is fixed, and refuses one
        while it tunes the knob: trials would record sizes they did not
        train at); ``epochs``, when it is a hyperparameter,
        overrides the ``epochs`` given.

        Args:
            hp: The trial's hyperparameters.
            model: The model `build` returned.
            *args: Passed to ``model.fit`` (typically ``x`` and ``y``).
            **kwargs: Passed to ``model.fit``; ``batch_size`` comes from the
                knob unless given here.

        Returns:
            The ``History`` of ``model.fit``.
        """
        kwargs.setdefault("batch_size", self.value(hp, "batch_size"))
        epochs = self.value(hp, "epochs")
        if epochs is not None:  # tuned: the trial's value, not search()'s
            kwargs["epochs"] = epochs
        return model.fit(*args, **kwargs)
