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

Other backends: JAX and PyTorch keep no such process-wide registry of
traced gradients, so on them the block does nothing (``_gradient_registry``
is ``None``).

Threads: the registry is process-wide and a name does not say which thread
registered it. The cleanup is therefore only made when the block was the only
one open in the process for its whole duration: if two blocks overlap (trials
trained in threads of one process), neither removes anything, which leaks as
before but never removes a gradient another trace still needs. Code that
traces models in other threads *outside* any block is not seen; keep such
work out of a running search (keras-tuner's chief/worker mode runs workers as
processes, which is safe).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import keras

from keras_hpo.compat import gradient_registry

__all__ = ["released_gradient_functions"]

_PREFIX = "CustomGradient-"

#: Guards `_open`: the blocks open now, each a set that holds "overlapped"
#: once another block was open at the same time.
_LOCK = threading.Lock()
_open: list[set] = []


def _gradient_registry() -> dict | None:
    """TensorFlow's gradient registry, or ``None`` on another backend."""
    if keras.backend.backend() != "tensorflow":
        return None
    return gradient_registry()


@contextlib.contextmanager
def released_gradient_functions() -> Iterator[None]:
    """Removes the custom gradients registered inside the block when it ends.

    Only names that did not exist when the block began are removed, so
    gradients registered earlier (by the user's own code, or TensorFlow's
    built-in ones) are untouched; nothing is removed when another block was
    open in another thread meanwhile (see the module's note on threads).

    Yields:
        Nothing; the cleanup runs on exit, on errors too.
    """
    registry = _gradient_registry()
    before = set(registry) if registry is not None else set()
    mine: set = set()
    with _LOCK:
        for other in _open:
            other.add("overlapped")
            mine.add("overlapped")
        _open.append(mine)
    try:
        yield
    finally:
        with _LOCK:
            _open.remove(mine)
        if registry is not None and "overlapped" not in mine:
            for name in [n for n in registry if n not in before]:
                if name.startswith(_PREFIX):
                    registry.pop(name, None)
