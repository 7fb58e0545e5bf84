"""The question every stopping policy answers, and the curves it is asked about."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Curve", "Stopper", "best_so_far"]


@dataclass(frozen=True)
class Curve:
    """One trial's objective per epoch, oriented so that lower is better.

    Attributes:
        values: The objective after each epoch that ran (``nan`` allowed).
        finished: Whether the trial ended (completed or stopped early by its
            own early stopping); a finished trial's best value carries
            forward to epochs it did not run. A running or pruned trial
            counts only at the epochs it reached.
    """

    values: Sequence[float]
    finished: bool = False


def best_so_far(curve: Curve, epochs: int) -> float | None:
    """The best (lowest) value of a curve within its first ``epochs`` epochs.

    Returns ``None`` where the curve does not count at that many epochs: a
    trial that is still running or was pruned before reaching them. A
    finished trial that ran fewer epochs (its own early stopping ended it)
    counts with the best value it reached, so trials cut short are compared
    fairly with those that ran on.
    """
    if len(curve.values) < epochs and not curve.finished:
        return None
    finite = [v for v in curve.values[:epochs] if not math.isnan(v)]
    return min(finite) if finite else None


class Stopper:
    """A policy that decides whether a running trial should stop now.

    Subclasses answer one question in `should_stop`. A stopper is shared by
    every strategy: pass it to a tuner as ``stopper=``. Policies are
    stateless: everything they need is in the curves they are given.
    """

    def should_stop(
        self, trial_id: str, epochs: int, curves: Mapping[str, Curve]
    ) -> bool:
        """Whether trial ``trial_id`` should stop after ``epochs`` epochs.

        Args:
            trial_id: The running trial.
            epochs: How many epochs it has finished (1 after the first).
            curves: Trial ID -> `Curve` of every trial of the search, the
                running one included; values are oriented so lower is better.

        Returns:
            ``True`` to stop the trial now.
        """
        raise NotImplementedError
