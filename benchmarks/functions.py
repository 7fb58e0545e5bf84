"""Test functions with known optima, and their search space for each tool.

Three problems, all minimised:

* ``branin``: Branin-Hoo, x in [-5, 10], y in [0, 15]; minimum 0.397887 at
  three points.
* ``hartmann6``: Hartmann 6-d on [0, 1]^6; minimum -3.32237 at
  (0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573).
* ``mixed``: our own, with a log-scale float, an integer, a linear float and
  an unordered categorical (see `mixed`); minimum 0 at
  ``learning_rate=10**-2.5, units=23, dropout=0.24375, activation="relu"``.

A space is described once, as a tuple of `Dim`, and translated for keras-tuner
(`keras_tuner_space`), Optuna (`optuna_space`) and a grid (`grid_space`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras_tuner
import numpy as np

__all__ = [
    "FUNCTIONS",
    "Dim",
    "Problem",
    "branin",
    "grid_space",
    "hartmann6",
    "keras_tuner_space",
    "mixed",
    "optuna_space",
]


@dataclass(frozen=True)
class Dim:
    """One dimension of a search space.

    Attributes:
        name: The hyperparameter's name.
        kind: ``"float"``, ``"log"`` (a float sampled on a log scale),
            ``"int"`` or ``"choice"`` (unordered).
        low: Lower bound (numbers only).
        high: Upper bound (numbers only).
        choices: The values of a ``"choice"``.
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    choices: tuple = ()


@dataclass(frozen=True)
class Problem:
    """A test function, its space and its known minimum."""

    name: str
    dims: tuple[Dim, ...]
    minimum: float
    function: Callable[[dict[str, Any]], float]

    def regret(self, value: float) -> float:
        """How far ``value`` is above the known minimum."""
        return max(float(value) - self.minimum, 0.0)


def branin(values: dict[str, Any]) -> float:
    """Branin-Hoo; minimum 0.397887 at (-pi, 12.275), (pi, 2.275), (9.42478, 2.475)."""
    x, y = values["x"], values["y"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)


def hartmann6(values: dict[str, Any]) -> float:
    """Hartmann 6-d on [0, 1]^6; minimum -3.32237."""
    x = np.array([values[f"x{i}"] for i in range(6)])
    inner = np.sum(_H6_A * (x - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


#: Per activation: (offset, best log10 learning rate).
_MIXED_ACTIVATIONS = {"relu": (0.0, -2.5), "tanh": (0.3, -3.0), "sigmoid": (0.8, -1.5)}


def mixed(values: dict[str, Any]) -> float:
    """A mixed problem shaped like tuning a network; minimum 0.

    ``f = offset(a) + 0.5 d^2 + 0.3 (1 - cos(2 pi d)) + ((units - 23) / 16)^2
    + 4 (dropout - 0.1 - 0.4 units / 64)^2`` with ``d = log10(learning_rate)
    - best(a)``: each activation ``a`` has its own offset (relu 0, tanh 0.3,
    sigmoid 0.8) and best learning rate (relu 10^-2.5, tanh 10^-3, sigmoid
    10^-1.5); the cosine adds a local minimum every decade of learning rate,
    and the best dropout grows with the number of units. The minimum, 0, is at
    ``relu, learning_rate=10^-2.5, units=23, dropout=0.24375``.
    """
    offset, best = _MIXED_ACTIVATIONS[values["activation"]]
    d = math.log10(values["learning_rate"]) - best
    units = values["units"]
    return (
        offset
        + 0.5 * d**2
        + 0.3 * (1 - math.cos(2 * math.pi * d))
        + ((units - 23) / 16) ** 2
        + 4 * (values["dropout"] - 0.1 - 0.4 * units / 64) ** 2
    )


FUNCTIONS = {
    "branin": Problem(
        "branin",
        (Dim("x", "float", -5.0, 10.0), Dim("y", "float", 0.0, 15.0)),
        0.397887357729738,
        branin,
    ),
    "hartmann6": Problem(
        "hartmann6",
        tuple(Dim(f"x{i}", "float") for i in range(6)),
        -3.32236801141551,
        hartmann6,
    ),
    "mixed": Problem(
        "mixed",
        (
            Dim("learning_rate", "log", 1e-5, 1e-1),
            Dim("units", "int", 1, 64),
            Dim("dropout", "float", 0.0, 1.0),
            Dim("activation", "choice", choices=("relu", "tanh", "sigmoid")),
        ),
        0.0,
        mixed,
    ),
}


def keras_tuner_space(problem: Problem) -> keras_tuner.HyperParameters:
    """The problem's space as keras-tuner hyperparameters."""
    hp = keras_tuner.HyperParameters()
    for dim in problem.dims:
        if dim.kind == "choice":
            hp.Choice(dim.name, list(dim.choices), ordered=False)
        elif dim.kind == "int":
            hp.Int(dim.name, int(dim.low), int(dim.high))
        else:
            sampling = "log" if dim.kind == "log" else "linear"
            hp.Float(dim.name, dim.low, dim.high, sampling=sampling)
    return hp


def optuna_space(problem: Problem) -> dict[str, Any]:
    """The problem's space as Optuna distributions (imports Optuna)."""
    import optuna

    space = {}
    for dim in problem.dims:
        if dim.kind == "choice":
            space[dim.name] = optuna.distributions.CategoricalDistribution(dim.choices)
        elif dim.kind == "int":
            space[dim.name] = optuna.distributions.IntDistribution(
                int(dim.low), int(dim.high)
            )
        else:
            space[dim.name] = optuna.distributions.FloatDistribution(
                dim.low, dim.high, log=dim.kind == "log"
            )
    return space


def _grid_counts(problem: Problem, budget: int) -> list[int]:
    """Values per dimension: refine one number at a time while it fits."""
    counts = [len(d.choices) if d.kind == "choice" else 1 for d in problem.dims]
    numbers = [i for i, d in enumerate(problem.dims) if d.kind != "choice"]
    grown = True
    while grown:
        grown = False
        for i in numbers:
            if problem.dims[i].kind == "int":
                if counts[i] >= problem.dims[i].high - problem.dims[i].low + 1:
                    continue
            counts[i] += 1
            if math.prod(counts) > budget:
                counts[i] -= 1
                return counts
            grown = True
    return counts


def grid_space(problem: Problem, budget: int) -> keras_tuner.HyperParameters:
    """The largest grid of at most ``budget`` points (more if one point each won't do).

    Every dimension starts with one value (a categorical with all of its
    values); then, one number after the other in turn, a dimension gets one
    more value while the grid's size stays within ``budget``. A number with
    ``k`` values takes the centres of ``k`` equal cells of its range (on a log
    scale for ``"log"``; rounded for ``"int"``).

    Args:
        problem: The test problem.
        budget: The number of trials.

    Returns:
        keras-tuner hyperparameters with one ``Choice`` per dimension.
    """
    hp = keras_tuner.HyperParameters()
    for dim, count in zip(problem.dims, _grid_counts(problem, budget), strict=True):
        if dim.kind == "choice":
            hp.Choice(dim.name, list(dim.choices), ordered=False)
            continue
        centres = (np.arange(count) + 0.5) / count
        if dim.kind == "log":
            low, high = math.log(dim.low), math.log(dim.high)
            values = [float(math.exp(low + c * (high - low))) for c in centres]
        else:
            values = [float(dim.low + c * (dim.high - dim.low)) for c in centres]
        if dim.kind == "int":
            values = sorted({int(round(v)) for v in values})
        hp.Choice(dim.name, values)
    return hp
