"""Views of a keras-tuner search space that strategies share.

`HyperGrid` lists every combination of a discrete space (conditional
hyperparameters included) as a plain, indexable sequence. `UnitCube` maps
configurations to points of ``[0, 1]^d`` and back, respecting each
hyperparameter's scale: log ranges in log space, integers and steps snapped,
unordered choices one-hot.
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Sequence
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.errors import SearchSpaceError
from keras_hpo.search_space.knobs import possible_values

__all__ = [
    "MAX_GRID_SIZE",
    "HyperGrid",
    "UnitCube",
    "active_values",
    "is_active",
    "ordered_values",
    "values_key",
]

#: Grids larger than this are refused (enumerating them would exhaust memory).
MAX_GRID_SIZE = 1_000_000


def _space(hyperparameters) -> list[kt_hp.HyperParameter]:
    if isinstance(hyperparameters, kt_hp.HyperParameters):
        return list(hyperparameters.space)
    return list(hyperparameters)


def ordered_values(hp: kt_hp.Choice) -> list[Any]:
    """An ordered (numeric) ``Choice``'s values, from the lowest up.

    keras-tuner orders a numeric ``Choice`` as its values are listed, so
    ``Choice("units", [64, 16, 32])`` would put 16 between 64 and 32.
    """
    return sorted(hp.values)


def is_active(hp: kt_hp.HyperParameter, values: dict[str, Any]) -> bool:
    """Whether ``hp`` is active under ``values`` (every condition holds)."""
    return all(condition.is_active(values) for condition in hp.conditions)


def active_values(space, values: dict[str, Any]) -> dict[str, Any]:
    """Keeps the values of the hyperparameters of ``space`` active in ``values``."""
    out = {}
    for hp in _space(space):
        if hp.name in values and hp.name not in out and is_active(hp, values):
            out[hp.name] = values[hp.name]
    return out


def values_key(space, values: dict[str, Any]) -> str:
    """A stable identity for a configuration: its active values in ``space``.

    Two configurations are the same trial to a strategy exactly when their
    keys are equal; values a build adds outside the space do not count.
    """
    return repr(sorted(active_values(space, values).items()))


class HyperGrid(Sequence):
    """Every combination of a discrete search space, in a fixed order.

    The first hyperparameter of the space varies slowest and the last one
    fastest. A conditional hyperparameter takes part only in combinations
    where its condition holds, so a parent value whose children are inactive
    adds exactly one combination.

    Args:
        hyperparameters: A `keras_tuner.HyperParameters` or a list of
            hyperparameter objects.

    Raises:
        SearchSpaceError: For a continuous range without a step, or a grid of
            more than `MAX_GRID_SIZE` combinations.

    Example:
        >>> hp = kt.HyperParameters()
        >>> _ = hp.Choice("units", [32, 64]); _ = hp.Boolean("bias")
        >>> grid = HyperGrid(hp)
        >>> len(grid), grid[1]
        (4, {'units': 32, 'bias': True})
    """

    def __init__(self, hyperparameters):
        self._space = _space(hyperparameters)
        for hp in self._space:
            if possible_values(hp) is None:
                raise SearchSpaceError(
                    f"Grid search cannot enumerate hyperparameter {hp.name!r}: it "
                    f"is a continuous range [{hp.min_value}, {hp.max_value}] "
                    "without a step. Give it a step, e.g. "
                    f"{hp.name}=({hp.min_value}, {hp.max_value}, <step>) or "
                    f"hp.Float({hp.name!r}, ..., step=...), or a list of values, "
                    "or use RandomSearch or BayesianSearch for continuous ranges."
                )
        self._choices = [possible_values(hp) for hp in self._space]
        self._combinations: list[dict[str, Any]] = []
        self._enumerate(0, {})

    def _enumerate(self, index: int, values: dict[str, Any]) -> None:
        if index == len(self._space):
            if len(self._combinations) >= MAX_GRID_SIZE:
                raise SearchSpaceError(
                    f"The grid has more than {MAX_GRID_SIZE:,} combinations. "
                    "Use fewer values per hyperparameter, or RandomSearch / "
                    "BayesianSearch with max_trials."
                )
            self._combinations.append(dict(values))
            return
        hp = self._space[index]
        if hp.name in values or not is_active(hp, values):
            self._enumerate(index + 1, values)
            return
        for value in self._choices[index]:
            values[hp.name] = value
            self._enumerate(index + 1, values)
        del values[hp.name]

    def __len__(self) -> int:
        return len(self._combinations)

    def values_per_hyperparameter(self) -> dict[str, int]:
        """How many values each hyperparameter takes, most first."""
        pairs = zip(self._space, self._choices, strict=True)
        counts = {hp.name: len(choices) for hp, choices in pairs}
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [dict(c) for c in self._combinations[index]]
        return dict(self._combinations[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(c) for c in self._combinations)

    def __repr__(self) -> str:
        names = ", ".join(hp.name for hp in self._space)
        return f"HyperGrid({len(self)} combinations of {names})"


class UnitCube:
    """Maps configurations of a search space to ``[0, 1]^d`` and back.

    Numbers (``Int``, ``Float``, ordered ``Choice``) take one dimension on
    their own scale (keras-tuner's ``value_to_prob``, so log ranges are
    uniform in log space; a ``Choice``'s values sorted, whatever the order
    they are listed in); ``Boolean`` one dimension; an unordered ``Choice``
    one dimension per value (one-hot); ``Fixed`` none. An inactive
    hyperparameter is encoded at 0.5 (one-hot: all zeros).

    Args:
        hyperparameters: A `keras_tuner.HyperParameters` or a list of
            hyperparameter objects.
    """

    def __init__(self, hyperparameters):
        self.space = _space(hyperparameters)
        self._columns: list[tuple[kt_hp.HyperParameter, str, int]] = []
        #: id(hp) -> its values in order, for stepped Floats and ordered
        #: Choices (a point is snapped to one of these).
        self._steps: dict[int, list[Any]] = {}
        start = 0
        for hp in self.space:
            kind = self._kind(hp)
            if kind == "steps":
                self._steps[id(hp)] = possible_values(hp)
            elif kind == "choice":
                self._steps[id(hp)] = ordered_values(hp)
            self._columns.append((hp, kind, start))
            start += self._width(hp)
        #: Number of dimensions.
        self.dims = start

    @staticmethod
    def _width(hp: kt_hp.HyperParameter) -> int:
        if isinstance(hp, kt_hp.Fixed):
            return 0
        if isinstance(hp, kt_hp.Choice) and not hp.ordered:
            return len(hp.values)
        return 1

    @staticmethod
    def _kind(hp: kt_hp.HyperParameter) -> str:
        if isinstance(hp, kt_hp.Fixed):
            return "fixed"
        if isinstance(hp, kt_hp.Choice) and not hp.ordered:
            return "onehot"
        if isinstance(hp, kt_hp.Boolean):
            return "bool"
        if isinstance(hp, kt_hp.Float):
            return "float" if hp.step is None else "steps"
        if isinstance(hp, kt_hp.Choice):
            return "choice"
        return "number"

    def encode(self, values: dict[str, Any]) -> np.ndarray:
        """Returns the point of the cube for a configuration."""
        point = np.zeros(self.dims)
        for hp, kind, start in self._columns:
            if kind == "fixed":
                continue
            active = hp.name in values and is_active(hp, values)
            if kind == "onehot":
                if active and values[hp.name] in hp.values:
                    point[start + list(hp.values).index(values[hp.name])] = 1.0
            elif not active:
                point[start] = 0.5
            elif kind == "bool":
                point[start] = 1.0 if values[hp.name] else 0.0
            elif kind == "steps":
                steps = self._steps[id(hp)]
                index = min(
                    range(len(steps)), key=lambda i: abs(steps[i] - values[hp.name])
                )
                point[start] = (index + 0.5) / len(steps)
            elif kind == "choice":
                steps = self._steps[id(hp)]
                point[start] = (steps.index(values[hp.name]) + 0.5) / len(steps)
            else:
                prob = hp.value_to_prob(values[hp.name])
                point[start] = min(max(float(prob), 0.0), 1.0)
        return point

    def decode(self, point: np.ndarray) -> dict[str, Any]:
        """Returns the configuration nearest to a point of the cube.

        Only hyperparameters whose conditions hold get a value.
        """
        values: dict[str, Any] = {}
        coords = point.tolist()
        for hp, kind, start in self._columns:
            if hp.name in values or (hp.conditions and not is_active(hp, values)):
                continue
            if kind == "fixed":
                values[hp.name] = hp.value
            elif kind == "onehot":
                block = coords[start : start + len(hp.values)]
                values[hp.name] = hp.values[block.index(max(block))]
            elif kind == "bool":
                values[hp.name] = coords[start] >= 0.5
            elif kind in ("steps", "choice"):
                steps = self._steps[id(hp)]
                position = min(max(coords[start], 0.0), 1.0)
                values[hp.name] = steps[min(int(position * len(steps)), len(steps) - 1)]
            else:
                value = hp.prob_to_value(min(max(coords[start], 0.0), 1.0 - 1e-9))
                if kind == "float":
                    value = min(max(float(value), hp.min_value), hp.max_value)
                values[hp.name] = value
        return values

    def snap(self, point: np.ndarray) -> np.ndarray:
        """Moves a point onto the configuration it decodes to."""
        return self.encode(self.decode(point))
