"""Hypermodels and the search-space helpers they use."""

from keras_hpo.hypermodels.mlp import ACTIVATIONS
from keras_hpo.hypermodels.mlp import KNOBS
from keras_hpo.hypermodels.mlp import OPTIMIZERS
from keras_hpo.hypermodels.mlp import TASKS
from keras_hpo.hypermodels.mlp import HyperMLP
from keras_hpo.hypermodels.sklearn_space import SUBGRID
from keras_hpo.hypermodels.sklearn_space import param_distributions_to_hyperparameters
from keras_hpo.hypermodels.sklearn_space import param_grid_to_hyperparameters
from keras_hpo.hypermodels.space import Knob

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
