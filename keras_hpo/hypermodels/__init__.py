"""Hypermodels: `HyperMLP`, and the search-space helpers it uses.

The helpers live in `keras_hpo.search_space` (strategies use them too) and
are re-exported here for convenience.
"""

from keras_hpo.hypermodels.mlp import ACTIVATIONS
from keras_hpo.hypermodels.mlp import KNOBS
from keras_hpo.hypermodels.mlp import OPTIMIZERS
from keras_hpo.hypermodels.mlp import TASKS
from keras_hpo.hypermodels.mlp import HyperMLP
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
    "Knob",
    "param_distributions_to_hyperparameters",
    "param_grid_to_hyperparameters",
]
