"""After the search: which hyperparameters mattered, ensembles, plots, reports.

Every function takes a finished ``search`` (a tuner, `keras_hpo.load`'s
result or a project folder, see `trials_of`). The analyses read results and
kept models; none of them trains. Importing this package registers
`MajorityVote` with Keras (to load a ``"vote"`` ensemble). The tuners'
``importance()``, ``feature_importance()`` and ``ensemble()`` call these.

* `importance`: `hyperparameter_importance` (fANOVA on a random forest).
* `features`: `permutation_importance` of input features.
* `ensemble`: `build_ensemble` (mean, weighted mean or vote of trained
  models) and `greedy_weights` (ensemble selection).
* `plots`, `report`: matplotlib figures, and ``keras-hpo report``'s page.
"""

from keras_hpo.analysis.ensemble import MajorityVote
from keras_hpo.analysis.ensemble import build_ensemble
from keras_hpo.analysis.ensemble import greedy_weights
from keras_hpo.analysis.features import permutation_importance
from keras_hpo.analysis.importance import hyperparameter_importance
from keras_hpo.analysis.plots import plot_importance
from keras_hpo.analysis.plots import plot_learning_curves
from keras_hpo.analysis.plots import plot_optimization_history
from keras_hpo.analysis.plots import plot_parallel_coordinates
from keras_hpo.analysis.plots import plot_slice
from keras_hpo.analysis.report import write_report
from keras_hpo.analysis.source import Trials
from keras_hpo.analysis.source import trials_of

__all__ = [
    "MajorityVote",
    "Trials",
    "build_ensemble",
    "greedy_weights",
    "hyperparameter_importance",
    "permutation_importance",
    "plot_importance",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinates",
    "plot_slice",
    "trials_of",
    "write_report",
]
