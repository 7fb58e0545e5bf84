"""Hypermodels: `HyperMLP`, `SklearnHyperModel`, and their search-space helpers.

The helpers live in `keras_hpo.search_space` (strategies use them too) and
are re-exported here for convenience.
"""

from keras_hpo.hypermodels.mlp import ACTIVATIONS
from keras_hpo.hypermodels.mlp import KNOBS
from keras_hpo.hypermodels.mlp import OPTIMIZERS
from keras_hpo.hypermodels.mlp import TASKS
from keras_hpo.hypermodels.mlp import HyperMLP
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.search_space.knobs import Knob
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.search_space.sklearn_grid import param_distributions_to_hyperparameters
from keras_hpo.search_space.sklearn_grid import param_grid_to_hyperparameters

__all__ = [
    "ACTIVATIONS",
    "KNOBS",
    "OPTIMIZERS",
    "SUBGRID",
    "TASKS",
    "HyperMLP",
    "SklearnHyperModel",
    "Knob",
    "param_distributions_to_hyperparameters",
    "param_grid_to_hyperparameters",
]
