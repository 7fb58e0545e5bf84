"""Execution: tuners that build, train and record trials.

`SearchTuner` composes the parts of a search (loop, trial runner, checks,
checkpoint and result stores, isolation, the callbacks' view; see
ARCHITECTURE.md); the strategy tuners only pick an oracle.
The names are imported on first use, so that reading results from disk
(`keras_hpo.tuners.results`, ``keras-hpo summary``) does not import
TensorFlow. `load` reads a finished search from its folder (`SavedSearch`).
"""

import importlib
from typing import TYPE_CHECKING
from typing import Any

_EXPORTS = {
    "BayesianSearch": "keras_hpo.tuners.bayesian",
    "GridSearch": "keras_hpo.tuners.grid",
    "RandomSearch": "keras_hpo.tuners.random",
    "SavedSearch": "keras_hpo.tuners.saved",
    "SearchTuner": "keras_hpo.tuners.base",
    "SklearnSearch": "keras_hpo.tuners.sklearn_search",
    "TrialResult": "keras_hpo.tuners.results",
    "TrialStatus": "keras_hpo.tuners.results",
    "load": "keras_hpo.tuners.saved",
}

__all__ = [
    "BayesianSearch",
    "GridSearch",
    "RandomSearch",
    "SavedSearch",
    "SearchTuner",
    "SklearnSearch",
    "TrialResult",
    "TrialStatus",
    "load",
]

if TYPE_CHECKING:  # pragma: no cover
    from keras_hpo.tuners.base import SearchTuner
    from keras_hpo.tuners.bayesian import BayesianSearch
    from keras_hpo.tuners.grid import GridSearch
    from keras_hpo.tuners.random import RandomSearch
    from keras_hpo.tuners.results import TrialResult
    from keras_hpo.tuners.results import TrialStatus
    from keras_hpo.tuners.saved import SavedSearch
    from keras_hpo.tuners.saved import load
    from keras_hpo.tuners.sklearn_search import SklearnSearch


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'keras_hpo.tuners' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
