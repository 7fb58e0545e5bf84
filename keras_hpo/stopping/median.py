"""Stop a trial that is worse than the median of the others at the same epoch."""

from __future__ import annotations

import statistics
from collections.abc import Mapping

import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.stopping.base import best_so_far

__all__ = ["MedianStopping", "check_count"]


def check_count(argument: str, value, minimum: int) -> int:
    """Validates an integer argument of a stopper."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise bad_type(argument, value, "an int", f"E.g. {argument}={max(minimum, 3)}.")
    value = int(value)
    if value < minimum:
        raise bad_value(
            argument,
            value,
            f"must be at least {minimum}",
            f"E.g. {argument}={minimum}.",
        )
    return value


class MedianStopping(Stopper):
    """Stops a trial whose best value so far is worse than the others' median.

    After ``epochs`` epochs the running trial's best objective so far is
    compared with the median of the other trials' best values within their
    first ``epochs`` epochs (`best_so_far`: finished trials count with what
    they reached, running and pruned ones only where they got that far).
    NaN values are ignored; a trial whose values are all NaN is not stopped
    here (divergence is handled by the tuner).

    Args:
        min_trials: Finished trials needed before the policy acts. Defaults
            to 5.
        min_epochs: Epochs a trial always runs before it can be stopped.
            Defaults to 2.

    Example:
        >>> tuner = keras_hpo.RandomSearch(hypermodel, stopper=MedianStopping())
    """

    def __init__(self, min_trials: int = 5, min_epochs: int = 2):
        self.min_trials = check_count("min_trials", min_trials, 1)
        self.min_epochs = check_count("min_epochs", min_epochs, 1)

    def should_stop(
        self, trial_id: str, epochs: int, curves: Mapping[str, Curve]
    ) -> bool:
        """Whether the trial is worse than the median at this epoch."""
        if epochs < self.min_epochs:
            return False
        finished = sum(c.finished for tid, c in curves.items() if tid != trial_id)
        if finished < self.min_trials:
            return False
        own = best_so_far(curves[trial_id], epochs)
        others = [
            best_so_far(curve, epochs)
            for tid, curve in curves.items()
            if tid != trial_id
        ]
        others = [v for v in others if v is not None]
        if own is None or not others:
            return False
        return own > statistics.median(others)

    def __repr__(self) -> str:
        return (
            f"MedianStopping(min_trials={self.min_trials}, "
            f"min_epochs={self.min_epochs})"
        )
