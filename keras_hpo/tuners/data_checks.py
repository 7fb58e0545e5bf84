"""Checks of the data given to ``search()``, made before any training.

Every check names the argument (``x``, ``y``, ``validation_data``,
``validation_split``, ``epochs``, ``batch_size``), the value received and the
fix, so that bad data fails in a second with a `ConfigError` (a
``ValueError``) or a `ConfigTypeError` (a ``TypeError``) instead of in the
first trial with an error from deep inside Keras. Data that is not an array
(a ``tf.data.Dataset``, a generator, a ``keras.utils.PyDataset``) is passed
through unchecked: reading it would consume it.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = [
    "LabelRule",
    "check_fit_data",
    "check_one_label_per_row",
    "is_parts",
    "lists_as_arrays",
    "num_samples",
    "one_value_per_row",
    "row_count",
]


class LabelRule:
    """What the labels of a task must look like.

    Args:
        task: ``"classification"`` (integer labels in ``[0, num_classes)``),
            ``"binary"`` (0 or 1) or ``"regression"`` (finite numbers).
        num_classes: The number of classes, for ``"classification"``.
        output_dim: The number of regression targets.
    """

    def __init__(self, task: str, num_classes: int | None = None, output_dim: int = 1):
        self.task = task
        self.num_classes = num_classes
        self.output_dim = output_dim

    def check(self, argument: str, y: np.ndarray) -> None:
        """Raises if ``y`` cannot be this task's labels, naming ``argument``."""
        if y.dtype.kind in "USO" or y.dtype.kind not in "biuf":
            encode = (
                "Encode them as integers 0..n-1 first, e.g. with "
                "sklearn.preprocessing.LabelEncoder"
                if self.task != "regression"
                else "Pass numbers"
            )
            raise bad_type(argument, _sample(y), "numeric labels", encode + ".")
        if self.task == "regression":
            _check_finite(argument, y)
            if math.prod(y.shape[1:]) != self.output_dim:
                raise bad_value(
                    argument,
                    Described(f"array of shape {y.shape}", y),
                    f"{math.prod(y.shape[1:])} targets per sample but the "
                    f"hypermodel has output_dim={self.output_dim}",
                    "Pass y of shape (samples,) or (samples, output_dim), or set "
                    "output_dim.",
                )
            return
        high = 2 if self.task == "binary" else self.num_classes
        if y.ndim > 1 and math.prod(y.shape[1:]) != 1:
            one_hot = self.task == "classification" and y.shape[-1] == high
            raise bad_value(
                argument,
                Described(f"array of shape {y.shape}", y),
                "one label per sample is expected"
                + (" (these look one-hot encoded)" if one_hot else ""),
                "Pass integer labels of shape (samples,)"
                + (", e.g. y.argmax(axis=1)." if one_hot else "."),
            )
        _check_finite(argument, y)
        if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
            raise bad_value(
                argument,
                _sample(y[np.mod(y, 1) != 0]),
                "class labels must be whole numbers",
                "Pass integer class indices 0..n-1 (round or encode them).",
            )
        if high is None or y.size == 0:
            return
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
                Described(
                    f"labels from {_number(low_seen)} to {_number(high_seen)} "
                    f"({bad.size} outside, e.g. {_number(bad.flat[0])})",
                    y,
                ),
                what,
                "Encode the labels as 0..num_classes-1, or raise num_classes to "
                "the number of distinct labels.",
            )


def _number(value: Any) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _sample(values: np.ndarray) -> Described:
    """A short description of an array: its first values and dtype."""
    flat = values.ravel()[:3].tolist()
    return Described(f"array of dtype {values.dtype}, e.g. {flat}", values)


def _check_finite(argument: str, values: np.ndarray) -> None:
    if values.dtype.kind not in "fc":
        return
    finite = np.isfinite(values)
    if finite.all():
        return
    rows = np.flatnonzero(~finite.reshape(len(values), -1).all(axis=1))
    nan = int(np.isnan(values).sum())
    raise bad_value(
        argument,
        Described(
            f"{len(rows)} sample(s) with NaN or infinite values ({nan} NaN), the "
            f"first at index {int(rows[0])}",
            values,
        ),
        "training would diverge to NaN",
        "Impute or drop those samples first (e.g. "
        "sklearn.impute.SimpleImputer, or x[np.isfinite(x).all(axis=1)]).",
    )


def _as_array(argument: str, data: Any) -> np.ndarray | None:
    """``data`` as a NumPy array, or ``None`` when it is not array-like."""
    if data is None:
        return None
    if isinstance(data, np.ndarray):
        return data
    if hasattr(data, "to_numpy") and hasattr(data, "shape"):  # pandas
        return np.asarray(data.to_numpy())
    if isinstance(data, (list, tuple)):
        try:
            array = np.asarray(data)
        except ValueError as err:  # ragged nested lists
            raise bad_value(
                argument,
                Described(f"a {type(data).__name__} of {len(data)} items", data),
                f"cannot be read as one array ({err})",
                "Pass a NumPy array with one row per sample.",
            ) from None
        return array
    shape = getattr(data, "shape", None)
    if shape is not None and hasattr(data, "dtype") and hasattr(data, "__array__"):
        return np.asarray(data)  # a tf.Tensor or a jax array
    return None


def is_parts(data: Any) -> bool:
    """A list or tuple of arrays: the inputs of a model with several inputs."""
    return (
        isinstance(data, (list, tuple))
        and bool(data)
        and hasattr(data[0], "shape")
        and np.ndim(data[0]) > 0
    )


def _is_nested_numbers(data: Any) -> bool:
    """A list or tuple of numbers or of rows of numbers (not of arrays).

    NumPy scalars count as numbers (``list(np.array([1, 2]))``).
    """
    return isinstance(data, (list, tuple)) and bool(data) and not is_parts(data)


def num_samples(data: Any) -> int | None:
    """The length of the sample axis of an array or a list, else ``None``."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if _is_nested_numbers(data):
        return len(data)
    return None


def row_count(data: Any) -> int | None:
    """The rows of an array, a pandas object, a list, or a dict/list of arrays.

    ``None`` when there is no sample axis to read, or the parts of a dict
    or list disagree.
    """
    if isinstance(data, dict):
        sizes = {row_count(v) for v in data.values()}
        return sizes.pop() if len(sizes) == 1 else None
    if is_parts(data):
        sizes = {row_count(v) for v in data}
        return sizes.pop() if len(sizes) == 1 else None
    if _is_nested_numbers(data):
        return len(data)
    shape = getattr(data, "shape", None)
    if shape is None or not len(shape) or shape[0] is None:
        return None
    return int(shape[0])


def one_value_per_row(value: Any, rows: int | None) -> bool:
    """Whether a ``fit`` argument holds one value per row of the data.

    An array or pandas object of ``rows`` rows, or a list of ``rows``
    numbers (``sample_weight``, a pipeline's ``clf__sample_weight``).
    """
    if rows is None or value is None or isinstance(value, (str, bytes, dict)):
        return False
    if isinstance(value, (list, tuple)):
        return len(value) == rows and all(
            isinstance(v, (numbers.Number, np.generic)) and not isinstance(v, bool)
            for v in value
        )
    shape = getattr(value, "shape", None)
    return shape is not None and len(shape) > 0 and shape[0] == rows


def check_one_label_per_row(x: Any, y: Any) -> None:
    """Refuses ``y`` with another number of rows than ``x``, naming ``y``.

    Raises:
        ConfigError: When both have a row count and they differ.
    """
    n, labels = row_count(x), row_count(y)
    if n is not None and labels not in (n, None):
        raise bad_value(
            "y",
            Described(f"{labels} labels", y),
            f"not one label per sample of x ({n} samples)",
            "Pass x and y with the same number of rows.",
        )


def lists_as_arrays(fit_args: tuple, fit_kwargs: dict) -> tuple[tuple, dict]:
    """``x`` and ``y`` given as Python lists of numbers, as NumPy arrays.

    Keras' ``validation_split`` slices arrays only. A list of arrays (the
    inputs of a model with several inputs) is left as it is. Call it after
    `check_fit_data`, which refuses ragged lists by name.

    Returns:
        The positional and keyword arguments, with those lists converted.
    """
    args, kwargs = list(fit_args), dict(fit_kwargs)
    for position, name in enumerate(("x", "y")):
        if len(args) > position:
            if _is_nested_numbers(args[position]):
                args[position] = np.asarray(args[position])
        elif _is_nested_numbers(kwargs.get(name)):
            kwargs[name] = np.asarray(kwargs[name])
    return tuple(args), kwargs


def _check_features(argument: str, x: np.ndarray, strict: bool) -> None:
    if x.ndim == 0 or len(x) == 0:
        raise bad_value(
            argument,
            Described(f"array of shape {x.shape}", x),
            "no samples",
            "Pass at least one sample.",
        )
    if not strict:
        return
    if x.dtype.kind not in "biufc":
        try:
            converted = x.astype("float64")
        except (TypeError, ValueError):
            raise bad_type(
                argument,
                _sample(x),
                "numeric features",
                "Encode text or categorical columns as numbers first (e.g. "
                "sklearn.preprocessing.OneHotEncoder or OrdinalEncoder).",
            ) from None
        _check_finite(argument, converted)
        return
    _check_finite(argument, x)


def _check_pair(
    name: str,
    x: np.ndarray,
    y: np.ndarray | None,
    rule: LabelRule | None,
    raw: bool = False,
) -> None:
    """One ``(x, y)`` pair: features, labels, and one label per sample."""
    x_name, y_name = ("x", "y") if name == "" else (f"{name}[0]", f"{name}[1]")
    _check_features(x_name, x, strict=rule is not None and not raw)
    if y is None:
        return
    if y.ndim == 0 or len(y) != len(x):
        raise bad_value(
            y_name,
            Described(f"{len(y) if y.ndim else 'a scalar, not'} labels", y),
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
    if isinstance(split, bool) or not isinstance(split, (int, float, np.floating)):
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


def check_fit_data(
    fit_args: tuple,
    fit_kwargs: dict,
    labels: LabelRule | None = None,
    raw_features: bool = False,
) -> int | None:
    """Refuses training data that cannot train, naming the argument.

    Args:
        fit_args: The positional arguments of ``search()`` (``x, y, ...``).
        fit_kwargs: Its keyword arguments (``x=``, ``y=``,
            ``validation_data=``, ``validation_split=``...).
        labels: What the labels must be, when the hypermodel says (a
            `HyperMLP` does). With it, features must also be finite numbers;
            with ``None`` (a hypermodel of your own, which may handle NaN or
            text itself) only counts, shapes and the fit arguments are
            checked.
        raw_features: The model preprocesses NaN and text itself
            (``HyperMLP(preprocessing="auto")``): features are not checked
            for them, labels still are.

    Returns:
        The number of training samples, when known.

    Raises:
        ValueError: If the data is unusable (a `ConfigError`).
        TypeError: If it has the wrong type (a `ConfigTypeError`).
    """
    raw_x = fit_args[0] if fit_args else fit_kwargs.get("x")
    raw_y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    _check_epochs_and_batch(fit_kwargs)
    if is_parts(raw_x):  # the inputs of a model with several, as Keras takes them
        return _check_parts(raw_x, _as_array("y", raw_y), fit_kwargs, labels)
    x = _as_array("x", raw_x)
    y = _as_array("y", raw_y)
    if x is None:
        _check_split(fit_kwargs.get("validation_split"), None)
        return None
    _check_pair("", x, y, labels, raw_features)
    _check_split(fit_kwargs.get("validation_split"), len(x))
    _check_weights("sample_weight", fit_kwargs.get("sample_weight"), len(x))
    validation = fit_kwargs.get("validation_data")
    if validation is not None:
        _check_validation(validation, x, labels, raw_features)
    return int(len(x))


def _check_parts(
    parts: Any, y: np.ndarray | None, fit_kwargs: dict, labels: LabelRule | None
) -> int:
    """``x`` as a list of arrays, one per input: one row count, one label each."""
    rows = row_count(parts)
    if rows is None:
        counts = [row_count(part) for part in parts]
        raise bad_value(
            "x",
            Described(f"list of {len(parts)} arrays of {counts} rows", parts),
            "the inputs have different numbers of samples",
            "Pass one array per input, each with one row per sample.",
        )
    if y is not None:
        _check_pair("", np.zeros((rows, 1), dtype="float32"), y, labels)
    _check_split(fit_kwargs.get("validation_split"), rows)
    _check_weights("sample_weight", fit_kwargs.get("sample_weight"), rows)
    return rows


def _without_trailing_ones(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A sample shape as Keras matches it to a model's input: (4, 1) as (4,)."""
    shape = tuple(shape)
    while shape and shape[-1] == 1:
        shape = shape[:-1]
    return shape


def _check_weights(argument: str, weights: Any, rows: int) -> None:
    """Refuses sample weights that are not finite numbers, one row per sample.

    One weight per sample (a 1-D array, or ``(samples, 1)``), per time step
    (``(samples, timesteps)``), or per output of a model with several (a
    dict or list of such arrays, each checked).
    """
    if weights is None:
        return
    if isinstance(weights, dict):
        for name, part in weights.items():
            _check_weights(f"{argument}[{name!r}]", part, rows)
        return
    if is_parts(weights):
        for i, part in enumerate(weights):
            _check_weights(f"{argument}[{i}]", part, rows)
        return
    values = np.asarray(weights)
    if values.dtype.kind not in "biuf":
        raise bad_type(
            argument,
            Described(f"array of dtype {values.dtype}", weights),
            "one number per sample",
            "Pass a 1-D array of numeric weights.",
        )
    if values.ndim not in (1, 2) or len(values) != rows:
        raise bad_value(
            argument,
            Described(f"array of shape {values.shape}", weights),
            f"must hold one row of weights per sample, and there are {rows} samples",
            "Pass a 1-D array of one weight per sample, in the samples' order.",
        )
    if not np.isfinite(values).all():
        raise bad_value(
            argument,
            Described(f"array of shape {values.shape}", weights),
            "holds NaN or infinite weights",
            "Pass finite weights (0 leaves a sample out).",
        )


def _check_validation(
    validation: Any, x: np.ndarray, labels: LabelRule | None, raw: bool = False
) -> None:
    if not isinstance(validation, (tuple, list)):
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
            Described(
                f"a {type(validation).__name__} of {len(validation)} items", validation
            ),
            "must be (x_val, y_val) or (x_val, y_val, sample_weight)",
            "Pass validation_data=(x_val, y_val).",
        )
    x_val = _as_array("validation_data[0]", validation[0])
    y_val = _as_array("validation_data[1]", validation[1])
    if x_val is None:
        return
    _check_pair("validation_data", x_val, y_val, labels, raw)
    if len(validation) == 3:
        _check_weights("validation_data[2]", validation[2], len(x_val))
    if _without_trailing_ones(x_val.shape[1:]) != _without_trailing_ones(x.shape[1:]):
        raise bad_value(
            "validation_data[0]",
            Described(f"array of shape {x_val.shape}", x_val),
            f"its samples have shape {x_val.shape[1:]} but x's have {x.shape[1:]}",
            "Pass validation features with the same columns as x.",
        )
