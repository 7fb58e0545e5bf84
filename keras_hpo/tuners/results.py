"""What one trial produced, stored as JSON next to keras-tuner's trial file."""

from __future__ import annotations

import enum
import json
import math
import os
import tempfile
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

__all__ = ["TrialResult", "TrialStatus", "atomic_write_json", "read_json"]


class TrialStatus(str, enum.Enum):
    """How a trial ended."""

    COMPLETED = "completed"
    FAILED = "failed"


def atomic_write_json(path: str, data: Any) -> None:
    """Writes JSON so that a reader sees the old file or the new one, never half.

    Args:
        path: Destination file.
        data: JSON-serialisable data.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, allow_nan=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_json(path: str) -> Any:
    """Reads a JSON file, naming the file in the error if it is damaged.

    Raises:
        ValueError: If the file is not valid JSON.
    """
    with open(path) as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{path} is not valid JSON ({err}). Delete it to run that trial "
                "again, or start the search with overwrite=True."
            ) from err


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

    @property
    def ok(self) -> bool:
        """Whether the trial completed with a finite score."""
        return (
            self.status == TrialStatus.COMPLETED
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
        """Reads a result written by `save`."""
        return cls.from_json(read_json(path))
