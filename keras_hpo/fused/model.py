"""K MLPs as one Keras model: weights with a leading "slice" axis.

`FusedMLP` holds K trials' MLPs of the same depth as one model: a hidden
layer's K kernels of shape ``(in, out)`` are one ``(K, in_max, out_max)``
variable and the layers run as batched matmuls, so one training step trains
every slice on the same batch. The first layer's kernels are stored
transposed, ``(K, out, in)``: when the slices share their inputs, the first
layer (the widest, for image inputs) is then one plain matrix product of
the batch with all K kernels at once, forward and backward, instead of K
small ones. On TensorFlow a large fused model is compiled with XLA
(`use_xla`), which runs the optimizer's per-element update in one pass over
its memory, and every fused model runs `STEPS_PER_EXECUTION` steps per call
from Python. Its optimizer is built before the first step, so that step is
traced once, and validation runs at a larger batch
(`validation_batch_size`), which changes no metric.

Per slice: its initial weights (copied from the trial's own model), width
(padded to the group's widest and masked, so padded units stay exactly
zero), activation, dropout rate, learning rate and optimizer state
(`sliced_optimizer`). The loss is the *sum* of the slices'
mean losses, so each slice's gradient is exactly its own loss's gradient.
The slices see the same batch, or (`FusedMLP.use_rows`, for the folds of
cross-validation) each its own samples, gathered by row index inside the
model from one copy of the data.
Everything is written in ``keras.ops`` and ``keras.random``: no backend is
assumed.

It owns the fused model's arithmetic; it must not know about trials,
callbacks or files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Sequence

import keras
import numpy as np
from keras import ops

from keras_hpo.fused.spec import SliceSpec
from keras_hpo.fused.spec import check_same_group
from keras_hpo.fused.spec import read_mlp

__all__ = [
    "FusedMLP",
    "SliceMetrics",
    "slice_rows",
    "sliced_optimizer",
    "use_xla",
    "validation_batch_size",
]

#: Trainable values from which a fused model is compiled with XLA on
#: TensorFlow's CPU (see `use_xla`).
XLA_MIN_PARAMS = 1_000_000
#: Floats of a validation batch's widest activations, all slices: 64 MiB.
VALIDATION_FLOATS = 2**24
#: The largest validation batch `validation_batch_size` picks.
VALIDATION_BATCH = 512
#: Training steps per call of the compiled step on TensorFlow (Keras'
#: ``steps_per_execution``): a fused model's callbacks run per epoch, so
#: running 16 steps per call saves 15 calls from Python (on 2 CPU cores,
#: 32 slices of 784-64-64-10: 8.5 ms a step against 11.2 ms with XLA).
STEPS_PER_EXECUTION = 16


def use_xla(params: int) -> bool | str:
    """``jit_compile`` for a fused model with ``params`` trainable values.

    On TensorFlow, Keras' default (``"auto"``) compiles with XLA on a GPU
    but not on a CPU. A fused model of at least `XLA_MIN_PARAMS` values is
    compiled with XLA on a CPU too: its optimizer step is bound by memory
    (K copies of every variable, each moment and gradient), and XLA does
    that step's element-wise operations in one pass instead of one pass
    each. Measured on 2 CPU cores (32 slices of 784-256-256-10, batch 32):
    31 ms a step against 76 ms; a smaller model does not win back the
    compilation's one or two seconds. JAX compiles anyway and PyTorch keeps
    Keras' default.

    Returns:
        ``True``, or ``"auto"`` (Keras' own choice).
    """
    if keras.backend.backend() == "tensorflow" and params >= XLA_MIN_PARAMS:
        return True
    return "auto"


def validation_batch_size(batch_size: int | None, size: int, widest: int) -> int:
    """The batch a fused model validates at: larger than its training batch.

    A validation step only runs the model forward, so a larger batch makes
    fewer, fuller steps; its metrics are means over all samples, the same at
    any batch size (up to float rounding). It is at most `VALIDATION_BATCH`
    and keeps a batch's widest activations, all ``size`` slices, within
    `VALIDATION_FLOATS`; never below the training batch.

    Args:
        batch_size: The training batch (``None``: Keras' 32).
        size: The slices.
        widest: The widest layer, inputs included.
    """
    batch = batch_size or 32
    fits = VALIDATION_FLOATS // max(size * widest, 1)
    return max(batch, min(VALIDATION_BATCH, fits))


def _per_sample_losses(
    task: str, y, y_pred, metrics: Sequence[str], per_slice: bool = False
):
    """Per sample and slice ``(B, K)``: the loss, then each metric.

    ``y`` is one target per sample, shared by the slices, or with
    ``per_slice`` one per sample and slice (``(B, K)`` labels, ``(B, K,
    outputs)`` values).
    """
    size = ops.shape(y_pred)[1]
    if task == "classification":
        if per_slice:
            labels = ops.cast(y, "int32")
        else:
            labels = ops.cast(ops.reshape(y, (-1,)), "int32")
            labels = ops.repeat(ops.expand_dims(labels, 1), size, axis=1)
        loss = keras.losses.sparse_categorical_crossentropy(labels, y_pred)
        hits = ops.equal(ops.cast(ops.argmax(y_pred, axis=-1), "int32"), labels)
        extra = {"accuracy": ops.cast(hits, y_pred.dtype)}
    else:
        width = ops.shape(y_pred)[-1]
        if per_slice:
            target = ops.cast(ops.reshape(y, (-1, size, width)), y_pred.dtype)
        else:
            target = ops.cast(ops.reshape(y, (-1, 1, width)), y_pred.dtype)
            target = ops.repeat(target, size, axis=1)
        if task == "binary":
            loss = keras.losses.binary_crossentropy(target, y_pred)
            hits = ops.equal(ops.cast(y_pred > 0.5, y_pred.dtype), target)
            extra = {"accuracy": ops.mean(ops.cast(hits, y_pred.dtype), axis=-1)}
        else:
            loss = keras.losses.mean_squared_error(target, y_pred)
            extra = {"mae": ops.mean(ops.abs(target - y_pred), axis=-1)}
    return [loss] + [extra[name] for name in metrics]


class SliceMetrics(keras.metrics.Metric):
    """Each slice's mean loss and metrics over the samples seen.

    Its result is ``{"fused_loss": (K,), "fused_<metric>": (K,)}``, which
    Keras puts in the logs as they are (``val_fused_...`` for validation).
    """

    def __init__(self, task: str, metrics: Sequence[str], size: int, **kwargs):
        super().__init__(name="fused_metrics", **kwargs)
        self.task, self.names, self.size = task, ["loss", *metrics], size
        self.totals = self.add_variable(
            shape=(len(self.names), size), initializer="zeros", name="totals"
        )
        self.count = self.add_variable(shape=(size,), initializer="zeros", name="count")

    def update_state(self, y, y_pred, sample_weight=None, mask=None):
        """Adds a batch's per-sample values.

        Args:
            y: The targets (see `_per_sample_losses`; per slice with ``mask``).
            y_pred: The fused model's output.
            sample_weight: Unused (refused before fusing, see GroupRunner).
            mask: ``(B, K)``, 1 where a slice has a sample (`FusedMLP.use_rows`).
        """
        del sample_weight
        values = _per_sample_losses(
            self.task, y, y_pred, self.names[1:], per_slice=mask is not None
        )
        if mask is None:
            sums = ops.stack([ops.sum(v, axis=0) for v in values])
            counts = ops.cast(ops.shape(y_pred)[0], self.count.dtype)
        else:
            mask = ops.cast(mask, values[0].dtype)
            sums = ops.stack([ops.sum(v * mask, axis=0) for v in values])
            counts = ops.sum(mask, axis=0)
        self.totals.assign_add(ops.cast(sums, self.totals.dtype))
        counts = ops.broadcast_to(ops.cast(counts, self.count.dtype), (self.size,))
        self.count.assign_add(counts)

    def result(self):
        """Each slice's means, one vector per name."""
        means = self.totals / ops.maximum(self.count, 1.0)
        return {f"fused_{name}": means[i] for i, name in enumerate(self.names)}

    def reset_state(self):
        """Forgets the samples seen."""
        # zeros, not zeros_like: JAX cannot take a Keras variable's dtype.
        self.totals.assign(ops.zeros(self.totals.shape, self.totals.dtype))
        self.count.assign(ops.zeros(self.count.shape, self.count.dtype))


class _SlicedRates:
    """Mixin: each slice's variables move by its own learning rate.

    Every trainable variable of a `FusedMLP` has the slice axis first, so a
    slice's rate broadcasts as ``(K, 1, ...)``; the optimizer's own learning
    rate is 1.0 and the slice's rate is its trial's learning rate (0.0 once
    the slice has stopped).

    The rates the step reads are the optimizer's own variable
    (``slice_rates``), copied from the model's ``rates`` when the optimizer
    is built and by `sync_rates`: on JAX the train step sees only the
    optimizer's and the model's state passed to it, and the model's
    variables are emptied while an epoch runs, so a step cannot read the
    model's ``rates``.
    """

    rates_source: keras.Variable

    def build(self, variables):
        """Builds the wrapped optimizer, then its per-slice rates."""
        if self.built:
            return
        super().build(variables)
        # An initializer, not an assign: Keras may build the optimizer while
        # tracing (TensorFlow) or in a stateless scope, where an assign is lost.
        start = self._start_rates

        def initial(shape, dtype=None):
            return ops.reshape(ops.convert_to_tensor(start, dtype=dtype), shape)

        self.slice_rates = self.add_variable(
            shape=start.shape, initializer=initial, dtype="float32", name="slice_rates"
        )

    def sync_rates(self) -> None:
        """Takes the model's per-slice rates (call it eagerly, between steps)."""
        values = keras.ops.convert_to_numpy(self.rates_source.value).astype("float32")
        if self.built:
            self.slice_rates.assign(values)
        else:
            object.__setattr__(self, "_start_rates", values)

    def _rate(self, variable, learning_rate):
        shape = (-1,) + (1,) * (len(variable.shape) - 1)
        rates = ops.reshape(ops.cast(self.slice_rates, variable.dtype), shape)
        return ops.cast(learning_rate, variable.dtype) * rates

    def update_step(self, gradient, variable, learning_rate):
        """The wrapped optimizer's step with the slices' rates."""
        return super().update_step(
            gradient, variable, self._rate(variable, learning_rate)
        )

    def _apply_weight_decay(self, variables):
        if self.weight_decay is None:
            return
        for variable in variables:
            if self._use_weight_decay(variable):
                lr = self._rate(variable, self.learning_rate)
                decay = ops.cast(self.weight_decay, variable.dtype)
                variable.assign(variable - variable * decay * lr)


class _PerVariableSteps:
    """Mixin for PyTorch: one `update_step` per variable.

    Keras' PyTorch optimizers update every variable at once
    (``_parallel_update_step``) and never call ``update_step``, so the
    slices' rates would be skipped; this restores the per-variable step,
    without gradient tracking, as the other backends run it: through the
    optimizer's own backend-independent ``_backend_update_step``, which
    also advances its per-step state (Nadam's ``_u_product``: skipped, it
    stayed 1 and the first step divided by zero).
    """

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        import torch  # noqa: PLC0415 - only on the PyTorch backend

        with torch.no_grad():
            _generic_update_step(type(self))(
                self, grads, trainable_variables, learning_rate
            )


def _generic_update_step(cls: type) -> Callable[..., None]:
    """The first ``_backend_update_step`` of ``cls`` not of a Keras backend.

    Past this mixin and the backend's parallel optimizer classes: the
    optimizer's own (Nadam's), else `BaseOptimizer`'s loop over
    ``update_step``.
    """
    for base in cls.__mro__:
        if base is _PerVariableSteps or base.__module__.startswith(
            "keras.src.backend."
        ):
            continue
        if "_backend_update_step" in vars(base):
            return vars(base)["_backend_update_step"]
    raise TypeError(f"{cls.__name__} has no _backend_update_step")  # pragma: no cover


def sliced_optimizer(
    spec: SliceSpec, rates: keras.Variable
) -> keras.optimizers.Optimizer:
    """An optimizer of the slices' class and settings, with per-slice rates.

    Args:
        spec: The slices' optimizer class and settings.
        rates: The model's ``(K,)`` rates variable, copied into the
            optimizer's own state when it is built (see `_SlicedRates`).
    """
    bases: tuple[type, ...] = (_SlicedRates, spec.optimizer)
    if keras.backend.backend() == "torch":
        bases = (_PerVariableSteps, *bases)
    cls = type(f"Sliced{spec.optimizer.__name__}", bases, {})
    optimizer = cls(learning_rate=1.0, **spec.optimizer_config)
    object.__setattr__(optimizer, "rates_source", rates)  # not an optimizer state
    optimizer.sync_rates()
    return optimizer


def slice_rows(indices: Sequence[np.ndarray], num_samples: int) -> np.ndarray:
    """Row indices per slice as one ``(rows, K)`` int array, ``-1``-padded.

    Column ``k`` holds ``indices[k]`` (slice ``k``'s samples, e.g. a fold's
    training rows, negative ones counted from the end of ``num_samples``
    rows) then ``-1`` up to the longest; see `FusedMLP.use_rows`.
    Shuffling the rows (``fit(shuffle=True)``) shuffles every column, so
    each slice sees its own samples in a new order every epoch, and a
    shorter column's padding spreads over the batches.
    """
    longest = max(len(column) for column in indices)
    table = np.full((longest, len(indices)), -1, "int32")
    for k, column in enumerate(indices):
        table[: len(column), k] = np.asarray(column, "int64") % num_samples
    return table


def _masks(sizes: Sequence[int], width: int) -> np.ndarray | None:
    """``(K, 1, width)`` 0/1 masks of each slice's units (``None``: all full)."""
    if all(size == width for size in sizes):
        return None
    mask = np.zeros((len(sizes), 1, width), "float32")
    for k, size in enumerate(sizes):
        mask[k, :, :size] = 1.0
    return mask


class FusedMLP(keras.Model):
    """K same-depth MLPs trained as one model (see the module's docstring).

    Its output has shape ``(batch, K, outputs)``: slice ``k``'s predictions
    are ``output[:, k]``. Train it with `compile_fused` then ``fit``; the logs
    carry ``fused_loss`` / ``fused_<metric>`` vectors (one value per slice).

    Args:
        specs: One `SliceSpec` per slice (`check_same_group` must pass).
        seed: Seed of the dropout masks.
    """

    def __init__(self, specs: Sequence[SliceSpec], seed: int | None = None, **kwargs):
        super().__init__(name=kwargs.pop("name", "fused_mlp"), **kwargs)
        specs = list(specs)
        check_same_group(specs)
        self.specs = specs
        first = specs[0]
        self.size = len(specs)
        self.task = first.task
        self.input_dim = math.prod(first.input_shape)
        depth = len(first.widths)
        self.widths = [max(s.widths[i] for s in specs) for i in range(depth)]
        dims = [self.input_dim, *self.widths, first.output_width]
        self.kernels, self.biases = [], []
        for i in range(depth + 1):
            # The first layer's kernels transposed: see the module's docstring.
            shape = (dims[1], dims[0]) if i == 0 else (dims[i], dims[i + 1])
            self.kernels.append(
                self.add_weight(
                    shape=(self.size, *shape),
                    initializer="zeros",
                    name=f"kernel_{i}",
                )
            )
            self.biases.append(
                self.add_weight(
                    shape=(self.size, 1, dims[i + 1]),
                    initializer="zeros",
                    name=f"bias_{i}",
                )
            )
        self.unit_masks = [
            _masks([s.widths[i] for s in specs], self.widths[i]) for i in range(depth)
        ]
        self.activations = [self._activation_plan(i) for i in range(depth)]
        rates = [
            np.array([s.dropouts[i] for s in specs], "float32") for i in range(depth)
        ]
        self.dropout_rates = [r.reshape(-1, 1, 1) if r.any() else None for r in rates]
        self.seed_generator = (
            keras.random.SeedGenerator(seed)
            if any(r is not None for r in self.dropout_rates)
            else None
        )
        self.rates = self.add_weight(
            shape=(self.size,),
            initializer="zeros",
            trainable=False,
            name="slice_rates",
        )
        self.rates.assign(np.array([s.learning_rate for s in specs], "float32"))
        self.running = self.add_weight(
            shape=(self.size,), initializer="ones", trainable=False, name="running"
        )
        self.slice_metrics = SliceMetrics(self.task, first.metrics, self.size)
        self.rows: keras.Variable | None = None  # see use_rows
        self.targets: keras.Variable | None = None
        # Standardisation: one mean and std for all slices, or one per slice
        # (K, input_dim) where they differ (each cv= fold's own statistics).
        self.mean = self.std = None
        if first.mean is not None:
            means = np.stack([s.mean for s in specs]).astype("float32")
            stds = np.maximum(
                np.sqrt(np.stack([s.variance for s in specs]).astype("float32")),
                keras.backend.epsilon(),
            )
            same = (means == means[0]).all() and (stds == stds[0]).all()
            self.mean, self.std = (means[0], stds[0]) if same else (means, stds)

    def _activation_plan(self, layer: int) -> list[tuple[str, np.ndarray | None]]:
        names = [s.activations[layer] for s in self.specs]
        if len(set(names)) == 1:
            return [(names[0], None)]
        return [
            (name, np.array([n == name for n in names], "float32").reshape(-1, 1, 1))
            for name in sorted(set(names))
        ]

    def use_rows(self, x: np.ndarray, y: np.ndarray) -> None:
        """Each slice trains on its own samples of ``x, y`` (cross-validation).

        The model then takes *row indices* instead of samples: a batch is an
        int array ``(B, K)`` whose column ``k`` holds the rows of ``x`` (and
        ``y``) that slice ``k`` sees, ``-1`` where it has none (a shorter
        fold, padded: `slice_rows`). Pass the same array as ``x`` and ``y``
        to ``fit`` (and as ``validation_data``). Each slice's loss and
        metrics are means over its own samples only.

        Args:
            x: Every sample, ``(N, *input_shape)``.
            y: Every target, ``(N,)`` labels or ``(N, outputs)`` values.

        Raises:
            ValueError: If the model has its rows already.
        """
        if self.rows is not None:
            raise ValueError(
                "FusedMLP.use_rows was called already: give it every sample "
                "once (training and validation rows index the same table)."
            )
        data = np.asarray(x, "float32").reshape(len(x), self.input_dim)
        target = np.asarray(y)
        target = target.astype("int32" if self.task == "classification" else "float32")
        if self.task != "classification":
            target = target.reshape(len(target), -1)
        else:
            target = target.reshape(len(target))
        self.rows = self.add_weight(
            shape=data.shape, initializer="zeros", trainable=False, name="rows"
        )
        self.targets = self.add_weight(
            shape=target.shape,
            initializer="zeros",
            trainable=False,
            dtype=str(target.dtype),
            name="targets",
        )
        self.rows.assign(data)
        self.targets.assign(target)

    def _gather(self, indices):
        """``(samples, targets, mask)`` of a ``(B, K)`` batch of row indices."""
        indices = ops.cast(indices, "int32")
        mask = ops.cast(ops.greater_equal(indices, 0), self.kernels[0].dtype)
        rows = ops.maximum(indices, 0)
        samples = ops.take(self.rows, rows, axis=0)
        return samples, ops.take(self.targets, rows, axis=0), mask

    def call(self, inputs, training=False):
        """Every slice's output for a batch, shape ``(batch, K, outputs)``."""
        if self.rows is not None:  # (B, K) row indices: each slice its samples
            x = self._gather(inputs)[0]
        else:  # (B, ...) samples, the same for every slice
            x = ops.reshape(inputs, (-1, self.input_dim))
        x = ops.cast(x, self.kernels[0].dtype)
        if self.mean is not None and self.mean.ndim == 2 and self.rows is None:
            x = ops.expand_dims(x, 1)  # a std per slice: (B, K, in)
        if self.mean is not None:
            x = ops.divide(ops.subtract(x, self.mean), self.std)
        h = self._first_layer(x)
        for layer in range(len(self.widths)):
            h = self._hidden(h, layer, training)
            h = ops.matmul(h, self.kernels[layer + 1]) + self.biases[layer + 1]
        out = ops.transpose(h, (1, 0, 2))
        activation = self.specs[0].output_activation
        return keras.activations.get(activation)(out)

    def _first_layer(self, x):
        """``(K, B, out)``: the first layer of ``(B, in)`` or ``(B, K, in)`` inputs."""
        kernel = self.kernels[0]  # (K, out, in)
        if len(x.shape) == 3:  # each slice its own inputs: K small products
            h = ops.einsum("bki,koi->kbo", x, kernel)
        else:  # shared inputs: one product with every slice's kernel
            flat = ops.reshape(kernel, (-1, self.input_dim))  # (K * out, in)
            h = ops.matmul(flat, ops.transpose(x))  # (K * out, B)
            h = ops.reshape(h, (self.size, self.widths[0], -1))
            h = ops.transpose(h, (0, 2, 1))
        return h + self.biases[0]

    def _hidden(self, h, layer: int, training):
        # The masks and rates are NumPy arrays: ops.* converts them (a NumPy
        # array on the left of `*` would take a PyTorch tensor into NumPy).
        plan = self.activations[layer]
        if plan[0][1] is None:
            h = keras.activations.get(plan[0][0])(h)
        else:
            h = sum(
                ops.multiply(keras.activations.get(name)(h), mask)
                for name, mask in plan
            )
        rate = self.dropout_rates[layer]
        if training and rate is not None:
            noise = keras.random.uniform(ops.shape(h), seed=self.seed_generator)
            keep = ops.cast(ops.greater_equal(noise, rate), h.dtype)
            h = ops.divide(h * keep, 1.0 - rate)
        mask = self.unit_masks[layer]
        return h if mask is None else ops.multiply(h, mask)

    # -- training ------------------------------------------------------------
    def compile_fused(self, **kwargs) -> None:
        """Compiles with the slices' optimizer (per-slice rates) and loss.

        ``jit_compile`` defaults to `use_xla` of the model's size and, on
        TensorFlow, ``steps_per_execution`` to `STEPS_PER_EXECUTION`
        (PyTorch refuses more than one); other arguments go to ``compile``.
        The optimizer is built here, not by the first training step: on
        TensorFlow a step that creates variables while it is traced is
        traced a second time (0.5 s of a 4 s search of 32 slices of
        64-64-64-10 on digits, 2 CPU cores).
        """
        params = sum(math.prod(v.shape) for v in self.trainable_variables)
        kwargs.setdefault("jit_compile", use_xla(params))
        if keras.backend.backend() == "tensorflow":
            kwargs.setdefault("steps_per_execution", STEPS_PER_EXECUTION)
        self.compile(optimizer=sliced_optimizer(self.specs[0], self.rates), **kwargs)
        self.optimizer.build(self.trainable_variables)

    def fit(self, *args, **kwargs):
        """Keras' ``fit``, validating at `validation_batch_size` unless given.

        Given ``steps_per_epoch`` or ``validation_steps``, the steps run per
        execution divide them: Keras runs whole executions, so 16 steps per
        execution would train 16 steps of an epoch of 5.
        """
        steps = [kwargs.get(k) for k in ("steps_per_epoch", "validation_steps")]
        steps = [int(s) for s in steps if s]
        per_execution = math.gcd(self.steps_per_execution, *steps)
        if per_execution != self.steps_per_execution:
            self.steps_per_execution = per_execution
            self.train_function = self.test_function = None  # made again
        if kwargs.get("validation_batch_size") is None:
            batch = args[2] if len(args) > 2 else kwargs.get("batch_size")
            widest = max(self.input_dim, *self.widths)
            kwargs["validation_batch_size"] = validation_batch_size(
                batch, self.size, widest
            )
        return super().fit(*args, **kwargs)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        """The sum over running slices of each slice's mean loss."""
        del x, sample_weight, training
        if self.rows is None:
            loss = _per_sample_losses(self.task, y, y_pred, ())[0]
            per_slice = ops.mean(loss, axis=0)
        else:  # each slice's mean over its own samples in the batch
            _, targets, mask = self._gather(y)
            self._step_targets = (targets, mask)  # for compute_metrics, see there
            loss = _per_sample_losses(self.task, targets, y_pred, (), per_slice=True)[0]
            mask = ops.cast(mask, loss.dtype)
            seen = ops.maximum(ops.sum(mask, axis=0), 1.0)
            per_slice = ops.sum(loss * mask, axis=0) / seen
        running = ops.greater(self.running, 0.0)
        return ops.sum(ops.where(running, per_slice, ops.zeros_like(per_slice)))

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the per-slice metrics; returns every metric's result."""
        if self.rows is None:
            self.slice_metrics.update_state(y, y_pred)
        else:
            # The targets compute_loss gathered in this step: on JAX the
            # metrics' step sees only the metrics' state, not the row table.
            found = self.__dict__.pop("_step_targets", None)
            targets, mask = found if found is not None else self._gather(y)[1:]
            self.slice_metrics.update_state(targets, y_pred, mask=mask)
        return self.get_metrics_result()

    def stop_slice(self, k: int) -> None:
        """Slice ``k`` stops learning from the next step on."""
        for variable in (self.rates, self.running):
            values = keras.ops.convert_to_numpy(variable).copy()
            values[k] = 0.0
            variable.assign(values)
        if getattr(self, "optimizer", None) is not None:
            self.optimizer.sync_rates()

    # -- slices as ordinary models -------------------------------------------
    def numpy_weights(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every layer's (kernels, biases) as NumPy arrays, all slices.

        Kernels are ``(K, in, out)``, the first layer's too.
        """
        arrays = [
            (keras.ops.convert_to_numpy(k), keras.ops.convert_to_numpy(b))
            for k, b in zip(self.kernels, self.biases, strict=True)
        ]
        arrays[0] = (arrays[0][0].transpose(0, 2, 1), arrays[0][1])
        return arrays

    def slice_arrays(
        self, k: int, arrays: list[tuple[np.ndarray, np.ndarray]] | None = None
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Slice ``k``'s (kernel, bias) per Dense layer, unpadded.

        Args:
            k: The slice.
            arrays: `numpy_weights`, when already read.
        """
        spec = self.specs[k]
        dims = [self.input_dim, *spec.widths, spec.output_width]
        return [
            (kernel[k, : dims[i], : dims[i + 1]], bias[k, 0, : dims[i + 1]])
            for i, (kernel, bias) in enumerate(arrays or self.numpy_weights())
        ]

    def copy_to(self, k: int, model: keras.Model, arrays=None) -> None:
        """Writes slice ``k``'s weights into the trial's own (unfused) model."""
        pairs = zip(
            self.specs[k].layer_names, self.slice_arrays(k, arrays), strict=True
        )
        for name, (w, b) in pairs:
            model.get_layer(name).set_weights([w, b])

    @classmethod
    def from_models(
        cls, models: Sequence[keras.Model], seed: int | None = None
    ) -> FusedMLP:
        """A compiled fused model of the trials' own models, with their weights.

        Args:
            models: Each trial's compiled MLP (see `read_mlp`).
            seed: Seed of the dropout masks.

        Raises:
            NotFusable: If a model is not a plain MLP, or they cannot share
                one fused model (the reason is in the message).
        """
        specs = [read_mlp(model) for model in models]
        fused = cls(specs, seed=seed)
        fused.compile_fused()
        for i, (kernel, bias) in enumerate(
            zip(fused.kernels, fused.biases, strict=True)
        ):
            kernels = np.zeros(kernel.shape, kernel.dtype)
            biases = np.zeros(bias.shape, bias.dtype)
            for k, (spec, model) in enumerate(zip(specs, models, strict=True)):
                w, b = model.get_layer(spec.layer_names[i]).get_weights()
                w = w.T if i == 0 else w  # the first layer's: (out, in)
                kernels[k, : w.shape[0], : w.shape[1]] = w
                biases[k, 0, : b.shape[0]] = b
            kernel.assign(kernels)
            bias.assign(biases)
        return fused

    def subset(self, keep: Sequence[int], seed: int | None = None) -> FusedMLP:
        """A compiled model of the slices ``keep``, with their weights and state.

        Used to compact a group whose slices have mostly stopped: the
        optimizer's per-slice state (moments, step count) goes along.
        """
        keep = list(keep)
        small = FusedMLP([self.specs[k] for k in keep], seed=seed)
        small.compile_fused()
        shared = []
        if self.rows is not None:  # the same samples (the batches pick per slice)
            small.use_rows(
                keras.ops.convert_to_numpy(self.rows),
                keras.ops.convert_to_numpy(self.targets),
            )
            shared = [id(self.rows), id(self.targets)]
        pairs = [
            (old, new)
            for old, new in zip(self.weights, small.weights, strict=True)
            if id(old) not in shared
        ]
        pairs += list(
            zip(self.optimizer.variables, small.optimizer.variables, strict=True)
        )
        for old, new in pairs:
            value = keras.ops.convert_to_numpy(old)
            if value.ndim:  # per slice: keep those slices, trim the padding
                value = value[keep][tuple(slice(0, d) for d in new.shape)]
            new.assign(value)
        return small
