"""Random search: reproducible, never repeating, stops when exhausted."""

from __future__ import annotations

from typing import Any

from keras_hpo.oracles.base import SeedThirdOracle
from keras_hpo.oracles.space import UnitCube

__all__ = ["RandomOracle"]


class RandomOracle(SeedThirdOracle):
    """Samples each hyperparameter independently, on its own scale.

    The n-th proposal depends only on ``seed`` and n, so a search is
    reproducible (``seed=0`` is a seed). A configuration that has run, or is
    running on another worker, is never proposed again; in a finite space the
    search stops once every configuration has been tried.

    Args:
        objective, max_trials, seed, hyperparameters, ...: As for
            `SeedThirdOracle` (keras-tuner's order: ``seed`` third; see
            `SearchOracle` for each).

    Example:
        >>> oracle = RandomOracle(objective="val_loss", max_trials=20, seed=0)
    """

    #: Its proposals do not depend on results, so a search may draw ahead.
    adaptive = False

    def propose(self, trial_id: str) -> dict[str, Any] | None:
        """A random configuration not tried before."""
        cube = UnitCube(self.hyperparameters)
        return self.random_new(
            lambda rng: cube.decode(rng.random(cube.dims)), self.num_proposed
        )
