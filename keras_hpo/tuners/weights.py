"""Writing and reading a trial's weights: model weights only, atomically.

A tuned model is wanted for its weights; the optimizer's slots (two more
copies of every weight for Adam) are not needed to use it or to fine-tune
it, so they are left out, which makes each file about three times smaller.

Beside a kept weights file, `save_architecture` writes the model's
architecture as Keras JSON (``checkpoint.model.json`` next to
``checkpoint.weights.h5``, a few kilobytes), so `load_saved_model` makes
the trained model from the two files alone, without the hypermodel
(`keras_hpo.load`).
"""

from __future__ import annotations

import json
import os

import keras

from keras_hpo.compat import load_weights_only
from keras_hpo.compat import save_weights_only
from keras_hpo.files import atomic_write

__all__ = [
    "architecture_file",
    "load_saved_model",
    "load_weights",
    "save_architecture",
    "save_weights",
]

#: What replaces ``.weights.h5`` in a weights file's name for its architecture.
ARCHITECTURE_SUFFIX = ".model.json"


def _skip(model: keras.Model) -> list:
    # An uncompiled model (a hypermodel whose fit only scores it) has none.
    optimizer = getattr(model, "optimizer", None)
    return [optimizer] if optimizer is not None else []


def save_weights(model: keras.Model, path: str, optimizer: bool = False) -> None:
    """Writes the model's weights to ``path`` atomically.

    The file is written under a name of its own next to ``path`` and renamed
    over it (`keras_hpo.files.atomic_write`), so a killed process leaves the
    old file or the new one, never half of one, and two processes never
    share a temporary file.

    Args:
        model: The model.
        path: A ``.weights.h5`` file.
        optimizer: Also save the optimizer's variables (to go on training).
    """

    def write(tmp: str) -> None:
        # Keras >= 3.5 can skip objects; its public API cannot yet.
        save_weights_only(model, tmp, [] if optimizer else _skip(model))

    atomic_write(path, write)


def load_weights(
    model: keras.Model, path: str, optimizer: bool = False, fix: str = ""
) -> None:
    """Loads weights written by `save_weights` into ``model``.

    Args:
        model: A model of the same architecture.
        path: The file.
        optimizer: Also load the optimizer's variables (saved with
            ``optimizer=True``); the optimizer is built first.
        fix: What the user can do if the file cannot be read, for the error.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is damaged (truncated, not HDF5) or does not
            fit the model; the message names the file.
    """
    if not model.built:  # a subclassed model, built by its first call
        _build_as_saved(model, path)
    optimizer = optimizer and getattr(model, "optimizer", None) is not None
    if optimizer and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist. {fix}".strip())
    try:
        load_weights_only(model, path, [] if optimizer else _skip(model))
    except Exception as err:  # noqa: BLE001 - h5py and Keras raise many kinds
        reason = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(
            f"{path} could not be loaded: it is damaged (truncated, or not a "
            f"weights file) or was written for another model "
            f"({type(err).__name__}: {reason}). {fix}".strip()
        ) from err


def _build_as_saved(model: keras.Model, weights_path: str) -> None:
    """Builds an unbuilt model for the input shape it was saved with.

    A subclassed model makes its weights on its first call, so a fresh one
    has none to load into. Keras writes the shape it was built for into the
    model's serialisation (``build_config``), which `save_architecture`
    saved beside the weights (keras-tuner keeps a ``build_config.json``).
    Without that file, or that entry, the model is left as it is.
    """
    path = architecture_file(weights_path)
    try:
        with open(path) as handle:
            config = json.load(handle).get("build_config")
    except (OSError, ValueError, AttributeError):
        return
    if config:
        model.build_from_config(config)


def architecture_file(weights_path: str) -> str:
    """The architecture file beside a weights file."""
    return weights_path.removesuffix(".weights.h5") + ARCHITECTURE_SUFFIX


def save_architecture(model: keras.Model, weights_path: str) -> bool:
    """Writes the model's architecture (Keras JSON) beside its weights file.

    A model Keras cannot serialise (a layer without ``get_config``) gets no
    file; its weights still load into a model the hypermodel builds.

    Returns:
        Whether the file was written.
    """
    try:
        text = model.to_json()
    except Exception:  # noqa: BLE001 - any layer's get_config may raise
        return False

    def write(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write(text)

    atomic_write(architecture_file(weights_path), write)
    return True


def load_saved_model(weights_path: str, fix: str = "") -> keras.Model:
    """The model `save_architecture` and `save_weights` wrote, trained.

    Args:
        weights_path: The weights file (the architecture file is beside it).
        fix: What the user can do if the files cannot be read, for the error.

    Raises:
        FileNotFoundError: If either file does not exist.
        ValueError: If the architecture cannot be made again (a layer class
            that is not registered in this process: import the code that
            defines it) or the weights do not fit it.
    """
    path = architecture_file(weights_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} does not exist. {fix}".strip())
    with open(path) as handle:
        text = handle.read()
    try:
        model = keras.models.model_from_json(text)
    except Exception as err:  # noqa: BLE001 - deserialisation raises many kinds
        raise ValueError(
            f"{path} could not be made into a model ({type(err).__name__}: "
            f"{str(err).strip()[:300]}). If the model has layers of your own, "
            "import the code that registers them "
            "(keras.saving.register_keras_serializable) first. "
            f"{fix}".strip()
        ) from err
    load_weights(model, weights_path, fix=fix)
    return model
