"""A search's trial table, read from its project directory (``keras-hpo summary``)."""

from __future__ import annotations

import glob
import json
import math
import os
from dataclasses import dataclass
from dataclasses import field

from keras_hpo.errors import bad_value
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import ranked
from keras_hpo.tuners.results import read_json

__all__ = ["ProjectSummary", "find_projects", "format_summary", "read_project"]


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
    summary = ProjectSummary(
        directory=directory,
        objective=state.get("objective"),
        direction=state.get("direction", "max"),
        stop_reason=state.get("stop_reason"),
        model=state.get("model") or {},
    )
    ended = set()
    for path in sorted(glob.glob(os.path.join(directory, "trial_*", "result.json"))):
        result = TrialResult.load(path)
        summary.results.append(result)
        ended.add(result.trial_id)
    summary.results.sort(key=lambda r: r.number)
    for path in sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json"))):
        try:
            with open(path) as handle:
                trial_id = json.load(handle).get("trial_id")
        except (OSError, json.JSONDecodeError):
            continue
        if trial_id is not None and trial_id not in ended:
            summary.interrupted.append(trial_id)
    return summary


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


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
            + [_cell(r.values.get(name)) for name in names]
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
            f"{objective}={best.score:.4f}{at}"
        )
    return "\n".join(lines)
