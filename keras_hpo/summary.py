"""A search's trial table, read from its project directory (``keras-hpo summary``)."""

from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from keras_hpo.errors import bad_value
from keras_hpo.files import foreign_file
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import ranked
from keras_hpo.tuners.results import read_json
from keras_hpo.tuners.results import result_from_trial

__all__ = ["ProjectSummary", "find_projects", "format_summary", "read_project"]


#: keras-tuner's statuses of an ended trial (a project without ``end_order``).
_ENDED = ("COMPLETED", "FAILED")


@dataclass
class ProjectSummary:
    """What a project directory says about its search.

    Attributes:
        directory: The project directory.
        objective: The objective's name (``None`` if unknown).
        direction: ``"min"`` or ``"max"``.
        stop_reason: Why the last search ended; ``None`` while it runs or
            if it was killed.
        results: Every ended trial, in trial order.
        interrupted: IDs of trials that started but never ended (the search
            was killed, or is still running them).
        model: What the models predict and how they are scored (see
            ``keras_hpo.tuners.refit.describe``; empty for older projects).
    """

    directory: str
    objective: str | None
    direction: str
    stop_reason: str | None
    results: list[TrialResult] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    model: dict = field(default_factory=dict)

    def best(self) -> TrialResult | None:
        """The trial with the best score, or ``None``."""
        best = ranked(self.results, self.direction)
        return best[0] if best else None


def find_projects(directory: str) -> list[str]:
    """Project directories at or one level below ``directory``."""
    if os.path.isfile(os.path.join(directory, "oracle.json")):
        return [directory]
    found = glob.glob(os.path.join(directory, "*", "oracle.json"))
    return sorted(os.path.dirname(path) for path in found)


def read_project(directory: str) -> ProjectSummary:
    """Reads a project's ``search.json`` and ``trial_*/result.json`` files.

    Args:
        directory: A project directory (``<directory>/<project_name>``).

    Raises:
        ValueError: If ``directory`` is not a project directory; the message
            lists the projects below it, if any.
    """
    if not os.path.isfile(os.path.join(directory, "oracle.json")):
        inside = find_projects(directory)
        fix = (
            "Pass one of the projects in it: " + ", ".join(inside)
            if inside
            else "Pass the directory a search wrote: <directory>/<project_name>."
        )
        raise bad_value("directory", directory, "is not a search's project", fix)
    state_path = os.path.join(directory, "search.json")
    state = read_json(state_path) if os.path.isfile(state_path) else {}
    if not isinstance(state, dict):
        raise foreign_file(state_path, "a search's state")
    oracle = read_json(os.path.join(directory, "oracle.json"))
    oracle = oracle if isinstance(oracle, dict) else {}
    summary = ProjectSummary(
        directory=directory,
        objective=state.get("objective"),
        direction=state.get("direction") or _direction(directory),
        stop_reason=state.get("stop_reason"),
        model=state.get("model") or {},
    )
    # As the search reads them: the trials the oracle lists as ended (a
    # result written by a process killed before the oracle's file runs
    # again), and an ended one without its result.json from trial.json.
    listed = oracle.get("end_order")
    ended = set(listed) if isinstance(listed, list) else None
    found = set()
    for path in sorted(glob.glob(os.path.join(directory, "trial_*", "result.json"))):
        result = TrialResult.load(path)
        if ended is None or result.trial_id in ended:
            summary.results.append(result)
            found.add(result.trial_id)
    order = (
        oracle.get("start_order") if isinstance(oracle.get("start_order"), list) else []
    )
    on_disk = _trial_ids(directory)
    if ended is None:  # keras-tuner's project (or an older one): trial.json says
        order = order or sorted(on_disk)
        missing = sorted(set(on_disk) - found)
    else:
        missing = sorted(ended - found)
    for trial_id in missing:
        trial = _trial(os.path.join(directory, on_disk.get(trial_id, ""), "trial.json"))
        if trial is None or (ended is None and trial.status not in _ENDED):
            continue
        number = order.index(trial_id) + 1 if trial_id in order else len(order)
        summary.results.append(result_from_trial(trial, number))
        found.add(trial_id)
    summary.results.sort(key=lambda r: r.number)
    summary.interrupted = [t for t in sorted(on_disk) if t not in found]
    return summary


def _trial_ids(directory: str) -> dict[str, str]:
    """Trial ID -> its folder's name, of every readable ``trial_*/trial.json``."""
    ids = {}
    for path in sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json"))):
        try:
            with open(path, encoding="utf-8") as handle:
                trial_id = json.load(handle).get("trial_id")
        except (OSError, ValueError, AttributeError):  # damaged, or not ours
            continue
        if isinstance(trial_id, str):  # the folder's name, in ``directory``
            ids[trial_id] = os.path.basename(os.path.dirname(path))
    return ids


def _trial(path: str) -> Any:
    """keras-tuner's ``Trial`` saved at ``path``, or ``None`` if unreadable."""
    from keras_tuner.engine import trial as kt_trial

    try:
        return kt_trial.Trial.load(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _direction(directory: str) -> str:
    """The objective's direction, read from keras-tuner's ``trial.json`` files.

    For a project without ``search.json``: a trial's score is the value of
    one of its metrics, and that metric's direction is the objective's
    (``"max"`` when no trial tells).
    """
    for path in sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json"))):
        trial = _trial(path)
        if trial is None or trial.score is None:
            continue
        found = {
            metric.direction
            for metric in trial.metrics.metrics.values()
            if any(trial.score in o.value for o in metric.get_history())
        }
        if len(found) == 1:
            return found.pop()
    return "max"


def _cell(value) -> str:
    """A table cell (``None``: ``-``, except as a hyperparameter's value)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _value_cell(values: dict[str, Any], name: str) -> str:
    """A hyperparameter's cell: ``-`` when inactive, ``None`` for ``None``."""
    if name not in values:
        return "-"
    return "None" if values[name] is None else _cell(values[name])


def format_summary(summary: ProjectSummary) -> str:
    """The summary as text: a header, one row per trial, the best trial."""
    objective = summary.objective or "score"
    lines = [f"Project {summary.directory}"]
    lines.append(
        f"Objective: {objective} ({summary.direction}); "
        f"{len(summary.results)} trials ended"
        + (f", {len(summary.interrupted)} interrupted" if summary.interrupted else "")
    )
    lines.append(
        "Search ended: "
        + (
            summary.stop_reason
            or "no (still running, or killed: run it again to resume)"
        )
    )
    names: list[str] = []
    for result in summary.results:
        names += [name for name in result.values if name not in names]
    header = ["trial", "status", objective, "best epoch", "epochs", "seconds", *names]
    best = summary.best()
    rows = []
    for r in summary.results:
        mark = "*" if best is not None and r.trial_id == best.trial_id else ""
        epoch = None if r.best_epoch is None or not r.ok else r.best_epoch + 1
        rows.append(
            [f"{r.number}{mark}", r.status.value, _cell(r.score), _cell(epoch)]
            + [_cell(r.epochs_run), f"{r.seconds:.1f}"]
            + [_value_cell(r.values, name) for name in names]
        )
    for trial_id in summary.interrupted:
        rows.append([f"id {trial_id}", "interrupted", "-", "-", "-", "-"])
        rows[-1] += ["-"] * len(names)
    widths = [
        max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))
    ]
    for row in [header, *rows]:
        lines.append(
            "  ".join(
                str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)
            ).rstrip()
        )
    if best is not None:
        at = "" if best.best_epoch is None else f" at epoch {best.best_epoch + 1}"
        lines.append(
            f"Best (*): trial {best.number} (id {best.trial_id}), "
            f"{objective}={_cell(best.score)}{at}"
        )
    return "\n".join(lines)
