"""What training one trial produced, as values: `TrialOutcome` and its weights.

The trial runner returns a `TrialOutcome`; a failed training raises a
keras-tuner ``FailedTrialError`` that carries the partial outcome
(`trial_failed`, `outcome_of`). Nothing travels through
attributes of the tuner. This module owns these value types and must not
train, rank or decide which weights are kept (`checkpoint_store` does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from keras_tuner import errors as kt_errors

from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.weights import architecture_file
from keras_hpo.tuners.weights import save_architecture
from keras_hpo.tuners.weights import save_weights

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = [
    "RunTrialMetrics",
    "TrialOutcome",
    "WeightsHandle",
    "outcome_of",
    "trial_failed",
]


@dataclass
class WeightsHandle:
    """Where a trained trial's best weights are, until they are kept or dropped.

    Attributes:
        model: The trained model (in this process), or ``None``.
        weights: The best epoch's weights in memory; ``None`` means the
            model's current weights (with ``checkpoint="every_epoch"`` the
            best ones were written during training already).
        path: A weights file another process wrote (an isolated trial).
    """

    model: keras.Model | None = None
    weights: list | None = None
    path: str | None = None

    def write(self, path: str, current_if_no_best: bool) -> None:
        """Writes (or moves) the best weights to ``path``, the architecture beside.

        Args:
            path: The trial's best-weights file.
            current_if_no_best: Without best weights in memory, write the
                model's current ones (else nothing is written).
        """
        if self.path is not None:
            os.replace(self.path, path)
            if os.path.isfile(architecture_file(self.path)):
                os.replace(architecture_file(self.path), architecture_file(path))
            return
        if self.weights is not None:
            self.model.set_weights(self.weights)
            save_weights(self.model, path)
        elif current_if_no_best and self.model is not None and self.model.built:
            # (A model never built has no weights: a hypermodel whose fit
            # only scored it, as keras-tuner allows; nothing is written.)
            save_weights(self.model, path)
        if self.model is not None and os.path.isfile(path):
            save_architecture(self.model, path)

    def discard(self) -> None:
        """Deletes files another process wrote; forgets in-memory weights."""
        if self.path is not None:
            for path in (self.path, architecture_file(self.path)):
                if os.path.isfile(path):
                    os.remove(path)
        self.model = self.weights = None


@dataclass
class TrialOutcome:
    """One trained trial.

    Attributes:
        result: Its `TrialResult` (status, metrics, history, seed...).
        metrics: The best epoch's metrics, averaged over executions; what
            the oracle is told.
        weights: Its best weights, or ``None`` when none are kept.
    """

    result: TrialResult
    metrics: dict[str, float]
    weights: WeightsHandle | None = None


def trial_failed(
    message: str, outcome: TrialOutcome | None = None
) -> kt_errors.FailedTrialError:
    """The error for a training that failed (diverged, no objective).

    A keras-tuner ``FailedTrialError`` (the trial is not retried, and its
    message reads as keras-tuner's), carrying the partial outcome (curves up
    to the failure), if any, as ``.outcome``; see `outcome_of`.
    """
    error = kt_errors.FailedTrialError(message)
    error.outcome = outcome
    return error


def outcome_of(error: BaseException) -> TrialOutcome | None:
    """The partial outcome a failed training's error carries, or ``None``."""
    return getattr(error, "outcome", None)


class RunTrialMetrics(dict):
    """``run_trial``'s return value: the best epoch's metrics, as keras-tuner wants.

    It also carries the whole `TrialOutcome` (``.outcome``), so a subclass
    that returns ``super().run_trial(...)`` keeps the trial's curves, seed
    and weights; a plain dict returned instead is recorded from its metrics.
    """

    def __init__(self, outcome: TrialOutcome, metrics: dict[str, Any]):
        super().__init__(metrics)
        self.outcome = outcome
