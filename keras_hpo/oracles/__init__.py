"""Strategies: which hyperparameter values to try next (no training here).

Each oracle is a ``keras_tuner.Oracle`` and works with any keras-tuner
``Tuner``, not only ours.
"""

from keras_hpo.oracles.acquisition import log_expected_improvement
from keras_hpo.oracles.base import SearchOracle
from keras_hpo.oracles.bayesian import BayesianOracle
from keras_hpo.oracles.grid import GridOracle
from keras_hpo.oracles.random import RandomOracle
from keras_hpo.oracles.space import HyperGrid
from keras_hpo.oracles.space import UnitCube

__all__ = [
    "BayesianOracle",
    "GridOracle",
    "HyperGrid",
    "RandomOracle",
    "SearchOracle",
    "UnitCube",
    "log_expected_improvement",
]
