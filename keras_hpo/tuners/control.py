"""Stopping a trial from inside its training: divergence and pruning."""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Mapping

import keras
import keras_tuner

from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.tuners.checkpoint import epoch_logs

__all__ = ["TrialControl"]


class TrialControl(keras.callbacks.Callback):
    """Ends a trial's training early when it diverges or a stopper says so.

    After every epoch it reads the logs: a NaN or infinite ``loss`` (or
    objective) stops training at once and marks the trial diverged; otherwise
    the `Stopper`, if any, is asked whether the trial should stop, given every
    trial's curve.

    Args:
        trial_id: The trial being trained.
        objective: The search's keras-tuner ``Objective``.
        stopper: A `Stopper`, or ``None``.
        curves: A function returning the *other* trials' curves (oriented so
            lower is better).
        share: Called with this training's curve so far before ``curves``
            is asked (a worker gives it to the chief, so the other workers'
            stoppers see it), or ``None``.

    Attributes:
        diverged: A message when training diverged, else ``None``.
        pruned_at: The number of epochs after which the stopper stopped the
            trial, else ``None``.
        values: The objective after each epoch, oriented so lower is better.
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(
        self,
        trial_id: str,
        objective: keras_tuner.Objective,
        stopper: Stopper | None,
        curves: Callable[[], Mapping[str, Curve]],
        share: Callable[[list[float]], None] | None = None,
    ):
        super().__init__()
        self.trial_id = trial_id
        self.objective = objective
        self.stopper = stopper
        self.curves = curves
        self.share = share
        self.diverged: str | None = None
        self.pruned_at: int | None = None
        self.values: list[float] = []
        self._initial: list[float] = []

    def start_from(self, history: Mapping[str, list[float]]) -> None:
        """Makes the next training continue an interrupted one's curve.

        A trial resumed from its last epoch (``checkpoint="every_epoch"``)
        is compared, and shared, by its whole curve, as if it had not been
        interrupted.

        Args:
            history: The interrupted training's metrics, one value per epoch.
        """
        self._initial = [self._oriented(logs) for logs in epoch_logs(dict(history))]

    def on_train_begin(self, logs=None):
        """Forgets the previous execution's curve (keeps a resumed one's)."""
        self.values = list(self._initial)

    def _oriented(self, logs: Mapping[str, float]) -> float:
        """The objective in ``logs``, oriented so lower is better (NaN if absent)."""
        if not self.objective.has_value(logs):
            return math.nan
        value = float(self.objective.get_value(logs))
        return value if self.objective.direction == "min" else -value

    def on_epoch_end(self, epoch, logs=None):
        """Checks for divergence, then asks the stopper."""
        logs = logs or {}
        for name in ("loss", self.objective.name):
            value = logs.get(name)
            if value is not None and not math.isfinite(float(value)):
                self.diverged = (
                    f"diverged: {name} became {float(value)} at epoch {epoch + 1}"
                )
                self.model.stop_training = True
                return
        self.values.append(self._oriented(logs))
        if self.stopper is None or epoch + 1 >= self.params.get("epochs", math.inf):
            return  # nothing to ask, or nothing left to save by stopping
        if self.model.stop_training:
            return  # already ended (early stopping, a callback): not pruned
        if self.share is not None:
            self.share(list(self.values))
        curves = dict(self.curves())
        curves[self.trial_id] = Curve(list(self.values), finished=False)
        if self.stopper.should_stop(self.trial_id, epoch + 1, curves):
            self.pruned_at = epoch + 1
            self.model.stop_training = True
