"""Local search over the discrete dimensions of a search space.

Gradient steps only move continuous coordinates; an integer, a stepped
float, a boolean or a choice is then wherever the candidate pool happened to
put it. `climb` improves an acquisition function one discrete move at a
time: an integer or an ordered value to its neighbour on either side, a
boolean flipped, an unordered choice to any other value, keeping the best
move until none helps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.oracles.space import UnitCube
from keras_hpo.oracles.space import ordered_values
from keras_hpo.search_space.knobs import possible_values

__all__ = ["climb", "neighbours"]


def _moves(hp: kt_hp.HyperParameter, value: Any) -> list[Any]:
    """The values one discrete move away from ``value``."""
    if isinstance(hp, kt_hp.Boolean):
        return [not value]
    if isinstance(hp, kt_hp.Choice):
        values = list(hp.values)
        if value not in values:
            return []
        if not hp.ordered:
            return [v for v in values if v != value]
        values = ordered_values(hp)
        index = values.index(value)
        return [values[i] for i in (index - 1, index + 1) if 0 <= i < len(values)]
    stepped = getattr(hp, "step", None) is not None
    if stepped and hp.sampling == "log" and float(hp.step) > 1:
        # keras-tuner's log step multiplies (1e-4, 1e-3...): the neighbours
        # in its list of values, not value -/+ step (both out of range).
        values = possible_values(hp)
        index = int(np.argmin([abs(v - value) for v in values]))
        return [values[i] for i in (index - 1, index + 1) if 0 <= i < len(values)]
    if isinstance(hp, kt_hp.Int):
        step = hp.step or 1
        return [
            v for v in (value - step, value + step) if hp.min_value <= v <= hp.max_value
        ]
    if isinstance(hp, kt_hp.Float) and stepped:
        step = float(hp.step)
        low, high = hp.min_value, hp.max_value
        return [v for v in (value - step, value + step) if low - 1e-12 <= v <= high]
    return []  # a continuous Float or a Fixed: not a discrete move


def neighbours(cube: UnitCube, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every configuration one discrete move away from ``values``.

    Args:
        cube: The space.
        values: A configuration (only its active hyperparameters are moved).

    Returns:
        The neighbouring configurations, each decoded back through the cube
        so that conditions still hold.
    """
    found = []
    for hp in cube.space:
        if hp.name not in values:
            continue
        for moved in _moves(hp, values[hp.name]):
            found.append(cube.decode(cube.encode({**values, hp.name: moved})))
    return found


def climb(
    cube: UnitCube,
    points: np.ndarray,
    acquisition: Callable[[np.ndarray], np.ndarray],
    rounds: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Greedy ascent of ``acquisition`` from each point by discrete moves.

    Each round scores all neighbours of all points in one call and moves
    every point to its best neighbour if that scores higher.

    Args:
        cube: The space.
        points: Starting points of the cube, ``(n, dims)``, each on a
            configuration (see `UnitCube.snap`).
        acquisition: Maps ``(m, dims)`` points to ``(m,)`` scores, higher
            better.
        rounds: At most this many moves per point.

    Returns:
        ``(points, scores)``: where each climb ended and its score.
    """
    points = np.array(points, dtype=float)
    scores = acquisition(points)
    moving = np.ones(len(points), dtype=bool)
    for _ in range(rounds):
        owners, candidates = [], []
        for index in np.flatnonzero(moving):
            for values in neighbours(cube, cube.decode(points[index])):
                owners.append(index)
                candidates.append(cube.encode(values))
        if not candidates:
            break
        owners_array = np.array(owners)
        candidate_scores = acquisition(np.array(candidates))
        moving[:] = False
        for index in np.unique(owners_array):
            mine = np.flatnonzero(owners_array == index)
            best = mine[np.argmax(candidate_scores[mine])]
            if candidate_scores[best] > scores[index]:
                points[index] = candidates[best]
                scores[index] = candidate_scores[best]
                moving[index] = True
        if not moving.any():
            break
    return points, scores
