"""Execution: tuners that build, train and record trials.

`SearchTuner` holds the Keras work; the strategy tuners only pick an oracle.
"""

from keras_hpo.tuners.base import SearchTuner
from keras_hpo.tuners.bayesian import BayesianSearch
from keras_hpo.tuners.grid import GridSearch
from keras_hpo.tuners.random import RandomSearch
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus

__all__ = [
    "BayesianSearch",
    "GridSearch",
    "RandomSearch",
    "SearchTuner",
    "TrialResult",
    "TrialStatus",
]
