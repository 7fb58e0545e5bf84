"""Cross-validation: which samples train and which validate each fold.

``cv=`` on a tuner takes what scikit-learn's search classes take: an int
(k folds: ``StratifiedKFold`` when the hypermodel classifies and the labels
are class labels, else ``KFold``, both unshuffled, as
``sklearn.model_selection.check_cv`` chooses), a scikit-learn splitter, or an
iterable of ``(train, test)`` index pairs. `Folds` holds the index pairs of
one search's data and slices ``fit``'s arguments for one fold: its training
rows as ``x, y`` and its test rows as ``validation_data``. It owns the
splitting; it must not train or record anything.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.model_selection import check_cv as sklearn_check_cv

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.tuners.data_checks import check_one_label_per_row
from keras_hpo.tuners.data_checks import is_parts
from keras_hpo.tuners.data_checks import one_value_per_row
from keras_hpo.tuners.data_checks import row_count

__all__ = [
    "Folds",
    "all_training_data",
    "check_cv",
    "cv_identity",
    "explicit_validation",
    "make_folds",
    "training_rows",
]

_EXAMPLE = (
    "E.g. cv=5, cv=sklearn.model_selection.KFold(5, shuffle=True, "
    "random_state=0), or cv=None to use validation_data / validation_split."
)


def check_cv(cv: Any) -> Any:
    """Validates ``cv=`` when a tuner is made (the data is not known yet).

    Returns:
        ``None``, an int of at least 2, a splitter (an object with ``split``
        and ``get_n_splits``), or the index pairs as a list.

    Raises:
        TypeError: For another type.
        ValueError: For an int below 2 or fewer than two index pairs.
    """
    if cv is None or hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
        return cv
    if isinstance(cv, bool) or isinstance(cv, str):
        raise bad_type("cv", cv, "an int, a scikit-learn splitter or None", _EXAMPLE)
    if isinstance(cv, numbers.Integral):
        if cv < 2:
            raise bad_value("cv", cv, "fewer than 2 folds", _EXAMPLE)
        return int(cv)
    if isinstance(cv, Iterable):
        pairs = list(cv)
        if len(pairs) < 2 or any(
            not isinstance(p, Sequence) and not isinstance(p, np.ndarray) or len(p) != 2
            for p in pairs
        ):
            raise bad_value(
                "cv",
                f"{len(pairs)} item(s)",
                "not a list of at least two (train_indices, test_indices) pairs",
                _EXAMPLE,
            )
        return pairs
    raise bad_type(
        "cv",
        cv,
        "an int, a scikit-learn splitter, a list of (train, test) pairs or None",
        _EXAMPLE,
    )


def cv_identity(cv: Any) -> str | None:
    """How a search splits its data, as saved with it and compared on resume."""
    if cv is None or isinstance(cv, int):
        return None if cv is None else f"{cv} folds"
    if isinstance(cv, list):
        return f"{len(cv)} given (train, test) index pairs"
    return repr(cv)


class Folds:
    """The (train, test) index pairs of a search's data, and the slicing.

    Args:
        splits: One ``(train_indices, test_indices)`` pair per fold.
    """

    def __init__(self, splits: Sequence[tuple[np.ndarray, np.ndarray]]):
        self.splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splits]

    def __len__(self) -> int:
        return len(self.splits)

    def fit_arguments(
        self, fold: int, fit_args: tuple, fit_kwargs: dict
    ) -> tuple[tuple, dict]:
        """``fit``'s arguments for one fold (0-based).

        The training rows of ``x``, ``y`` (and ``sample_weight``) are passed
        as ``x, y``; the fold's test rows as ``validation_data``.
        """
        x, y, kwargs = _split_xy(fit_args, fit_kwargs)
        train, test = self.splits[fold]
        weights = kwargs.pop("sample_weight", None)
        validation = (_take(x, test), _take(y, test))
        if weights is not None:
            kwargs["sample_weight"] = _take(weights, train)
            validation += (_take(weights, test),)
        kwargs["validation_data"] = validation
        # Every other argument with one value per row (a pipeline's
        # clf__sample_weight), as scikit-learn's search slices fit params.
        n = row_count(x)
        for name, value in kwargs.items():
            if name != "validation_data" and one_value_per_row(value, n):
                kwargs[name] = _take(value, train)
        return (_take(x, train), _take(y, train)), kwargs


def make_folds(
    cv: Any,
    fit_args: tuple,
    fit_kwargs: dict,
    classifier: bool,
    groups: Any = None,
) -> Folds | None:
    """Splits the data given to ``search`` as ``cv`` says (``None``: no folds).

    Args:
        cv: A value `check_cv` accepted.
        fit_args: As given to ``search``.
        fit_kwargs: As given to ``search``.
        classifier: Whether the model classifies (an int ``cv`` then
            stratifies by class, as scikit-learn does).
        groups: Each sample's group, for a splitter that keeps groups apart
            (``GroupKFold``, ``LeaveOneGroupOut``...), as scikit-learn's
            ``fit(X, y, groups=)`` passes it to ``cv.split``; other
            splitters ignore it, as there.

    Raises:
        ValueError: If ``validation_data`` or ``validation_split`` is given
            too, if ``x`` or ``y`` is not an array-like of samples, if
            ``groups`` is given without ``cv``, has another length than
            ``x``, or is missing for a splitter that needs it, or if a
            fold's indices are out of range.
    """
    if cv is None:
        if groups is not None:
            raise bad_value(
                "groups",
                f"{row_count(groups) or len(groups)} group labels",
                "given to a search without cv= (groups tell a splitter which "
                "samples must stay in the same fold)",
                "Pass cv=sklearn.model_selection.GroupKFold(5) (or another group "
                "splitter) to the tuner, or leave groups out.",
            )
        return None
    for name in ("validation_data", "validation_split"):
        if fit_kwargs.get(name) is not None and fit_kwargs.get(name) != 0:
            raise bad_value(
                "cv",
                cv,
                f"given together with {name}= (each fold's test samples are "
                "its validation data)",
                f"Pass either cv= or {name}=, not both.",
            )
    x, y, _ = _split_xy(fit_args, fit_kwargs)
    n = row_count(x)
    check_one_label_per_row(x, y)
    if n is None or y is None or row_count(y) != n:
        raise bad_value(
            "cv",
            cv,
            "needs x and y as arrays (or DataFrames) with one row per sample; "
            f"got x of type {type(x).__name__} and y of type {type(y).__name__}",
            "Pass numpy arrays or pandas objects to search(), as to "
            "scikit-learn; a tf.data.Dataset or a generator cannot be split.",
        )
    labels = np.asarray(y) if not hasattr(y, "to_numpy") else y.to_numpy()
    if groups is not None:
        groups = np.asarray(getattr(groups, "to_numpy", lambda: groups)())
        if groups.ndim != 1 or len(groups) != n:
            raise bad_value(
                "groups",
                Described(f"an array of shape {groups.shape}", groups),
                f"not one group label per sample of x ({n} samples)",
                "Pass groups with one label per row of x, as to scikit-learn's "
                "fit(X, y, groups=...).",
            )
    splitter = sklearn_check_cv(cv, labels, classifier=classifier)
    try:
        splits = list(splitter.split(_features(x, n), labels, groups))
    except ValueError as err:  # more folds than samples, or than a class has
        if groups is None and "groups" in str(err):
            raise bad_value(
                "cv",
                cv,
                "splits by groups, and search() was given none",
                "Pass each sample's group to search(x, y, groups=...) (or to "
                "SklearnSearch.fit(X, y, groups=...)), as to scikit-learn.",
            ) from err
        raise bad_value(
            "cv",
            cv,
            f"cannot split these {n} samples: {str(err).rstrip('.')}",
            "Pass fewer folds (cv=5 is scikit-learn's default), or more data.",
        ) from err
    for k, (train, test) in enumerate(splits):
        for part, indices in (("train", train), ("test", test)):
            indices = np.asarray(indices)
            if indices.size == 0 or indices.min() < -n or indices.max() >= n:
                raise bad_value(
                    "cv",
                    f"fold {k + 1}'s {part} indices",
                    f"empty or out of range for {n} samples",
                    "Give index pairs that select rows of x.",
                )
    return Folds(splits)


def all_training_data(fit_args: tuple, fit_kwargs: dict) -> tuple[Any, Any, dict]:
    """Every sample ``search`` was given, for a refit: ``x``, ``y``, other kwargs.

    ``validation_data`` is appended to ``x`` and ``y`` (with its sample
    weights, or weight 1 where only the training rows have weights);
    ``validation_split`` is dropped, since ``x`` already holds those rows.

    Raises:
        ValueError: If the data are not arrays or pandas objects (a
            ``tf.data.Dataset`` cannot be joined with its validation data).
    """
    validation = fit_kwargs.get("validation_data")
    x, y, kwargs = _split_xy(fit_args, fit_kwargs)
    if validation is None:
        return x, y, kwargs
    if row_count(x) is None or not isinstance(validation, (tuple, list)):
        raise ValueError(
            "the training and validation data are not arrays that can be joined"
        )
    x_val, y_val = validation[0], validation[1]
    weights = kwargs.get("sample_weight")
    if weights is not None:
        val_weights = validation[2] if len(validation) > 2 else None
        if val_weights is None:
            val_weights = np.ones(row_count(x_val) or 0, dtype="float32")
        kwargs["sample_weight"] = _join(weights, val_weights)
    return _join(x, x_val), _join(y, y_val), kwargs


def explicit_validation(fit_args: tuple, fit_kwargs: dict) -> tuple[tuple, dict]:
    """``validation_split`` made into ``validation_data``, as Keras splits.

    Keras validates on the rows from ``floor(n * (1 - split))`` on, as
    given (before shuffling); the same rows are passed as
    ``validation_data``, so the model trains and validates exactly as
    before and code that needs the validation data (scikit-learn scorers)
    can read it. Without ``validation_split``, the arguments are returned
    as they are.
    """
    split = fit_kwargs.get("validation_split")
    if not split or fit_kwargs.get("validation_data") is not None:
        return fit_args, fit_kwargs
    x, y, kwargs = _split_xy(fit_args, fit_kwargs)
    n = row_count(x)
    if n is None:
        return fit_args, fit_kwargs
    cut = int(math.floor(n * (1.0 - float(split))))
    train, test = np.arange(cut), np.arange(cut, n)
    return Folds([(train, test)]).fit_arguments(0, (x, y), kwargs)


def training_rows(fit_args: tuple, fit_kwargs: dict) -> tuple[Any, Any]:
    """The ``x, y`` that ``fit(*fit_args, **fit_kwargs)`` trains on.

    All of them, unless a ``validation_split`` (without ``validation_data``,
    which Keras then prefers) keeps the rows from ``floor(n * (1 - split))``
    on for validation, as Keras splits.
    """
    x, y, _ = _split_xy(fit_args, fit_kwargs)
    split = fit_kwargs.get("validation_split")
    n = row_count(x)
    if not split or fit_kwargs.get("validation_data") is not None or n is None:
        return x, y
    rows = np.arange(int(math.floor(n * (1.0 - float(split)))))
    return _take(x, rows), None if y is None else _take(y, rows)


def _join(first: Any, second: Any) -> Any:
    """Rows of ``second`` after rows of ``first`` (arrays, pandas, dicts, lists)."""
    if isinstance(first, dict):
        return {k: _join(v, second[k]) for k, v in first.items()}
    if isinstance(first, (list, tuple)):
        return type(first)(_join(a, b) for a, b in zip(first, second, strict=True))
    if hasattr(first, "iloc"):
        import pandas  # noqa: PLC0415 - only for pandas input, which imports it

        if not hasattr(second, "iloc"):  # a DataFrame's rows, then an array's
            second = (
                pandas.DataFrame(np.asarray(second), columns=first.columns)
                if isinstance(first, pandas.DataFrame)
                else pandas.Series(np.asarray(second), name=first.name)
            )
        return pandas.concat([first, second])
    first, second = np.asarray(first), np.asarray(second)
    if (
        first.shape[1:] != second.shape[1:]
        and second.ndim
        and (math.prod(first.shape[1:]) == math.prod(second.shape[1:]))
    ):  # labels of shape (m, 1) after (n,), as Keras takes them
        second = second.reshape((len(second), *first.shape[1:]))
    return np.concatenate([first, second])


def _split_xy(fit_args: tuple, fit_kwargs: dict) -> tuple[Any, Any, dict]:
    """``x``, ``y`` and the other keyword arguments of ``fit``."""
    kwargs = dict(fit_kwargs)
    x = fit_args[0] if fit_args else kwargs.pop("x", None)
    y = fit_args[1] if len(fit_args) > 1 else kwargs.pop("y", None)
    kwargs.pop("validation_split", None)
    kwargs.pop("validation_data", None)
    return x, y, kwargs


def _features(x: Any, rows: int) -> Any:
    """What a splitter gets as ``X``: the data itself, as scikit-learn's search.

    A model's several inputs (a dict or list of arrays) have no one ``X``:
    the splitter gets a column of zeros (scikit-learn's own splitters use
    only its length).
    """
    return x if getattr(x, "shape", None) is not None else np.zeros((rows, 1))


def _take(data: Any, indices: np.ndarray) -> Any:
    """The rows ``indices`` of an array, a pandas object or a dict/list of them."""
    if isinstance(data, dict):
        return {k: _take(v, indices) for k, v in data.items()}
    if is_parts(data):
        return type(data)(_take(v, indices) for v in data)
    if hasattr(data, "iloc"):
        return data.iloc[indices]
    return np.asarray(data)[indices]
