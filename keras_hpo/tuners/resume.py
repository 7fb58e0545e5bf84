"""Resuming a search: what may change between runs, and what may not.

The rules, checked when a tuner reloads an existing project:

* The strategy (the oracle's class) must be the same.
* What a score means must be the same (`search_identity`): the objective and
  its direction, and for a `HyperMLP` the task, the loss and the number of
  outputs. Scores of one objective ranked as another's would pick a wrong
  best trial.
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
import sys
from typing import Any

from keras_tuner.engine import hyperparameters as kt_hp
from keras_tuner.engine import trial as kt_trial

from keras_hpo.errors import ConfigError
from keras_hpo.files import atomic_write_json
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.oracles.persistence import listed_trial_ids
from keras_hpo.oracles.space import is_active
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.tuners.results import TrialResult

__all__ = [
    "check_same_search",
    "describe",
    "identity_differences",
    "rebuild_lost_trials",
    "search_identity",
    "space_differences",
]


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
    """How the declared search space differs from the saved one.

    An entry is compared with the saved entry of its name and conditions
    (one name may have an entry per sub-grid of a list of ``param_grid``
    dicts), else with the first saved entry of its name.
    """
    saved_by_place = {_place(hp): hp for hp in saved.space}
    saved_by_name: dict[str, kt_hp.HyperParameter] = {}
    for hp in saved.space:
        saved_by_name.setdefault(hp.name, hp)
    differences = []
    for hp in declared.space:
        old = saved_by_place.get(_place(hp), saved_by_name.get(hp.name))
        if old is None:
            differences.append(f"{hp.name} is new: {describe(hp)}")
        elif not _same(old, hp):
            differences.append(f"{hp.name} was {describe(old)}, now {describe(hp)}")
    return differences


def _place(hp: kt_hp.HyperParameter) -> tuple:
    """An entry's name with its conditions (where it is active)."""
    return (hp.name, tuple((c.name, repr(c.values)) for c in hp.conditions))


def search_identity(
    objective: Any, hypermodel: Any, cv: str | None = None
) -> dict[str, Any]:
    """What a search's scores mean: saved with it, compared on resume.

    Args:
        objective: The oracle's keras-tuner objective (or multi-objective).
        hypermodel: The hypermodel the tuner was given.
        cv: How the data is split (`folds.cv_identity`; ``None``: no ``cv=``).

    Returns:
        ``{"objective": [[name, direction], ...], "cv": cv}``, plus ``task``,
        ``loss`` and ``outputs`` for a `HyperMLP` (a hypermodel's
        `search_identity`).
    """
    objectives = getattr(objective, "objectives", None) or [objective]
    identity: dict[str, Any] = {
        "objective": [[str(o.name), str(o.direction)] for o in objectives],
        "cv": cv,
    }
    if isinstance(hypermodel, (DataAwareHyperModel, SklearnHyperModel)):
        identity.update(hypermodel.search_identity())
    return identity


def _shown(key: str, value: Any) -> str:
    if key == "objective":
        return " and ".join(f"{name} ({direction})" for name, direction in value)
    return repr(value)


def identity_differences(
    saved: dict[str, Any] | None, current: dict[str, Any]
) -> list[str]:
    """How the current search's `search_identity` differs from the saved one.

    Keys the saved identity lacks (a project written by an older version)
    are not compared.
    """
    if not isinstance(saved, dict):
        return []
    return [
        f"the {key} was {_shown(key, saved[key])}, now {_shown(key, value)}"
        for key, value in current.items()
        if key in saved and saved[key] != value
    ]


def saved_identity(project_dir: str, state: Any) -> dict[str, Any] | None:
    """The identity a project was saved with (older projects: search.json's)."""
    if isinstance(state, dict) and isinstance(state.get("search"), dict):
        return state["search"]
    path = os.path.join(project_dir, "search.json")
    if not os.path.isfile(path):
        return None
    record = read_json(path)
    if isinstance(record, dict) and "objective" in record and "direction" in record:
        return {"objective": [[record["objective"], record["direction"]]]}
    return None


def rebuild_lost_trials(project_dir: str, objective: Any) -> list[str]:
    """Rebuilds the ``trial.json`` of listed trials from their ``result.json``.

    A trial that ``oracle.json`` lists but whose ``trial.json`` is gone would
    otherwise be unknown to the oracle, and a new trial could take its ID
    and folder. Its ``result.json`` holds what the oracle needs: values,
    status, score and best-epoch metrics.

    Args:
        project_dir: The project folder.
        objective: The oracle's objective (for the metrics' directions).

    Returns:
        The IDs of the trials rebuilt.

    Raises:
        ValueError: If a ``result.json`` needed is damaged or is another
            trial's; the message names it.
    """
    path = os.path.join(project_dir, "oracle.json")
    if not os.path.isfile(path):
        return []
    state = read_json(path)
    if not isinstance(state, dict):
        return []  # the oracle's reload names the file
    rebuilt = []
    objectives = {
        o.name: o.direction
        for o in getattr(objective, "objectives", None) or [objective]
    }
    for trial_id in listed_trial_ids(state, path):
        folder = os.path.join(project_dir, f"trial_{trial_id}")
        trial_file = os.path.join(folder, "trial.json")
        result_file = os.path.join(folder, "result.json")
        if os.path.exists(trial_file) or not os.path.isfile(result_file):
            continue
        result = TrialResult.load(result_file)  # checks it is this trial's
        trial = _trial_from_result(state, path, trial_id, result, objectives)
        atomic_write_json(trial_file, trial.get_state())
        print(
            f"{trial_file} was missing; rebuilt it from {result_file}.",
            file=sys.stderr,
            flush=True,
        )
        rebuilt.append(trial_id)
    return rebuilt


def _trial_from_result(state, path, trial_id, result, objectives) -> kt_trial.Trial:
    """keras-tuner's trial rebuilt from our ``result.json`` and ``oracle.json``."""
    try:
        hp = kt_hp.HyperParameters.from_config(state["hyperparameters"])
        proposed = state.get("proposed", {})
        saved = proposed.get(trial_id) if isinstance(proposed, dict) else None
        hp.values = dict(saved or _with_subgrid(hp, result.values))
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise foreign_file(path, "a keras-tuner oracle's state") from err
    ended = trial_id in state.get("end_order", [])
    if not ended:
        status = kt_trial.TrialStatus.RUNNING
    elif result.ok:
        status = kt_trial.TrialStatus.COMPLETED
    else:
        status = kt_trial.TrialStatus.FAILED
    trial = kt_trial.Trial(hp, trial_id=trial_id, status=status)
    for name, value in result.metrics.items():
        trial.metrics.register(name, direction=objectives.get(name))
        trial.metrics.update(name, value, step=result.best_epoch or 0)
    if status == kt_trial.TrialStatus.COMPLETED:
        trial.score, trial.best_step = result.score, result.best_epoch or 0
    trial.message = result.error
    return trial


def _with_subgrid(hp: kt_hp.HyperParameters, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with the sub-grid index that ``result.json`` leaves out.

    A list of ``param_grid`` dicts is one space with a `SUBGRID` choice
    (see `keras_hpo.search_space.sklearn_grid`); a trial's public values do
    not say which grid they came from. It is the one grid whose every entry
    the values hold (a value in its list or range); where several do, the
    values are left as they are.

    Args:
        hp: The search's space.
        values: A trial's public values.

    Returns:
        The values with `SUBGRID` added when the space has one and a single
        grid fits; as given otherwise.
    """
    index = next((p for p in hp.space if p.name == SUBGRID), None)
    if index is None or SUBGRID in values:
        return dict(values)
    fits = []
    for choice in index.values:
        trial = {**values, SUBGRID: choice}
        active = [p for p in hp.space if p.name != SUBGRID and is_active(p, trial)]
        if all(p.name in values and _holds(p, values[p.name]) for p in active):
            fits.append(trial)
    return fits[0] if len(fits) == 1 else dict(values)


def _holds(hp: kt_hp.HyperParameter, value: Any) -> bool:
    """Whether ``value`` is one of ``hp``'s (a range is checked by its ends)."""
    if isinstance(hp, kt_hp.Choice):
        return value in hp.values
    if isinstance(hp, kt_hp.Fixed):
        return value == hp.value
    if isinstance(hp, kt_hp.Boolean):
        return isinstance(value, bool)
    low, high = getattr(hp, "min_value", None), getattr(hp, "max_value", None)
    return low is None or high is None or low <= value <= high


def check_same_search(
    project_dir: str,
    strategy: str,
    declared: kt_hp.HyperParameters,
    saved: kt_hp.HyperParameters,
    identity: dict[str, Any] | None = None,
    saved_as: dict[str, Any] | None = None,
) -> None:
    """Refuses to resume a project that holds a different search.

    Args:
        project_dir: The project directory being resumed.
        strategy: The class name of the new search's oracle.
        declared: The space the new search declares.
        saved: The space reloaded from the project.
        identity: The new search's `search_identity`.
        saved_as: The identity the project was saved with (``None``: not
            known, not compared).

    Raises:
        ConfigError: If the strategy, what a score means or the declared
            space differ.
    """
    differences = []
    state: dict[str, Any] = read_json(os.path.join(project_dir, "oracle.json"))
    before = state.get("strategy")
    if before is not None and before != strategy:
        differences.append(f"the strategy was {before}, now {strategy}")
    if identity is not None:
        differences += identity_differences(saved_as, identity)
    differences += space_differences(declared, saved)
    if differences:
        raise ConfigError(
            f"{project_dir} holds a different search, so resuming it would mix "
            f"the results of two searches: {'; '.join(differences)}. Pass "
            "overwrite=True to start afresh, or a new project_name to keep both."
        )
