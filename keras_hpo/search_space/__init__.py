"""Search-space helpers shared by hypermodels, strategies and tuners.

Neutral ground: `keras_hpo.hypermodels` describes spaces with them and
`keras_hpo.oracles` reads them, so strategies never import hypermodels.

* `knobs`: one knob, many ways to give it (`Knob`, `possible_values`).
* `sklearn_grid`: scikit-learn ``param_grid`` / ``param_distributions`` as
  keras-tuner hyperparameters.
* `importance`: which hyperparameters usually matter most.

It owns the description of a search space; it must not import hypermodels,
strategies or tuners, nor build or train models.
"""

from keras_hpo.search_space.importance import IMPORTANCE
from keras_hpo.search_space.knobs import Knob
from keras_hpo.search_space.knobs import possible_values
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.search_space.sklearn_grid import param_distributions_to_hyperparameters
from keras_hpo.search_space.sklearn_grid import param_grid_to_hyperparameters

__all__ = [
    "IMPORTANCE",
    "SUBGRID",
    "Knob",
    "param_distributions_to_hyperparameters",
    "param_grid_to_hyperparameters",
    "possible_values",
]
