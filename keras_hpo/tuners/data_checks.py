"""Checks of the data given to ``search()``, made before any training.

Every check names the argument (``x``, ``y``, ``validation_data``,
``validation_split``, ``sample_weight``, ``epochs``...), the value received and
the fix, so that bad data fails in a second with a `ConfigError` (a
``ValueError``) or a `ConfigTypeError` (a ``TypeError``) instead of in the
first trial with an error from deep inside Keras.

Two levels:

* For any hypermodel: counts and shapes (``x`` and ``y`` of the same length,
  no empty arrays, validation features shaped like ``x``), ``epochs``,
  ``batch_size`` and ``validation_split``.
* When the hypermodel says what its labels are (a `HyperMLP` trained by the
  plain ``fit``, see `LabelRule`): also finite numeric features, labels of
  the task, the keyword arguments ``Model.fit`` knows, ``sample_weight``,
  ``class_weight``, ``initial_epoch`` and ``callbacks``. A hypermodel of
  your own gets its data untouched: it may handle NaN, text or odd types
  itself.

Data that is not an array (a ``tf.data.Dataset``, a generator, a
``keras.utils.PyDataset``) is passed through unchecked: reading it would
consume it. The checks are vectorised and copy nothing for NumPy arrays of a
numeric dtype.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from typing import Any

import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = ["LabelRule", "check_fit_data", "num_samples"]

#: Values that are never a batch of samples (a scalar, text, a set, a mapping).
_NOT_ARRAYS = (str, bytes, numbers.Number, np.generic, set, frozenset, dict)

#: The largest magnitude a float32 (Keras' default float type) holds.
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_ARRAY_FIX = "Pass a NumPy array (or a pandas DataFrame/Series, or a tensor)."


class LabelRule:
    """What the labels of a task must look like.

    Args:
        task: ``"classification"`` (integer labels in ``[0, num_classes)``),
            ``"binary"`` (0 or 1) or
            ``"regression"`` (finite numbers).
        num_classes: The number of classes, for ``"classification"``.
        output_dim: The number of regression targets.

    Example:
        >>> LabelRule("classification", num_classes=3).check("y", np.array([0, 3]))
        Traceback (most recent call last):
        ...
        keras_hpo.errors.ConfigError: `y`: labels must lie in [0, 3) ...
    """

    def __init__(self, task: str, num_classes: int | None = None, output_dim: int = 1):
        self.task = task
        self.num_classes = num_classes
        self.output_dim = output_dim

    @property
    def high(self) -> int | None:
        """One more than the largest label allowed (``None``: regression)."""
        if self.task == "regression":
            return None
        return 2 if self.task == "binary" else self.num_classes

    def check(self, argument: str, y: np.ndarray) -> None:
        """Raises if ``y`` cannot be this task's labels, naming ``argument``.

        Args:
            argument: The argument's name, e.g. ``"y"``.
            y: The labels, as an array.

        Raises:
            ValueError: For labels of the wrong shape or out of range.
            TypeError: For labels that are not numbers.
        """
        if y.dtype.kind not in "biuf":
            encode = (
                "Encode them as integers 0..n-1 first, e.g. with "
                "sklearn.preprocessing.LabelEncoder"
                if self.task != "regression"
                else "Pass numbers, e.g. y.astype('float32')"
            )
            raise bad_type(argument, _sample(y), "numeric labels", encode + ".")
        if self.task == "regression":
            self._check_targets(argument, y)
            return
        high = self.high
        if y.ndim > 1 and math.prod(y.shape[1:]) != 1:
            one_hot = self.task == "classification" and y.shape[-1] == high
            raise bad_value(
                argument,
                f"array of shape {y.shape}",
                "one label per sample is expected"
                + (" (these look one-hot encoded)" if one_hot else ""),
                "Pass integer labels of shape (samples,)"
                + (", e.g. y.argmax(axis=1)." if one_hot else "."),
            )
        _check_finite(argument, y)
        if y.size == 0:
            return
        if y.dtype.kind == "f":
            fractional = np.mod(y, 1) != 0
            if fractional.any():
                raise bad_value(
                    argument,
                    _sample(y[fractional]),
                    "class labels must be whole numbers",
                    "Pass integer class indices 0..n-1 (round or encode them).",
                )
        low_seen, high_seen = y.min(), y.max()
        if low_seen < 0 or high_seen >= high:
            bad = y[(y < 0) | (y >= high)]
            what = (
                "labels must be 0 or 1 for task='binary'"
                if self.task == "binary"
                else f"labels must lie in [0, {high}) for num_classes={high}"
            )
            raise bad_value(
                argument,
                f"labels from {_number(low_seen)} to {_number(high_seen)} "
                f"({bad.size} outside, e.g. {_number(bad.flat[0])})",
                what,
                "Encode the labels as 0..num_classes-1, or raise num_classes to "
                "the number of distinct labels.",
            )

    def _check_targets(self, argument: str, y: np.ndarray) -> None:
        _check_finite(argument, y)
        per_sample = math.prod(y.shape[1:]) if y.ndim > 1 else 1
        if per_sample != self.output_dim:
            raise bad_value(
                argument,
                f"array of shape {y.shape}",
                f"{per_sample} target(s) per sample but the hypermodel has "
                f"output_dim={self.output_dim}",
                "Pass y of shape (samples,) for one target or (samples, "
                "output_dim), or set output_dim to the number of targets.",
            )


def _number(value: Any) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _sample(values: np.ndarray) -> str:
    """A short description of an array: its first values and dtype."""
    flat = values.ravel()[:3].tolist()
    return f"array of dtype {values.dtype}, e.g. {flat}"


def _check_finite(argument: str, values: np.ndarray) -> None:
    """Refuses NaN, infinite values and floats float32 cannot hold.

    Two reductions (``min`` and ``max``, which propagate NaN) and no copy in
    the common case; the offending samples are only located on failure.
    """
    if values.dtype.kind != "f" or values.size == 0:
        return
    low, high = float(values.min()), float(values.max())
    if math.isfinite(low) and math.isfinite(high):
        if values.dtype.itemsize > 4 and max(-low, high) > _FLOAT32_MAX:
            rows = np.flatnonzero(
                (np.abs(values) > _FLOAT32_MAX).reshape(len(values), -1).any(axis=1)
            )
            raise bad_value(
                argument,
                f"{len(rows)} sample(s) with values beyond float32's range "
                f"(+-{_FLOAT32_MAX:.3g}), the first at index {int(rows[0])}",
                "Keras trains in float32, where they become infinite",
                "Rescale them (e.g. sklearn.preprocessing.StandardScaler) or "
                "drop those samples.",
            )
        return
    finite = np.isfinite(values)
    rows = np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))
    nan = int(np.isnan(values).sum())
    raise bad_value(
        argument,
        f"{len(rows)} sample(s) with NaN or infinite values ({nan} NaN), the "
        f"first at index {int(rows[0])}",
        "training would diverge to NaN",
        "Impute or drop those samples first (e.g. "
        "sklearn.impute.SimpleImputer, or x[np.isfinite(x).all(axis=1)]).",
    )


def _is_pandas(data: Any) -> bool:
    return hasattr(data, "to_numpy") and hasattr(data, "shape")


def _check_pandas_dtypes(argument: str, data: Any) -> None:
    """Refuses pandas columns Keras cannot read (category, string, nullable)."""
    dtypes = getattr(data, "dtypes", None)
    if dtypes is None:
        return
    if hasattr(dtypes, "items"):  # a DataFrame: one dtype per column
        columns = list(dtypes.items())
    else:  # a Series
        columns = [(None, dtypes)]
    for column, dtype in columns:
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            continue
        what = f"a pandas {type(data).__name__}"
        what += f" whose column {column!r} has" if hasattr(dtypes, "items") else " of"
        raise bad_type(
            argument,
            f"{what} dtype {dtype}",
            "numbers of a NumPy dtype",
            "Encode it as numbers first (categories: .cat.codes; text: "
            "sklearn.preprocessing.OrdinalEncoder or LabelEncoder; nullable "
            "columns: fill missing values, then .astype('float32')).",
        )


def _as_array(argument: str, data: Any, strict: bool = False) -> np.ndarray | None:
    """``data`` as a NumPy array, or ``None`` when it is not array-like.

    Args:
        argument: The argument's name, for errors.
        data: What the user passed.
        strict: Also refuse what Keras cannot train on: values that are
            never a batch of samples (a scalar, text, a dict, a set), Python
            lists and pandas columns of a non-NumPy dtype.

    Raises:
        TypeError: For those values, when ``strict``.
        ValueError: For ragged nested lists.
    """
    if data is None:
        return None
    if isinstance(data, np.ndarray):
        return data
    if strict and isinstance(data, _NOT_ARRAYS):
        raise bad_type(argument, data, "an array with one row per sample", _ARRAY_FIX)
    if _is_pandas(data):
        if strict:
            _check_pandas_dtypes(argument, data)
        return np.asarray(data.to_numpy())
    if isinstance(data, (list, tuple)):
        try:
            array = np.asarray(data)
        except ValueError as err:  # ragged nested lists
            raise bad_value(
                argument,
                f"a {type(data).__name__} of {len(data)} items",
                f"cannot be read as one array ({err})",
                "Pass a NumPy array with one row per sample.",
            ) from None
        if strict:  # Keras 3 reads no Python lists of numbers
            raise bad_type(
                argument,
                f"a {type(data).__name__} of {len(data)} items",
                "an array (Keras 3 does not train on Python lists)",
                f"Pass np.asarray({argument.split('[')[0]}) instead"
                + (
                    f" (it reads as an array of shape {array.shape})."
                    if array.ndim
                    else "."
                ),
            )
        return array
    shape = getattr(data, "shape", None)
    if shape is not None and hasattr(data, "dtype") and hasattr(data, "__array__"):
        return np.asarray(data)  # a tf.Tensor or a jax array
    return None


def num_samples(data: Any) -> int | None:
    """The length of the sample axis of an array or a list, else ``None``."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if isinstance(data, (list, tuple)) and data and not hasattr(data[0], "shape"):
        return len(data)
    return None


def _check_features(argument: str, x: np.ndarray, strict: bool) -> None:
    if x.ndim == 0 or len(x) == 0:
        raise bad_value(
            argument,
            f"array of shape {x.shape}",
            "no samples",
            "Pass at least one sample.",
        )
    if not strict:
        return
    if x.ndim > 1 and math.prod(x.shape[1:]) == 0:
        raise bad_value(
            argument,
            f"array of shape {x.shape}",
            "its samples have no features",
            "Pass at least one feature column.",
        )
    kind = x.dtype.kind
    if kind in "biuf":
        _check_finite(argument, x)
        return
    if kind == "c":
        raise bad_type(
            argument,
            _sample(x),
            "real numbers",
            "Split complex features into real columns, e.g. "
            "np.concatenate([x.real, x.imag], axis=1).",
        )
    if kind in "mM":
        raise bad_type(
            argument,
            _sample(x),
            "numeric features",
            "Turn dates and durations into numbers first (e.g. "
            "x.astype('int64') for seconds, then scale them).",
        )
    converted = None
    if kind == "O":
        try:
            converted = x.astype("float64")
        except (TypeError, ValueError):
            converted = None
    if converted is None:
        raise bad_type(
            argument,
            _sample(x),
            "numeric features",
            "Encode text or categorical columns as numbers first (e.g. "
            "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder).",
        )
    _check_finite(argument, converted)
    raise bad_type(
        argument,
        _sample(x),
        "an array of a numeric dtype",
        f"Keras cannot train on dtype object; pass {argument.split('[')[0]}"
        ".astype('float32') (the values are all numbers).",
    )


def _check_pair(
    name: str, x: np.ndarray, y: np.ndarray | None, rule: LabelRule | None
) -> None:
    """One ``(x, y)`` pair: features, labels, and one label per sample."""
    x_name, y_name = ("x", "y") if name == "" else (f"{name}[0]", f"{name}[1]")
    _check_features(x_name, x, strict=rule is not None)
    if y is None:
        return
    if y.ndim == 0 or len(y) != len(x):
        raise bad_value(
            y_name,
            f"{len(y) if y.ndim else 'a scalar, not'} labels",
            f"{x_name} has {len(x)} samples but {y_name} has "
            f"{len(y) if y.ndim else 'none'}",
            "Pass one label per sample.",
        )
    if rule is not None:
        rule.check(y_name, y)


def _check_epochs_and_batch(fit_kwargs: dict) -> None:
    for key in ("epochs", "batch_size"):
        if key not in fit_kwargs or (key == "batch_size" and fit_kwargs[key] is None):
            continue
        value = fit_kwargs[key]
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise bad_type(
                key, value, "an int", f"E.g. {key}={32 if key[0] == 'b' else 10}."
            )
        if value < 1:
            raise bad_value(
                key, value, "must be >= 1", f"E.g. {key}={32 if key[0] == 'b' else 10}."
            )


def _check_split(split: Any, n: int | None) -> None:
    if split is None:
        return
    if isinstance(split, (bool, np.bool_)) or not isinstance(
        split, (int, float, np.integer, np.floating)
    ):
        raise bad_type(
            "validation_split", split, "a float in [0, 1)", "E.g. validation_split=0.2."
        )
    if not 0 <= split < 1:
        raise bad_value(
            "validation_split",
            split,
            "must be in [0, 1): the fraction of x held out for validation",
            "E.g. validation_split=0.2.",
        )
    if n is None or split == 0:
        return
    train = int(math.floor(n * (1.0 - split)))
    if train < 1 or n - train < 1:
        raise bad_value(
            "validation_split",
            split,
            f"leaves {train} training and {n - train} validation samples of {n}",
            "Pass more samples, or a split that keeps at least one on each side.",
        )


@functools.cache
def _fit_signature() -> inspect.Signature:
    import keras

    return inspect.signature(keras.Model.fit)


def _check_fit_arguments(fit_args: tuple, fit_kwargs: dict) -> None:
    """Refuses what ``keras.Model.fit`` would refuse: unknown or repeated names."""
    signature = _fit_signature()
    known = [name for name in signature.parameters if name != "self"]
    for key in fit_kwargs:
        if key not in known:
            raise bad_type(
                key,
                fit_kwargs[key],
                "an argument of keras.Model.fit (it is passed there)",
                f"Remove it. search() passes on: {', '.join(known)}.",
            )
    if len(fit_args) > len(known):
        raise bad_type(
            "*args",
            f"{len(fit_args)} positional arguments",
            f"at most {len(known)} positional arguments, as keras.Model.fit "
            f"takes ({', '.join(known)})",
            "Pass x and y by position and everything else by keyword, e.g. "
            "search(x, y, epochs=10, validation_split=0.2).",
        )
    for key in known[: len(fit_args)]:
        if key in fit_kwargs:
            raise bad_type(
                key,
                fit_kwargs[key],
                "given once, but it was also passed by position",
                "Pass x and y by position and everything else by keyword, e.g. "
                "search(x, y, epochs=10, validation_split=0.2).",
            )


def _check_weights(argument: str, weights: Any, n: int, strict: bool = True) -> None:
    """Per-sample weights: one non-negative finite number per sample."""
    if weights is None:
        return
    array = _as_array(argument, weights, strict=strict)
    if array is None:
        if strict:
            raise bad_type(
                argument, weights, "an array of one weight per sample", _ARRAY_FIX
            )
        return
    if array.ndim == 0 or len(array) != n:
        raise bad_value(
            argument,
            f"array of shape {array.shape}",
            f"one weight per sample is expected, for {n} samples",
            "Pass an array of shape (samples,).",
        )
    if not strict:
        return
    if array.dtype.kind not in "biuf":
        raise bad_type(
            argument, _sample(array), "numeric weights", "Pass an array of floats."
        )
    _check_finite(argument, array)
    if array.size and array.min() < 0:
        raise bad_value(
            argument,
            f"{int((array < 0).sum())} negative weight(s), e.g. {_number(array.min())}",
            "sample weights must be >= 0",
            "Pass non-negative weights (0 ignores a sample).",
        )


def _check_class_weight(class_weight: Any, rule: LabelRule) -> None:
    if class_weight is None:
        return
    if rule.high is None:
        raise bad_value(
            "class_weight",
            class_weight,
            "only classification has classes to weight",
            "Use sample_weight= for regression.",
        )
    if not isinstance(class_weight, dict):
        raise bad_type(
            "class_weight",
            class_weight,
            "a dict {class index: weight}",
            "E.g. class_weight={0: 1.0, 1: 5.0}.",
        )
    for key, weight in class_weight.items():
        if (
            isinstance(key, (bool, np.bool_))
            or not isinstance(key, (int, np.integer))
            or not 0 <= key < rule.high
        ):
            raise bad_value(
                "class_weight",
                class_weight,
                f"its keys must be class indices in [0, {rule.high}), not {key!r}",
                "Key it by the integer labels, e.g. class_weight={0: 1.0, 1: 5.0}.",
            )
        if (
            isinstance(weight, (bool, np.bool_))
            or not isinstance(weight, (int, float, np.integer, np.floating))
            or not math.isfinite(weight)
            or weight < 0
        ):
            raise bad_value(
                "class_weight",
                class_weight,
                f"class {key}'s weight must be a finite number >= 0, not {weight!r}",
                "E.g. class_weight={0: 1.0, 1: 5.0}.",
            )


def _check_initial_epoch(fit_kwargs: dict) -> None:
    if "initial_epoch" not in fit_kwargs:
        return
    value = fit_kwargs["initial_epoch"]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad_type("initial_epoch", value, "an int", "E.g. initial_epoch=0.")
    epochs = fit_kwargs.get("epochs", 1)
    if not 0 <= value < epochs:
        raise bad_value(
            "initial_epoch",
            value,
            f"must be in [0, epochs={epochs}): no epoch would run",
            "Leave it out (resuming an interrupted search continues each trial "
            "by itself), or raise epochs.",
        )


def _check_callbacks(callbacks: Any) -> None:
    import keras

    if callbacks is None:
        return
    if not isinstance(callbacks, (list, tuple)):
        raise bad_type(
            "callbacks",
            callbacks,
            "a list of keras.callbacks.Callback",
            "E.g. callbacks=[keras.callbacks.TerminateOnNaN()].",
        )
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise bad_type(
                f"callbacks[{index}]",
                callback,
                "a keras.callbacks.Callback",
                "Pass Keras callbacks here; keras_hpo.callbacks.SearchCallback "
                "objects go to the tuner's search_callbacks=.",
            )


def check_fit_data(
    fit_args: tuple, fit_kwargs: dict, labels: LabelRule | None = None
) -> int | None:
    """Refuses training data that cannot train, naming the argument.

    Args:
        fit_args: The positional arguments of ``search()`` (``x, y, ...``).
        fit_kwargs: Its keyword arguments (``x=``, ``y=``,
            ``validation_data=``, ``validation_split=``...).
        labels: What the labels must be, when the hypermodel says (a
            `HyperMLP` does). With it, features must also be finite numbers,
            ``y`` is required with array features, and the other ``fit``
            arguments are checked too; with ``None`` (a hypermodel of your
            own, which may handle NaN or text itself) only counts, shapes,
            ``epochs``, ``batch_size`` and ``validation_split`` are checked.

    Returns:
        The number of training samples, when known.

    Raises:
        ValueError: If the data is unusable (a `ConfigError`).
        TypeError: If it has the wrong type (a `ConfigTypeError`).

    Example:
        >>> check_fit_data((np.zeros((4, 2)), np.zeros(3)), {})
        Traceback (most recent call last):
        ...
        keras_hpo.errors.ConfigError: `y`: x has 4 samples but y has 3. ...
    """
    strict = labels is not None
    raw_x = fit_args[0] if fit_args else fit_kwargs.get("x")
    raw_y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    if strict:
        _check_fit_arguments(fit_args, fit_kwargs)
    _check_epochs_and_batch(fit_kwargs)
    if strict:
        _check_initial_epoch(fit_kwargs)
        _check_callbacks(fit_kwargs.get("callbacks"))
    if strict and raw_x is None:
        raise bad_value(
            "x",
            None,
            "search() was given no training data",
            "Pass search(x, y, ...) with x of shape (samples, features).",
        )
    x = _as_array("x", raw_x, strict)
    y = _as_array("y", raw_y, strict)
    split = fit_kwargs.get("validation_split")
    if x is None:
        _check_split(split, None)
        if strict and split:
            raise bad_value(
                "validation_split",
                split,
                f"only arrays can be split, and x is a {type(raw_x).__name__}",
                "Pass validation_data= (a dataset of its own) instead.",
            )
        if strict and raw_y is not None:
            raise bad_value(
                "y",
                f"labels given with x of type {type(raw_x).__name__}",
                "a dataset or generator yields its labels itself",
                "Leave y out, or pass x as an array.",
            )
        return None
    if strict and y is None:
        if raw_y is None:
            raise bad_value(
                "y",
                None,
                "the hypermodel learns from labels, but search() got none",
                "Pass search(x, y, ...) with one label per sample.",
            )
        raise bad_type("y", raw_y, "an array of one label per sample", _ARRAY_FIX)
    _check_pair("", x, y, labels)
    _check_split(split, len(x))
    if strict:
        _check_weights("sample_weight", fit_kwargs.get("sample_weight"), len(x))
        _check_class_weight(fit_kwargs.get("class_weight"), labels)
        if fit_kwargs.get("class_weight") is not None and (
            fit_kwargs.get("sample_weight") is not None
        ):
            raise bad_value(
                "class_weight",
                fit_kwargs["class_weight"],
                "given together with sample_weight, which Keras refuses",
                "Fold the class weights into sample_weight (multiply each "
                "sample's weight by its class's), and pass only sample_weight.",
            )
    validation = fit_kwargs.get("validation_data")
    if validation is not None:
        _check_validation(validation, x, labels)
    return int(len(x))


def _check_validation(validation: Any, x: np.ndarray, labels: LabelRule | None) -> None:
    strict = labels is not None
    if not isinstance(validation, (tuple, list)):
        if strict and isinstance(validation, _NOT_ARRAYS):
            raise bad_type(
                "validation_data",
                validation,
                "a tuple (x_val, y_val)",
                "Pass validation_data=(x_val, y_val).",
            )
        if _as_array("validation_data", validation) is not None:
            raise bad_type(
                "validation_data",
                _sample(np.asarray(validation)),
                "a tuple (x_val, y_val)",
                "Pass validation_data=(x_val, y_val).",
            )
        return  # a tf.data.Dataset or a generator
    if len(validation) not in (2, 3):
        raise bad_value(
            "validation_data",
            f"a {type(validation).__name__} of {len(validation)} items",
            "must be (x_val, y_val) or (x_val, y_val, sample_weight)",
            "Pass validation_data=(x_val, y_val).",
        )
    x_val = _as_array("validation_data[0]", validation[0], strict)
    y_val = _as_array("validation_data[1]", validation[1], strict)
    if x_val is None:
        if strict:
            raise bad_type(
                "validation_data[0]",
                validation[0],
                "an array of validation features",
                "Pass validation_data=(x_val, y_val) with arrays shaped like x and y.",
            )
        return
    if strict and y_val is None:
        raise bad_type(
            "validation_data[1]",
            validation[1],
            "an array of one label per validation sample",
            "Pass validation_data=(x_val, y_val).",
        )
    _check_pair("validation_data", x_val, y_val, labels)
    if math.prod(x_val.shape[1:]) != math.prod(x.shape[1:]):
        raise bad_value(
            "validation_data[0]",
            f"array of shape {x_val.shape}",
            f"its samples have shape {x_val.shape[1:]} but x's have {x.shape[1:]}",
            "Pass validation features with the same columns as x.",
        )
    if len(validation) == 3:
        _check_weights("validation_data[2]", validation[2], len(x_val), strict)
