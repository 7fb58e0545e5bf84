"""Checks of the data given to ``predict``, ``predict_proba`` and ``score``.

``search`` refuses bad data by name before any training
(`data_checks.check_fit_data`); a trained model's ``predict`` would
otherwise answer NaN features with confident labels, and other bad input
with an error from deep inside Keras or TensorFlow. Here a Keras model's
input is checked against what it takes: at least one sample, the sample
shape it was built for, numbers, and finite values (a model tuned on a
table, whose preprocessing imputes missing values, takes its rows as a
pandas DataFrame instead). Lists of numbers are taken as arrays, as
``search`` takes them. Data that is not array-like (a ``tf.data.Dataset``, a
dict or list of several inputs) is passed on unchecked.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.tabular import input_names
from keras_hpo.hypermodels.tabular import is_frame
from keras_hpo.hypermodels.tabular import model_inputs

__all__ = ["prediction_inputs"]


def _sample_shape(model: Any) -> tuple[int, ...] | None:
    """The shape of one sample the model takes, when it has one array input."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):  # not built, or several inputs
        return None
    if not isinstance(shape, tuple) or any(
        d is None or isinstance(d, (tuple, list)) for d in shape[1:]
    ):
        return None
    return tuple(int(d) for d in shape[1:])


def _check_array(x: np.ndarray, expected: tuple[int, ...] | None) -> np.ndarray:
    if x.ndim == 0 or len(x) == 0:
        raise bad_value(
            "x",
            Described(f"array of shape {x.shape}", x),
            "no samples",
            "Pass at least one sample.",
        )
    if expected is not None and x.ndim == 1 and len(expected) == 1:
        raise bad_value(
            "x",
            Described(f"array of shape {x.shape}", x),
            "a 1-D array: one sample needs its sample axis",
            "Pass x.reshape(1, -1) for one sample, or a 2-D array of samples.",
        )
    if expected is not None and tuple(x.shape[1:]) != expected:
        if x.ndim < 2 or math.prod(x.shape[1:]) != math.prod(expected):
            raise bad_value(
                "x",
                Described(f"array of shape {x.shape}", x),
                f"samples of shape {tuple(x.shape[1:])}, but the model takes "
                f"samples of shape {expected}",
                "Pass the features the search was tuned on, in the same order.",
            )
        # As many values per sample: images flattened (784 for 28x28), or
        # flat rows of a model that takes images: its own shape.
        x = x.reshape((len(x), *expected))
    if x.dtype.kind not in "biufc":
        try:
            x = x.astype("float32")
        except (TypeError, ValueError):
            raise bad_type(
                "x",
                f"array of dtype {x.dtype}",
                "numeric features",
                "Encode text or categorical columns as numbers, as in the data "
                "the model was tuned on.",
            ) from None
    finite = (
        np.isfinite(x).reshape(len(x), -1).all(axis=1) if x.dtype.kind in "fc" else None
    )
    if finite is not None and not finite.all():
        rows = np.flatnonzero(~finite)
        raise bad_value(
            "x",
            f"{len(rows)} sample(s) with NaN or infinite values, the first at "
            f"index {int(rows[0])}",
            "the model's predictions for them would be meaningless",
            "Impute or drop those samples first, as for the data the search was given.",
        )
    return x


def prediction_inputs(model: Any, x: Any) -> Any:
    """``x`` checked and in the form ``model`` takes (see the module docstring).

    Args:
        model: A trained Keras model.
        x: The inputs given to ``predict``, ``predict_proba`` or ``score``.

    Returns:
        What to pass to ``model.predict``: a DataFrame as named columns for a
        model tuned on a table (`tabular.model_inputs`), a list as an array.

    Raises:
        ConfigError: If there are no samples, a sample has another shape,
            or a value is NaN or infinite.
        ConfigTypeError: If a model tuned on a table is not given a
            DataFrame, or the features are not numbers.
    """
    names = input_names(model)
    if names is None and len(getattr(model, "inputs", None) or ()) > 1:
        return x  # several unnamed inputs: Keras checks them
    if names is not None:
        if isinstance(x, dict):
            return x
        if not is_frame(x):
            raise bad_type(
                "x",
                type(x).__name__,
                "a pandas DataFrame (the model was tuned on a table)",
                f"Pass pandas.DataFrame(rows, columns=[...]) with the columns "
                f"{', '.join(names)}.",
            )
        if len(x) == 0:
            raise bad_value(
                "x", "a DataFrame with no rows", "no samples", "Pass at least one row."
            )
        return model_inputs(model, x)
    if is_frame(x) or (hasattr(x, "to_numpy") and hasattr(x, "shape")):
        x = np.asarray(x.to_numpy())
    elif isinstance(x, (list, tuple)):
        try:
            x = np.asarray(x)
        except ValueError:  # ragged: as it is, for Keras to refuse
            return x
    if not isinstance(x, np.ndarray):
        return x
    return _check_array(x, _sample_shape(model))
