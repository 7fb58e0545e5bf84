"""What one trial produced, stored as JSON next to keras-tuner's trial file."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from keras_hpo.files import atomic_write_json
from keras_hpo.files import check_trial_file
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json

__all__ = [
    "TrialResult",
    "TrialStatus",
    "atomic_write_json",
    "cv_results",
    "read_json",
]


class TrialStatus(str, enum.Enum):
    """How a trial ended."""

    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    PRUNED = "pruned"
    FAILED = "failed"


@dataclass
class TrialResult:
    """The outcome of one trial, as our tuners record it.

    Attributes:
        trial_id: keras-tuner's trial ID.
        number: 1-based position of the trial in the search.
        values: The hyperparameter values the trial ran with.
        status: How it ended.
        score: The objective at the best epoch (``None`` if it failed).
        metrics: Every logged metric at the best epoch.
        best_epoch: 0-based index of the best epoch.
        epochs_run: Epochs that finished.
        seconds: Wall time of the whole trial (build, fit, checkpoint).
        fit_seconds: Wall time inside ``fit``.
        seed: The random seed the trial trained with.
        history: Metric name -> value per epoch.
        error: The error and traceback of a failed trial.
        end_reason: Why training ended before its last epoch (early
            stopping, pruning, divergence), else ``None``.
        fused_with: The IDs of the trials it trained with as one fused model
            (``fuse=``), itself included, in the group's order: the group
            trained on the batches the first one would have seen alone.
            ``None``: it trained alone.
    """

    trial_id: str
    number: int
    values: dict[str, Any]
    status: TrialStatus
    score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    epochs_run: int = 0
    seconds: float = 0.0
    fit_seconds: float = 0.0
    seed: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    end_reason: str | None = None
    fused_with: list[str] | None = None

    @property
    def ok(self) -> bool:
        """Whether the trial has a finite score.

        True for completed trials, trials stopped early and pruned trials.
        """
        return (
            self.status != TrialStatus.FAILED
            and self.score is not None
            and math.isfinite(self.score)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialResult:
        """The inverse of `to_json`."""
        data = dict(data)
        data["status"] = TrialStatus(data["status"])
        return cls(**data)

    def save(self, path: str) -> None:
        """Writes the result atomically."""
        atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str) -> TrialResult:
        """Reads a result written by `save`.

        Raises:
            ValueError: If the file is damaged, not a trial result, or the
                result of another trial than its folder's; the message names
                the file.
        """
        fix = (
            "Delete it and run the search again: the result of a finished trial "
            "is then rebuilt from its trial.json (without its per-epoch history) "
            "and an unfinished trial runs again. Or start afresh with "
            "overwrite=True."
        )
        data = read_json(path, fix)
        try:
            result = cls.from_json(data)
        except (TypeError, ValueError, KeyError) as err:
            raise foreign_file(path, "a keras_hpo trial result", fix) from err
        check_trial_file(result.trial_id, path, "the result")
        return result


def cv_results(rows: list[TrialResult], ranked: list[TrialResult]) -> dict[str, list]:
    """The scikit-learn style results table: one row per trial, as columns.

    Args:
        rows: Every ended trial, in trial order.
        ranked: The trials with a score, best first.

    Returns:
        Columns of equal length: ``trial_id``, ``number``, ``param_<name>``
        for every hyperparameter (``None`` where inactive), ``params``,
        ``score``, ``rank_score`` (1 is best; failed trials rank last),
        ``status``, ``best_epoch``, ``epochs_run``, ``seconds``,
        ``fit_seconds``, ``end_reason``, ``error``.
    """
    names: list[str] = []
    for row in rows:
        names += [name for name in row.values if name not in names]
    order = [r.trial_id for r in ranked]
    order += [r.trial_id for r in rows if r.trial_id not in order]
    rank = {trial_id: i + 1 for i, trial_id in enumerate(order)}
    table: dict[str, list] = {"trial_id": [r.trial_id for r in rows]}
    table["number"] = [r.number for r in rows]
    for name in names:
        table[f"param_{name}"] = [r.values.get(name) for r in rows]
    table["params"] = [dict(r.values) for r in rows]
    table["score"] = [r.score for r in rows]
    table["rank_score"] = [rank[r.trial_id] for r in rows]
    table["status"] = [r.status.value for r in rows]
    table["best_epoch"] = [r.best_epoch for r in rows]
    table["epochs_run"] = [r.epochs_run for r in rows]
    table["seconds"] = [r.seconds for r in rows]
    table["fit_seconds"] = [r.fit_seconds for r in rows]
    table["end_reason"] = [r.end_reason for r in rows]
    table["error"] = [r.error for r in rows]
    return table
