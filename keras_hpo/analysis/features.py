"""Which input features the best model relies on: permutation importance.

`permutation_importance` runs scikit-learn's
(``sklearn.inspection.permutation_importance``): a
feature's importance is how much the model's score drops when that
feature's column of held-out data is shuffled, averaged over
``n_repeats`` shuffles. The caller gives the scoring function (the search's
own ranking score), so "drop" is measured in the unit the search was judged
by. This module only predicts; it must not train models.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn import inspection

from keras_hpo.errors import Described
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = ["feature_names", "permutation_importance"]


def feature_names(x: Any, names: Sequence[str] | None = None) -> list[str]:
    """The names of ``x``'s columns.

    A DataFrame's columns (a CSV read with ``pandas.read_csv`` keeps its
    header as these), else ``names``, else ``x0``, ``x1``...

    Raises:
        ValueError: If ``names`` does not name every column once.
    """
    columns = getattr(x, "columns", None)
    count = len(columns) if columns is not None else np.asarray(x).shape[1]
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != count or len(set(names)) != count:
            raise bad_value(
                "feature_names",
                names,
                f"must name each of the {count} columns of x once",
                "Pass one distinct name per column, in order (or a DataFrame).",
            )
        return names
    if columns is not None:
        return [str(c) for c in columns]
    return [f"x{i}" for i in range(count)]


def permutation_importance(
    score: Callable[[Any, Any], float],
    x: Any,
    y: Any,
    *,
    names: Sequence[str] | None = None,
    n_repeats: int = 5,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """How much ``score(x, y)`` drops when each column of ``x`` is shuffled.

    Args:
        score: ``score(x, y) -> float``, higher is better.
        x: Held-out inputs: a 2-D array or a DataFrame (one column per
            feature).
        y: Their targets.
        names: The features' names (see `feature_names`).
        n_repeats: Shuffles per feature.
        seed: Seeds the shuffles.

    Returns:
        Feature name -> ``{"mean": ..., "std": ...}`` of the score's drop
        over the shuffles, largest mean first.

    Raises:
        ValueError: For ``x`` that is not 2-D, or bad arguments.
    """
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int):
        raise bad_type("n_repeats", n_repeats, "an int", "Pass n_repeats=5.")
    if n_repeats < 1:
        raise bad_value("n_repeats", n_repeats, "must be >= 1", "Pass n_repeats=5.")
    if not hasattr(x, "iloc"):
        x = np.asarray(x)
        if x.ndim != 2:
            raise bad_value(
                "x",
                Described(f"an array of shape {x.shape}", x),
                "must be 2-D (one column per feature)",
                "Pass a table: rows of samples, columns of features (or a DataFrame).",
            )
    columns = feature_names(x, names)
    found = inspection.permutation_importance(
        _Scored(),
        x,
        y,
        scoring=lambda _estimator, x_, y_: float(score(x_, y_)),
        n_repeats=n_repeats,
        random_state=seed,
    )
    order = sorted(range(len(columns)), key=lambda i: -found.importances_mean[i])
    return {
        columns[i]: {
            "mean": float(found.importances_mean[i]),
            "std": float(found.importances_std[i]),
        }
        for i in order
    }


class _Scored:
    """What scikit-learn takes for an estimator when the scoring does the work."""

    def fit(self, *_args: Any) -> _Scored:  # pragma: no cover - never trained
        return self
