"""Which hyperparameters mattered: fANOVA on a random-forest surrogate.

`hyperparameter_importance` fits a random forest (scikit-learn's
``RandomForestRegressor``, 64 trees, as Optuna's default evaluator) to the
finished trials' scores as a function of their hyperparameters, and splits
the variance of each tree's prediction over the search space into the
first-order effect of each hyperparameter (functional ANOVA, Hutter et al.,
ICML 2014). A hyperparameter's share is the variance of its marginal effect
divided by the tree's total variance, averaged over the trees, then
normalised so the shares sum to 1 (as Optuna's ``get_param_importances``).
Interactions are not attributed to anyone: that is what normalising hides.

Why fANOVA: it is the method the field trusts and Optuna's default, so the
numbers mean what its users expect; unlike a forest's impurity importance it
measures variance over the whole search space (uniform over each
hyperparameter's range: log-sampled ones on a log scale), not over where the
sampler happened to look.

The space: each hyperparameter is encoded into [0, 1]: numbers by their
range (on a log scale when log-sampled), choices as equal-width cells
(numbers in their order, other values in the order of their mean score, so
a tree can split better from worse values in one cut). A conditional
hyperparameter (missing in the trials where it was inactive, such as
``units_2`` with 2 layers) keeps its values in [0, p], p the share of
finished trials where it was active, and "inactive" is one more cell,
[p, 1]: its absence is a value like any other, weighted by how often it
happened. Hyperparameters that took one value in every finished trial are
left out. This module only reads results; it must not train models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.analysis.source import INACTIVE
from keras_hpo.analysis.source import log_scaled
from keras_hpo.analysis.source import require_finished
from keras_hpo.analysis.source import space_by_name
from keras_hpo.analysis.source import trials_of
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.tuners.results import TrialResult

__all__ = ["encode_space", "fanova", "hyperparameter_importance"]

#: An encoder maps one trial's value (`INACTIVE`: inactive) into [0, 1].
Encoder = Callable[[Any], float]


def hyperparameter_importance(
    search: Any, *, seed: int = 0, n_trees: int = 64, max_depth: int = 64
) -> dict[str, float]:
    """Each hyperparameter's share of the objective's variance (fANOVA).

    Args:
        search: A tuner after ``search()``, a `keras_hpo.load` result, or a
            project folder (see `keras_hpo.analysis.trials_of`).
        seed: The random forest's seed: the same seed and trials give the
            same shares.
        n_trees: Trees in the forest (Optuna: 64).
        max_depth: Their maximum depth (Optuna: 64).

    Returns:
        Hyperparameter name -> share in [0, 1], most important first; the
        shares sum to 1 (all 0.0 when every finished trial has the same
        score). Only hyperparameters that took more than one value.

    Raises:
        ValueError: With fewer than 2 finished trials, or bad arguments.

    Example:
        >>> tuner.importance()  # doctest: +SKIP
        {'learning_rate': 0.71, 'num_layers': 0.12, 'units': 0.09, ...}
    """
    for name, value, low in (("n_trees", n_trees, 1), ("max_depth", max_depth, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad_type(name, value, "an int", f"Pass {name}=64 (the default).")
        if value < low:
            raise bad_value(name, value, f"must be >= {low}", f"Pass {name}=64.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise bad_type("seed", seed, "an int", "Pass seed=0 (the default).")
    trials = trials_of(search)
    done = require_finished(trials, 2, "Hyperparameter importance")
    names, encoders = encode_space(trials.space, done)
    if not names:
        return {}
    pairs = list(zip(names, encoders, strict=True))
    x = np.array([[enc(r.values.get(n, INACTIVE)) for n, enc in pairs] for r in done])
    y = np.array([float(r.score) for r in done])
    shares = fanova(x, y, seed=seed, n_trees=n_trees, max_depth=max_depth)
    order = sorted(range(len(names)), key=lambda i: (-shares[i], i))
    return {names[i]: float(shares[i]) for i in order}


def fanova(
    x: np.ndarray,
    y: np.ndarray,
    *,
    seed: int = 0,
    n_trees: int = 64,
    max_depth: int = 64,
) -> np.ndarray:
    """First-order fANOVA shares of the columns of ``x`` in [0, 1]^d.

    Args:
        x: Inputs, shape (n, d), every column within [0, 1].
        y: Targets, shape (n,).
        seed: The forest's seed.
        n_trees: Trees in the forest.
        max_depth: Their maximum depth.

    Returns:
        Shares of shape (d,), summing to 1 (zeros if ``y`` is constant).
    """
    from sklearn.ensemble import RandomForestRegressor

    if np.ptp(y) == 0.0:
        return np.zeros(x.shape[1])
    # Shares do not depend on the scores' scale; standardised, a spread of
    # 1e-6 is not taken for the constant trees' round-off.
    y = (y - np.mean(y)) / (np.std(y) or np.ptp(y))
    forest = RandomForestRegressor(
        n_estimators=n_trees,
        max_depth=max_depth,
        min_samples_split=2,
        min_samples_leaf=1,
        random_state=seed,
    ).fit(x, y)
    per_tree = [_tree_shares(tree.tree_, x.shape[1]) for tree in forest.estimators_]
    kept = [shares for shares in per_tree if shares is not None]
    if not kept:
        return np.zeros(x.shape[1])
    mean = np.mean(kept, axis=0)
    total = mean.sum()
    return mean / total if total > 0 else mean


def _tree_shares(tree: Any, dims: int) -> np.ndarray | None:
    """One tree's variance share per dimension (``None``: a constant tree)."""
    left, right = tree.children_left, tree.children_right
    lows, highs, values = [], [], []
    stack = [(0, np.zeros(dims), np.ones(dims))]
    while stack:
        node, low, high = stack.pop()
        if left[node] == -1:  # a leaf
            lows.append(low)
            highs.append(high)
            values.append(float(tree.value[node].ravel()[0]))
            continue
        feature, threshold = tree.feature[node], tree.threshold[node]
        cut = min(max(threshold, low[feature]), high[feature])
        left_high, right_low = high.copy(), low.copy()
        left_high[feature] = cut  # x <= threshold goes left
        right_low[feature] = cut
        stack.append((left[node], low, left_high))
        stack.append((right[node], right_low, high))
    low, high, value = np.array(lows), np.array(highs), np.array(values)
    width = high - low
    volume = width.prod(axis=1)
    mean = float(volume @ value)
    variance = float(volume @ value**2) - mean**2
    if variance <= 1e-12 * max(1.0, mean**2):
        return None
    shares = np.zeros(dims)
    for d in range(dims):
        cuts = np.unique(np.concatenate([low[:, d], high[:, d], [0.0, 1.0]]))
        mids = (cuts[:-1] + cuts[1:]) / 2
        inside = (low[:, d] <= mids[:, None]) & (mids[:, None] < high[:, d])
        with np.errstate(divide="ignore", invalid="ignore"):
            weight = np.where(width[:, d] > 0, value * volume / width[:, d], 0.0)
        marginal = inside @ weight
        shares[d] = float(np.diff(cuts) @ (marginal - mean) ** 2) / variance
    return shares


def encode_space(
    space: list[kt_hp.HyperParameter] | None, results: list[TrialResult]
) -> tuple[list[str], list[Encoder]]:
    """The varying hyperparameters of ``results`` and their encoders into [0, 1].

    Args:
        space: The search space (``None``: infer each kind from the values).
        results: The finished trials.

    Returns:
        Names in the space's order (then the order first seen), and for
        each an encoder of one trial's value (`INACTIVE` when inactive).
    """
    known = space_by_name(space)
    names: list[str] = list(known)
    for result in results:
        names += [n for n in result.values if n not in names]
    kept, encoders = [], []
    for name in names:
        seen = [r.values.get(name, INACTIVE) for r in results]
        active = [v for v in seen if v is not INACTIVE]
        if len({_key(v) for v in active}) + (len(active) < len(seen)) < 2:
            continue  # one value (or one value and inactive never): no variance
        means: dict[Any, list[float]] = {}
        for result, value in zip(results, seen, strict=True):
            if value is not INACTIVE:
                means.setdefault(_key(value), []).append(float(result.score))
        base = _encoder(known.get(name), active, means)
        kept.append(name)
        encoders.append(_with_inactive(base, len(active) / len(seen)))
    return kept, encoders


def _key(value: Any) -> Any:
    """A hashable key of a value (``True`` apart from ``1``; a list as a tuple).

    A tuple of scikit-learn's (``hidden_layer_sizes=(50,)``) comes back
    from ``result.json`` as a list.
    """
    if isinstance(value, bool):
        return (type(value).__name__, value)
    if isinstance(value, (list, tuple)):
        return ("sequence", tuple(_key(v) for v in value))
    if isinstance(value, dict):
        return ("mapping", tuple(sorted((str(k), _key(v)) for k, v in value.items())))
    return value


def _encoder(
    hp: kt_hp.HyperParameter | None,
    active: list[Any],
    scores: dict[Any, list[float]],
) -> Encoder:
    """An encoder of active values into [0, 1].

    Numbers keep their order; unordered categories (strings, booleans) are
    ordered by their mean score, so that every split of them into better
    and worse values is one cut, as CART does for a regression (Breiman et
    al., 1984); values never seen go last.
    """
    if isinstance(hp, (kt_hp.Int, kt_hp.Float)) and hp.max_value > hp.min_value:
        return _numeric(hp.min_value, hp.max_value, hp.sampling == "log")
    values = list({_key(v): v for v in active}.values())
    declared = {_key(v) for v in getattr(hp, "values", None) or []}
    if isinstance(hp, kt_hp.Choice) and all(_key(v) in declared for v in values):
        # A scikit-learn grid may declare labels ("(50,)") where its trials
        # hold the values: then only the values seen count.
        values = list(hp.values)
    elif isinstance(hp, kt_hp.Boolean):
        values = [False, True]
    numbers = all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
    if numbers and hp is None and len(values) > 2:
        low, high = min(values), max(values)
        return _numeric(low, high, log_scaled(low, high))
    if numbers:
        return _cells(sorted(values))

    def mean(value: Any) -> float:
        found = scores.get(_key(value))
        return float(np.mean(found)) if found else math.inf

    return _cells(sorted(values, key=mean))


def _numeric(low: float, high: float, log: bool) -> Encoder:
    if log and low > 0:
        low_log, span = math.log(low), math.log(high) - math.log(low)
        return lambda v: min(max((math.log(v) - low_log) / span, 0.0), 1.0)
    span = high - low
    return lambda v: min(max((v - low) / span, 0.0), 1.0)


def _cells(values: list[Any]) -> Encoder:
    index = {_key(v): i for i, v in enumerate(values)}
    return lambda v: (index[_key(v)] + 0.5) / len(values)


def _with_inactive(base: Encoder, active_share: float) -> Encoder:
    """Active values into [0, p]; `INACTIVE` at the middle of [p, 1]."""
    if active_share >= 1.0:
        return base
    p = active_share
    return lambda v: (1.0 + p) / 2 if v is INACTIVE else base(v) * p
