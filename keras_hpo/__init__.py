"""keras_hpo: Keras-native hyperparameter tuning on keras-tuner.

Strategy (`keras_hpo.oracles`) is kept apart from execution
(`keras_hpo.tuners`) and from observation (`keras_hpo.callbacks`).

Example:
    >>> import keras_hpo
    >>> tuner = keras_hpo.BayesianSearch(
    ...     keras_hpo.HyperMLP(num_classes=10), max_trials=15, seed=0)
    >>> tuner.search(x, y, validation_split=0.2, epochs=20)  # doctest: +SKIP
    >>> tuner.best_params_, tuner.best_score_  # doctest: +SKIP
"""

import importlib
from typing import TYPE_CHECKING
from typing import Any

__version__ = "0.1.0"

# The public API, imported on first use so that `keras-hpo --help` and
# `import keras_hpo` do not pay TensorFlow's start-up until it is needed.
_EXPORTS = {
    "ConfigError": "keras_hpo.errors",
    "ConfigTypeError": "keras_hpo.errors",
    "NotSearchedError": "keras_hpo.errors",
    "ProjectInUseError": "keras_hpo.errors",
    "SearchSpaceError": "keras_hpo.errors",
    "HyperMLP": "keras_hpo.hypermodels",
    "SklearnHyperModel": "keras_hpo.hypermodels",
    "param_distributions_to_hyperparameters": "keras_hpo.hypermodels",
    "param_grid_to_hyperparameters": "keras_hpo.hypermodels",
    "BayesianOracle": "keras_hpo.oracles",
    "GridOracle": "keras_hpo.oracles",
    "HyperGrid": "keras_hpo.oracles",
    "RandomOracle": "keras_hpo.oracles",
    "BayesianSearch": "keras_hpo.tuners",
    "MedianStopping": "keras_hpo.stopping",
    "SuccessiveHalving": "keras_hpo.stopping",
    "GridSearch": "keras_hpo.tuners",
    "RandomSearch": "keras_hpo.tuners",
    "SavedSearch": "keras_hpo.tuners",
    "SearchTuner": "keras_hpo.tuners",
    "SklearnSearch": "keras_hpo.tuners",
    "TrialResult": "keras_hpo.tuners",
    "TrialStatus": "keras_hpo.tuners",
    "load": "keras_hpo.tuners",
}

__all__ = [
    "BayesianOracle",
    "BayesianSearch",
    "ConfigError",
    "ConfigTypeError",
    "GridOracle",
    "GridSearch",
    "HyperGrid",
    "HyperMLP",
    "MedianStopping",
    "NotSearchedError",
    "ProjectInUseError",
    "RandomOracle",
    "RandomSearch",
    "SavedSearch",
    "SearchSpaceError",
    "SearchTuner",
    "SklearnHyperModel",
    "SklearnSearch",
    "SuccessiveHalving",
    "TrialResult",
    "TrialStatus",
    "__version__",
    "load",
    "param_distributions_to_hyperparameters",
    "param_grid_to_hyperparameters",
]

if TYPE_CHECKING:  # pragma: no cover
    from keras_hpo.errors import ConfigError
    from keras_hpo.errors import ConfigTypeError
    from keras_hpo.errors import NotSearchedError
    from keras_hpo.errors import ProjectInUseError
    from keras_hpo.errors import SearchSpaceError
    from keras_hpo.hypermodels import HyperMLP
    from keras_hpo.hypermodels import SklearnHyperModel
    from keras_hpo.hypermodels import param_distributions_to_hyperparameters
    from keras_hpo.hypermodels import param_grid_to_hyperparameters
    from keras_hpo.oracles import BayesianOracle
    from keras_hpo.oracles import GridOracle
    from keras_hpo.oracles import HyperGrid
    from keras_hpo.oracles import RandomOracle
    from keras_hpo.stopping import MedianStopping
    from keras_hpo.stopping import SuccessiveHalving
    from keras_hpo.tuners import BayesianSearch
    from keras_hpo.tuners import GridSearch
    from keras_hpo.tuners import RandomSearch
    from keras_hpo.tuners import SavedSearch
    from keras_hpo.tuners import SearchTuner
    from keras_hpo.tuners import SklearnSearch
    from keras_hpo.tuners import TrialResult
    from keras_hpo.tuners import TrialStatus
    from keras_hpo.tuners import load


#: Subpackages reachable as attributes (``keras_hpo.oracles.GridOracle``)
#: without importing them first, as after ``import keras_tuner``.
_SUBPACKAGES = (
    "analysis",
    "callbacks",
    "distributed",
    "fused",
    "hypermodels",
    "oracles",
    "search_space",
    "stopping",
    "tuners",
)


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"keras_hpo.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keras_hpo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
