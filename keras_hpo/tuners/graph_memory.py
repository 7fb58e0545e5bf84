"""Frees what TensorFlow keeps of a finished trial's traced graphs.

Keras' TensorFlow trainer sums gradients through the distribution strategy's
``all_reduce``, whose gradient is a ``tf.custom_gradient``. Each trace of a
train step registers that gradient function in TensorFlow's process-wide
gradient registry under a new name (``CustomGradient-<n>``) and never removes
it. The registered function holds the traced step's graph, so every trial's
graphs stay alive after its model is gone, for the whole search (keras-tuner's
own memory growth is the same leak; ``benchmarks/memory.py`` measures it, see
``benchmarks/README.md``).

`released_gradient_functions` removes the names registered while it was
open. A finished trial's compiled functions keep working without them (they
are only read while a step is being traced), so models kept from the trial
still predict and train.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

__all__ = ["released_gradient_functions"]

_PREFIX = "CustomGradient-"


def _gradient_registry() -> dict | None:
    """TensorFlow's gradient registry, or ``None`` on another backend."""
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow without its internals
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


@contextlib.contextmanager
def released_gradient_functions() -> Iterator[None]:
    """Removes the custom gradients registered inside the block when it ends.

    Only names that did not exist when the block began are removed, so
    gradients registered earlier (by the user's own code, or TensorFlow's
    built-in ones) are untouched. Do not trace models in other threads while
    the block is open: their new registrations would be removed as well.

    Yields:
        Nothing; the cleanup runs on exit, on errors too.
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    try:
        yield
    finally:
        if registry is not None:
            for name in [n for n in registry if n not in before]:
                if name.startswith(_PREFIX):
                    registry.pop(name, None)
