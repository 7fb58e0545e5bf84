"""Resuming a search: what may change between runs, and what may not.

The rules, checked when a tuner reloads an existing project:

* The strategy (the oracle's class) must be the same.
* Every hyperparameter the new search declares must be declared the same way
  as in the saved search (same kind, range or values, step, sampling).
  Hyperparameters the saved search found during its trials (for instance
  per-layer ones of a subclass) may stay as they are.
* ``max_trials``, the stopping options, the callbacks and the strategy's
  tuning arguments (such as the Bayesian ``xi``) may change: the new values
  take effect for the trials still to run. The seed is the saved one.

Anything else is refused with a message that names the difference and the
two ways out: ``overwrite=True`` or a new ``project_name``.
"""

from __future__ import annotations

import os
from typing import Any

from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.errors import ConfigError
from keras_hpo.files import read_json

__all__ = ["check_same_search", "describe", "space_differences"]


def describe(hp: kt_hp.HyperParameter) -> str:
    """A hyperparameter's declaration, e.g. ``Int(min_value=1, max_value=4)``."""
    config = hp.get_config()
    shown = ", ".join(
        f"{key}={value!r}"
        for key, value in config.items()
        if key not in ("name", "conditions", "default") and value is not None
    )
    return f"{type(hp).__name__}({shown})"


def _same(old: kt_hp.HyperParameter, new: kt_hp.HyperParameter) -> bool:
    if type(old) is not type(new):
        return False
    a, b = old.get_config(), new.get_config()
    return {k: v for k, v in a.items() if k != "default"} == {
        k: v for k, v in b.items() if k != "default"
    }


def space_differences(
    declared: kt_hp.HyperParameters, saved: kt_hp.HyperParameters
) -> list[str]:
    """How the declared search space differs from the saved one."""
    saved_by_name = {hp.name: hp for hp in saved.space}
    differences = []
    for hp in declared.space:
        old = saved_by_name.get(hp.name)
        if old is None:
            differences.append(f"{hp.name} is new: {describe(hp)}")
        elif not _same(old, hp):
            differences.append(f"{hp.name} was {describe(old)}, now {describe(hp)}")
    return differences


def check_same_search(
    project_dir: str,
    strategy: str,
    declared: kt_hp.HyperParameters,
    saved: kt_hp.HyperParameters,
) -> None:
    """Refuses to resume a project that holds a different search.

    Args:
        project_dir: The project directory being resumed.
        strategy: The class name of the new search's oracle.
        declared: The space the new search declares.
        saved: The space reloaded from the project.

    Raises:
        ConfigError: If the strategy or the declared space differ.
    """
    differences = []
    state: dict[str, Any] = read_json(os.path.join(project_dir, "oracle.json"))
    before = state.get("strategy")
    if before is not None and before != strategy:
        differences.append(f"the strategy was {before}, now {strategy}")
    differences += space_differences(declared, saved)
    if differences:
        raise ConfigError(
            f"{project_dir} holds a different search, so resuming it would mix "
            f"the results of two searches: {'; '.join(differences)}. Pass "
            "overwrite=True to start afresh, or a new project_name to keep both."
        )
