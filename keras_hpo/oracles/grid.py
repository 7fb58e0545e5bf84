"""Grid search: every combination exactly once, in a fixed order."""

from __future__ import annotations

from typing import Any

from keras_hpo.oracles.base import SeedThirdOracle
from keras_hpo.oracles.space import HyperGrid

__all__ = ["GridOracle"]


class GridOracle(SeedThirdOracle):
    """Tries every combination of a discrete search space exactly once.

    The combinations are those of `HyperGrid` (first hyperparameter slowest,
    conditional hyperparameters only where active), handed out in that order;
    the search stops by itself when the grid is exhausted, or after
    ``max_trials`` trials if that is smaller. A continuous range without a step
    is refused with a `SearchSpaceError` when the grid is first needed (for
    our tuners: at construction), never silently discretised.

    Args:
        objective, max_trials, seed, hyperparameters, ...: As for
            `SeedThirdOracle` (keras-tuner's order: ``seed`` third; see
            `SearchOracle` for each). ``max_trials`` defaults to the whole
            grid; the seed is unused: the order is fixed.

    Example:
        >>> hp = keras_tuner.HyperParameters()
        >>> _ = hp.Choice("units", [32, 64, 128])
        >>> oracle = GridOracle(objective="val_loss", hyperparameters=hp)
        >>> len(oracle.get_grid())
        3
    """

    #: Its proposals do not depend on results, so a search may draw ahead.
    adaptive = False
    #: A running trial may still declare hyperparameters: the combinations
    #: that only add values to it wait until it ends (keras-tuner's order).
    wait_for_running = True

    def get_grid(self) -> HyperGrid:
        """All the combinations this oracle will hand out, in order.

        Raises:
            SearchSpaceError: If the space has a continuous range without a
                step, or is too large to enumerate.
        """
        grid = self.grid()
        if grid is None:
            HyperGrid(self.hyperparameters)  # raises the precise error
        return grid

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """The first combination of the grid not yet handed out."""
        is_new = self.newness()
        for values in self.get_grid():
            if is_new(values):
                return values
        return None
