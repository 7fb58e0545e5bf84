"""scikit-learn style search spaces, as keras-tuner hyperparameters.

``param_grid`` (as in ``GridSearchCV``) is a dict of lists, or a list of such
dicts; ``param_distributions`` (as in ``RandomizedSearchCV``) is a dict of lists
and frozen ``scipy.stats`` distributions. Both become one
`keras_tuner.HyperParameters` that every strategy understands: a list becomes
a ``Choice`` (or a ``Fixed`` for one value), a distribution an ``Int`` or
``Float``, and a list of dicts becomes a choice of sub-grid named
`SUBGRID` with each sub-grid's entries under a conditional scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.search_space.knobs import Knob
from keras_hpo.search_space.knobs import declare
from keras_hpo.search_space.knobs import from_distribution
from keras_hpo.search_space.knobs import to_python

__all__ = [
    "SUBGRID",
    "param_distributions_to_hyperparameters",
    "param_grid_to_hyperparameters",
]

#: Name of the hyperparameter that selects a sub-grid of a list of grids.
SUBGRID = "param_grid_index"


def _as_grids(argument: str, spec: Any) -> list[Mapping[str, Any]]:
    if isinstance(spec, Mapping):
        grids = [spec]
    elif isinstance(spec, (list, tuple)):
        grids = list(spec)
    else:
        raise bad_type(
            argument,
            spec,
            "a dict of lists or a list of such dicts",
            'For example {"units": [32, 64], "dropout": [0.0, 0.2]}.',
        )
    if not grids:
        raise bad_value(
            argument, spec, "an empty list of grids", "Give at least one dict."
        )
    for index, grid in enumerate(grids):
        if not isinstance(grid, Mapping):
            raise bad_type(
                f"{argument}[{index}]",
                grid,
                "a dict of lists",
                'For example {"units": [32, 64]}.',
            )
        if not grid:
            raise bad_value(
                f"{argument}[{index}]",
                grid,
                "an empty dict",
                "Give at least one hyperparameter and its values.",
            )
    return grids


def _template(
    argument: str,
    name: str,
    values: Any,
    knobs: Mapping[str, Knob] | None,
    allow_distributions: bool,
    open_names: bool = False,
) -> kt_hp.HyperParameter:
    if not isinstance(name, str):
        raise bad_type(argument, name, "a string key", "Name each hyperparameter.")
    if name == SUBGRID:
        raise bad_value(
            argument, name, "this name is reserved", "Rename the hyperparameter."
        )
    key = f"{argument}[{name!r}]"
    if knobs is not None and name not in knobs and open_names:
        knobs = None  # a subclass's own hyperparameter: checked once built
    if knobs is not None and name not in knobs:
        raise bad_value(
            argument,
            name,
            f"{name!r} is not a hyperparameter of this hypermodel",
            f"Use one of: {', '.join(sorted(knobs))}.",
        )
    if isinstance(values, range):  # as scikit-learn's ParameterGrid takes it
        values = list(values)
    is_dist = hasattr(values, "rvs") and hasattr(values, "support")
    if hasattr(values, "rvs") and not is_dist and allow_distributions:
        raise bad_type(
            key,
            values,
            "a list or a scipy.stats distribution",
            "An object with rvs() but no support() has no bounds to search "
            "within: use a frozen scipy.stats distribution (uniform, "
            "loguniform, randint), or list the values.",
        )
    if is_dist and not allow_distributions:
        raise bad_type(
            key,
            values,
            "a list of values",
            "A grid enumerates values; use RandomSearch(param_distributions=...) "
            "for distributions, or list the values.",
        )
    if not is_dist and not isinstance(values, (list, tuple, np.ndarray)):
        raise bad_type(
            key,
            values,
            "a list"
            + (" or a scipy.stats distribution" if allow_distributions else ""),
            f"Single values must be wrapped in a list: {name}=[{values!r}]."
            if isinstance(values, (str, bytes, int, float, bool, type(None)))
            else f"Pass the values as a list, e.g. {name}=list(...).",
        )
    if knobs is not None:
        spec = values if is_dist else list(values)
        template = knobs[name].template(spec, key)
        if template.name != name:  # a user's knob spec may be renamed
            template = type(template).from_config(
                {**template.get_config(), "name": name}
            )
        return template
    if is_dist:
        return from_distribution(name, values, key)
    return _listed(name, values, key)


def _listed(name: str, values: Any, key: str) -> kt_hp.HyperParameter:
    """A list of values as a keras-tuner ``Fixed``, ``Boolean`` or ``Choice``."""
    values = [to_python(v) for v in values]
    if not values:
        raise bad_value(key, values, "an empty list", "Give at least one value.")
    if len(values) == 1:
        return kt_hp.Fixed(name, values[0])
    if all(isinstance(v, bool) for v in values) and len(set(values)) == 2:
        # keras-tuner's Choice would turn booleans into 0 and 1.
        return kt_hp.Boolean(name, default=values[0])
    try:
        return kt_hp.Choice(name, values)
    except (TypeError, ValueError) as err:
        raise bad_type(
            key,
            values,
            "a list of values of one type (int, float, str or bool)",
            f"keras-tuner refused it: {err}",
        ) from err


def _to_hyperparameters(
    argument: str,
    spec: Any,
    knobs: Mapping[str, Knob] | None,
    allow_distributions: bool,
    open_names: bool = False,
) -> kt_hp.HyperParameters:
    grids = _as_grids(argument, spec)
    hp = kt_hp.HyperParameters()
    if len(grids) == 1:
        for name, values in grids[0].items():
            template = _template(
                argument, name, values, knobs, allow_distributions, open_names
            )
            declare(hp, template, name)
        return hp
    hp.Choice(SUBGRID, list(range(len(grids))), ordered=False)
    for index, grid in enumerate(grids):
        with hp.conditional_scope(SUBGRID, [index]):
            for name, values in grid.items():
                template = _template(
                    f"{argument}[{index}]",
                    name,
                    values,
                    knobs,
                    allow_distributions,
                    open_names,
                )
                declare(hp, template, name)
    return hp


def param_grid_to_hyperparameters(
    param_grid: Any,
    knobs: Mapping[str, Knob] | None = None,
    open_names: bool = False,
) -> kt_hp.HyperParameters:
    """Converts a scikit-learn ``param_grid`` into keras-tuner hyperparameters.

    Args:
        param_grid: A dict mapping names to lists of values, or a list of such
            dicts (sub-grids explored one after the other).
        knobs: The hypermodel's knobs, to validate names and values against.
        open_names: Accept names that are not knobs (hyperparameters a
            subclass declares in its hooks), as plain choices.

    Returns:
        The search space.

    Raises:
        ValueError: For an empty grid or list, or an unknown name.
        TypeError: For a value that is not a list.

    Example:
        >>> hp = param_grid_to_hyperparameters({"units": [32, 64]})
        >>> [h.name for h in hp.space]
        ['units']
    """
    return _to_hyperparameters("param_grid", param_grid, knobs, False, open_names)


def param_distributions_to_hyperparameters(
    param_distributions: Any,
    knobs: Mapping[str, Knob] | None = None,
    open_names: bool = False,
) -> kt_hp.HyperParameters:
    """Converts scikit-learn ``param_distributions`` into hyperparameters.

    Args:
        param_distributions: A dict mapping names to lists or frozen
            ``scipy.stats`` distributions (``randint``, ``uniform``,
            ``loguniform``), or a list of such dicts.
        knobs: The hypermodel's knobs, to validate names and values against.
        open_names: Accept names that are not knobs, as `param_grid_to_...`.

    Returns:
        The search space.

    Raises:
        ValueError: For an empty list, or an unknown name.
        TypeError: For an unsupported value or distribution.
    """
    return _to_hyperparameters(
        "param_distributions", param_distributions, knobs, True, open_names
    )
