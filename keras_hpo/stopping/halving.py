"""Asynchronous successive halving (ASHA)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.stopping.base import best_so_far
from keras_hpo.stopping.median import check_count

__all__ = ["SuccessiveHalving"]


class SuccessiveHalving(Stopper):
    """Keeps only the top 1/``reduction_factor`` of trials at each rung.

    Rungs sit at ``min_epochs * reduction_factor**k`` epochs (1, 2, 4, 8...
    by default). When a trial reaches a rung it is compared with every trial
    that reached that rung before it (finished trials count with the best
    value they reached, see `best_so_far`); it continues only if its best
    value so far ranks in the top ``1/reduction_factor`` of them, itself
    included. While fewer than ``reduction_factor`` trials have reached a
    rung, every trial continues: ASHA would pause them and promote the best
    later, but a trial stopped here is never resumed, so stopping it on a
    ranking of one or two is not worth the risk.

    The default, halving (``reduction_factor=2``), suits searches of tens
    of trials: a harsher cut (3 or 4, common in searches of hundreds)
    decides on fewer, noisier comparisons at the early rungs.
    ``benchmarks/pruning.py`` measures the epochs saved and the accuracy
    lost by each factor; its results are in ``benchmarks/README.md``.

    Args:
        min_epochs: The first rung, in epochs. Defaults to 1.
        reduction_factor: How many times fewer trials each rung keeps.
            Defaults to 2.

    Example:
        >>> tuner = keras_hpo.RandomSearch(
        ...     hypermodel, stopper=SuccessiveHalving(min_epochs=1, reduction_factor=2))
    """

    def __init__(self, min_epochs: int = 1, reduction_factor: int = 2):
        self.min_epochs = check_count("min_epochs", min_epochs, 1)
        fix = "E.g. reduction_factor=2 (halving) or 3."
        if isinstance(reduction_factor, bool) or not isinstance(
            reduction_factor, (int, float, np.integer, np.floating)
        ):
            raise bad_type("reduction_factor", reduction_factor, "a number", fix)
        if not (math.isfinite(reduction_factor) and reduction_factor >= 2):
            raise bad_value(
                "reduction_factor",
                reduction_factor,
                "must be a finite number of at least 2",
                fix,
            )
        self.reduction_factor = (
            int(reduction_factor)
            if float(reduction_factor).is_integer()
            else float(reduction_factor)
        )

    def is_rung(self, epochs: int) -> bool:
        """Whether ``epochs`` is a rung."""
        if epochs < self.min_epochs:
            return False
        k = round(math.log(epochs / self.min_epochs, self.reduction_factor))
        return epochs == round(self.min_epochs * self.reduction_factor**k)

    def should_stop(
        self, trial_id: str, epochs: int, curves: Mapping[str, Curve]
    ) -> bool:
        """Whether the trial falls out of the top 1/reduction_factor at a rung."""
        if not self.is_rung(epochs):
            return False
        own = best_so_far(curves[trial_id], epochs)
        if own is None:
            return False
        competing = [
            best_so_far(curve, epochs)
            for tid, curve in curves.items()
            if tid != trial_id
        ]
        competing = sorted([v for v in competing if v is not None] + [own])
        if len(competing) < self.reduction_factor:
            return False  # too few trials at this rung to rank fairly
        keep = int(len(competing) // self.reduction_factor)
        return own > competing[keep - 1]

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalving(min_epochs={self.min_epochs}, "
            f"reduction_factor={self.reduction_factor})"
        )
