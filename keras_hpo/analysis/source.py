"""The finished trials an analysis reads, from a tuner, a saved search or a folder.

Every function of `keras_hpo.analysis` takes a ``search``: a tuner that ran
(or resumed) a search, a `keras_hpo.load` result, or a project folder's
path. `trials_of` turns any of them into one `Trials` record. This module
only reads; it must not train or write anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.files import read_json
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import ranked

__all__ = [
    "INACTIVE",
    "Trials",
    "log_scaled",
    "require_finished",
    "space_by_name",
    "trials_of",
]


class _Inactive:
    """The type of `INACTIVE`."""

    def __repr__(self) -> str:
        return "INACTIVE"


#: A trial's value of a hyperparameter that was inactive in it (a
#: conditional one, or one of another sub-grid): ``result.values`` leaves
#: it out. ``None`` is a value like any other (``max_depth=None``).
INACTIVE = _Inactive()


@dataclass(frozen=True)
class Trials:
    """A search's ended trials and what they were searched for.

    Attributes:
        results: Every ended trial, in trial order (failed ones included).
        objective: The objective's name, e.g. ``"val_accuracy"``.
        direction: ``"max"`` or ``"min"``.
        space: The search space's hyperparameters (``Fixed`` ones included),
            or ``None`` when it is not known (then analyses infer each
            hyperparameter's kind from its values).
        project_dir: The project folder, or ``None``.
    """

    results: list[TrialResult]
    objective: str
    direction: str
    space: list[kt_hp.HyperParameter] | None = None
    project_dir: str | None = None

    def ranked(self) -> list[TrialResult]:
        """The trials with a finite score, best first."""
        return ranked(self.results, self.direction)

    def finished(self) -> list[TrialResult]:
        """The trials with a finite score, in trial order."""
        return [r for r in self.results if r.ok]


def trials_of(search: Any) -> Trials:
    """The `Trials` of a tuner, a saved search (`keras_hpo.load`) or a folder.

    Args:
        search: A `keras_hpo` tuner, a `keras_hpo.tuners.saved.SavedSearch`,
            a project folder's path, or a `Trials` (returned as is).

    Raises:
        ValueError: If ``search`` is a path that is not a project folder.
        TypeError: If ``search`` is none of these.
    """
    if isinstance(search, Trials):
        return search
    if isinstance(search, (str, os.PathLike)):
        from keras_hpo.tuners.saved import load

        search = load(os.fspath(search))
    oracle = getattr(search, "oracle", None)
    if oracle is not None and hasattr(search, "result_store"):  # a tuner
        objective = oracle.objective
        return Trials(
            results=search.results(),
            objective=objective.name,
            direction=objective.direction,
            space=list(oracle.hyperparameters.space),
            project_dir=getattr(search, "project_dir", None),
        )
    if hasattr(search, "project_dir") and hasattr(search, "results"):  # saved
        return Trials(
            results=search.results(),
            objective=search.objective or "score",
            direction=search.direction,
            space=_saved_space(search.project_dir),
            project_dir=search.project_dir,
        )
    raise TypeError(
        f"search must be a keras_hpo tuner, a keras_hpo.load(...) result or a "
        f"project folder's path; got {type(search).__name__}. Pass the tuner "
        "after search(), or keras_hpo.load('<directory>/<project_name>')."
    )


def _saved_space(project_dir: str) -> list[kt_hp.HyperParameter] | None:
    """The search space kept in keras-tuner's ``oracle.json`` (``None``: unreadable)."""
    path = os.path.join(project_dir, "oracle.json")
    try:
        config = read_json(path, "")["hyperparameters"]
        return list(kt_hp.HyperParameters.from_config(config).space)
    except (ValueError, KeyError, TypeError):
        return None


def require_finished(trials: Trials, at_least: int, what: str) -> list[TrialResult]:
    """The finished trials, or a clear error when there are too few."""
    done = trials.finished()
    if len(done) < at_least:
        raise ValueError(
            f"{what} needs at least {at_least} finished trials; this has "
            f"{len(done)}. Run more trials (search again with the same project: "
            "it resumes)."
        )
    return done


def log_scaled(low: float, high: float) -> bool:
    """Whether numbers from ``low`` to ``high`` read best on a log scale.

    For a hyperparameter the search space does not describe: all positive
    and spanning a factor of 100 or more.
    """
    return low > 0 and high >= 100 * low


def space_by_name(
    space: list[kt_hp.HyperParameter] | None,
) -> dict[str, kt_hp.HyperParameter | None]:
    """Each hyperparameter's one entry in ``space``, those of one name merged.

    A list of grids or distributions declares a name once per sub-grid
    (``learning_rate`` from 1e-5 to 1e-3 in one, from 1e-2 to 1e-1 in
    another). Ranges of one kind merge into the range that holds them all
    (log-scaled if each is); ``Fixed`` entries of one value stay ``Fixed``;
    anything else is ``None``, for the analyses to read each kind from the
    trials' values.
    """
    entries: dict[str, list[kt_hp.HyperParameter]] = {}
    for hp in space or []:
        entries.setdefault(hp.name, []).append(hp)
    return {name: _merged(name, found) for name, found in entries.items()}


def _merged(
    name: str, entries: list[kt_hp.HyperParameter]
) -> kt_hp.HyperParameter | None:
    first = entries[0]
    if len(entries) == 1:
        return first
    kinds = {type(hp) for hp in entries}
    if kinds == {kt_hp.Fixed} and len({repr(hp.value) for hp in entries}) == 1:
        return first
    if len(kinds) == 1 and kinds <= {kt_hp.Int, kt_hp.Float}:
        low = min(hp.min_value for hp in entries)
        high = max(hp.max_value for hp in entries)
        log = all(hp.sampling == "log" for hp in entries) and low > 0
        return type(first)(name, low, high, sampling="log" if log else "linear")
    return None
