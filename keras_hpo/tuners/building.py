"""Building one trial's model: fresh Keras state, then type and size checks.

`ModelBuilder` is a small picklable object, so a trial in its own process
(``isolate_trials=True``) builds exactly as in the search's process.
`prepare_to_fit` builds, before a model trains, the state its first training
step would build. It owns building only; it must not train or record
anything.
"""

from __future__ import annotations

import contextlib
import gc
import math
import random
import threading
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
from keras_tuner import errors as kt_errors
from keras_tuner.engine.tuner import maybe_distribute

from keras_hpo import compat
from keras_hpo.protocols import is_plain_fit

__all__ = [
    "GC_EVERY",
    "ModelBuilder",
    "clear_session",
    "frozen_heap",
    "prepare_to_fit",
    "seed_build",
]

#: A garbage collection runs once per this many trials (a finished trial's
#: Keras objects hold reference cycles that only a collection frees).
GC_EVERY = 10

_FROZEN_LOCK = threading.Lock()
_frozen_depth = 0


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Makes the collections of a search scan only what the search made.

    On entry, a full collection, then ``gc.freeze()``: the objects alive
    when the search starts (TensorFlow's and Keras' modules, the user's data,
    some 400,000 objects) move to Python's permanent generation, so a trial's
    collection no longer walks them (0.15 s -> about 0.01 s per collection on
    digits, measured on a 2-core CPU). On exit, ``gc.unfreeze()`` gives them
    back to the collector: an object of the user's that became cyclic garbage
    during the search is freed then, not earlier. Nested or overlapping
    blocks (threads) unfreeze once, when the last one ends.

    Yields:
        Nothing; the heap is unfrozen on errors too.
    """
    global _frozen_depth
    with _FROZEN_LOCK:
        _frozen_depth += 1
        if _frozen_depth == 1:
            gc.collect()
            gc.freeze()
    try:
        yield
    finally:
        with _FROZEN_LOCK:
            _frozen_depth -= 1
            if _frozen_depth == 0:
                gc.unfreeze()


def seed_build(seed: int) -> None:
    """Seeds what building a model draws from, as ``keras.utils.set_random_seed``.

    Keras' initializers and seed generators take their seeds from Python's
    ``random`` (and Keras' global seed generator), and its random ops are
    stateless: a model built after this has exactly the weights it has
    when built after ``keras.utils.set_random_seed(seed)``. TensorFlow's
    global seed is left alone: setting it clears TensorFlow's kernel
    caches, and the next build makes them again (a HyperMLP 64-64-10 built
    in 26 ms instead of 11 ms on a 2-core CPU). It only seeds TensorFlow's
    own random ops, such as the shuffling of ``fit``: seed with
    ``keras.utils.set_random_seed`` before a model trains. On Keras' other
    backends this is ``keras.utils.set_random_seed``.

    Args:
        seed: The seed.
    """
    if keras.backend.backend() != "tensorflow":
        keras.utils.set_random_seed(seed)
        return
    random.seed(seed)
    np.random.seed(seed)
    compat.set_keras_global_seed(seed)


def prepare_to_fit(
    model: keras.Model, hypermodel: Any, fit_args: tuple, fit_kwargs: dict
) -> None:
    """Builds what a compiled model's first training step would build.

    On TensorFlow, Keras builds the optimizer and the compiled metrics
    while it traces the first training step, and a step that creates
    variables while it is traced is traced a second time. Built here, the
    step is traced once: a trial of HyperMLP 64-64-64-10 on digits (5
    epochs, 2 CPU cores) took 1.01 s instead of 1.31 s, and 1.14 s with its
    optimizer built and not its metrics. Keras' other backends build both
    before the first step: there this does nothing.

    The metrics are built from the shapes of the data's first sample, so
    only when ``model.fit`` gets the data as given (the hypermodel's ``fit``
    is plain, `keras_hpo.protocols.plain_fit`) and ``x`` and ``y`` are
    NumPy arrays; otherwise only the optimizer is built. A model that is
    not built yet (a subclassed model built by its first call) is left to
    Keras.

    Args:
        model: The model about to be trained.
        hypermodel: The hypermodel whose ``fit`` trains it.
        fit_args: The positional arguments its ``fit`` gets (``x``, ``y``).
        fit_kwargs: Its keyword arguments.
    """
    if keras.backend.backend() != "tensorflow" or not model.built:
        return
    if not all(layer.built for layer in model.layers):
        return
    x = fit_args[0] if fit_args else fit_kwargs.get("x")
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    arrays = isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
    # Under the strategy the model was built in (``distribution_strategy=``),
    # as fit builds them: outside it a mirrored model's optimizer failed.
    with model.distribute_strategy.scope():
        if arrays and len(x) and is_plain_fit(hypermodel):
            try:
                compat.symbolic_build(model, (x[:1], y[:1], None))
            except Exception:  # noqa: BLE001 - fit builds it, reports the error
                pass
            return
        optimizer = getattr(model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            optimizer.build(model.trainable_variables)


def clear_session() -> None:
    """``keras.backend.clear_session``, keeping the user's dtype policy.

    Keras forgets its global dtype policy with the rest of its state: a
    ``keras.mixed_precision.set_dtype_policy("mixed_float16")`` set before
    the search would hold for the first trial only (keras-tuner's tuner
    loses it too).
    """
    policy = keras.config.dtype_policy()
    keras.backend.clear_session(free_memory=False)
    keras.config.set_dtype_policy(policy)


class ModelBuilder:
    """Builds models from a hypermodel for a tuner's trials.

    Args:
        hypermodel: A ``keras_tuner.HyperModel``.
        max_model_size: Most trainable parameters, or ``None``.
        distribution_strategy: A ``tf.distribute`` strategy, or ``None``.
        compile_overrides: keras-tuner's ``optimizer``, ``loss`` and
            ``metrics`` tuner arguments (each ``None`` when not given); a
            built model is compiled again with those that are given.
    """

    def __init__(
        self,
        hypermodel: Any,
        max_model_size: int | None = None,
        distribution_strategy: Any = None,
        compile_overrides: tuple = (None, None, None),
    ):
        self.hypermodel = hypermodel
        self.max_model_size = max_model_size
        self.distribution_strategy = distribution_strategy
        self.compile_overrides = compile_overrides

    def fresh(self, hp: Any, trials_started: int) -> keras.Model:
        """Clears Keras' global state (a collection every `GC_EVERY`), then builds."""
        clear_session()
        if trials_started % GC_EVERY == 0:
            gc.collect()
        return self.build(hp)

    def build(self, hp: Any) -> keras.Model:
        """Builds a model for ``hp`` without clearing Keras' state.

        Raises:
            FatalTypeError: If the hypermodel does not return a Keras model.
            FailedTrialError: If the model exceeds ``max_model_size``.
        """
        with maybe_distribute(self.distribution_strategy):
            model = self.hypermodel.build(hp)
            if isinstance(model, keras.Model):
                self._override_compile(model)
        if not isinstance(model, keras.Model):
            raise kt_errors.FatalTypeError(
                "The hypermodel's build() must return a keras.Model. "
                f"Received: {model!r} of type {type(model).__name__}."
            )
        size = sum(math.prod(w.shape) for w in model.trainable_weights)
        if self.max_model_size and size > self.max_model_size:
            raise kt_errors.FailedTrialError(
                f"Oversized model: {size} parameters > max_model_size="
                f"{self.max_model_size}."
            )
        return model

    def _override_compile(self, model: keras.Model) -> None:
        """Compiles the model again with the tuner's optimizer, loss, metrics.

        Each model gets its own copy of an optimizer object. What is not
        overridden is kept as the hypermodel compiled it, from the model's
        compile config: keras-tuner passes ``model.metrics`` back instead,
        which in Keras 3 holds Keras' own ``CompileMetrics`` wrapper, and a
        model compiled with that cannot be saved (``model.save`` fails in
        its ``get_config``).
        """
        optimizer, loss, metrics = self.compile_overrides
        if not (optimizer or loss or metrics):
            return
        if optimizer and not isinstance(optimizer, str):
            optimizer = keras.optimizers.deserialize(
                keras.optimizers.serialize(optimizer)
            )
        arguments = _compile_arguments(model)
        for name, value in (("optimizer", optimizer), ("loss", loss)):
            if value:
                arguments[name] = value
        if metrics:
            arguments["metrics"] = metrics
        model.compile(**arguments)


def _compile_arguments(model: keras.Model) -> dict[str, Any]:
    """The arguments the model was compiled with (as ``compile_from_config``).

    A model that was not compiled, or whose compile config cannot be read
    back (an unregistered custom loss), keeps its optimizer and loss.
    """
    config = model.get_compile_config() if getattr(model, "compiled", False) else None
    if config:
        try:
            return dict(keras.saving.deserialize_keras_object(config))
        except Exception:  # noqa: BLE001 - any custom object may fail to load
            pass
    return {"optimizer": model.optimizer, "loss": model.loss}
