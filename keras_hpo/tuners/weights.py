"""Writing and reading a trial's weights: model weights only, atomically.

A tuned model is wanted for its weights; the optimizer's slots (two more
copies of every weight for Adam) are not needed to use it or to fine-tune
it, so they are left out, which makes each file about three times smaller.
"""

from __future__ import annotations

import os

import keras

__all__ = ["load_weights", "save_weights"]

try:  # Keras >= 3.5 can skip objects; the public API cannot yet.
    from keras.src.saving import saving_lib as _saving_lib
except ImportError:  # pragma: no cover - other Keras layouts
    _saving_lib = None


def _skip(model: keras.Model) -> list:
    return [model.optimizer] if model.optimizer is not None else []


def save_weights(model: keras.Model, path: str, optimizer: bool = False) -> None:
    """Writes the model's weights to ``path`` atomically.

    The file is written next to ``path`` and renamed over it, so a killed
    process leaves the old file or the new one, never half of one.

    Args:
        model: The model.
        path: A ``.weights.h5`` file.
        optimizer: Also save the optimizer's variables (to go on training).
    """
    tmp = path[: -len(".weights.h5")] + ".partial.weights.h5"
    try:
        if _saving_lib is not None:
            skip = [] if optimizer else _skip(model)
            _saving_lib.save_weights_only(model, tmp, objects_to_skip=skip)
        else:  # pragma: no cover
            model.save_weights(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_weights(model: keras.Model, path: str, optimizer: bool = False) -> None:
    """Loads weights written by `save_weights` into ``model``.

    Args:
        model: A model of the same architecture.
        path: The file.
        optimizer: Also load the optimizer's variables (saved with
            ``optimizer=True``); the optimizer is built first.
    """
    if optimizer and model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    if _saving_lib is not None:
        skip = [] if optimizer else _skip(model)
        _saving_lib.load_weights_only(model, path, objects_to_skip=skip)
    else:  # pragma: no cover
        model.load_weights(path)
