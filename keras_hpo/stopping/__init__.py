"""Stopping bad trials early: one small policy object each.

Every policy answers one question, `Stopper.should_stop`, and works with every
strategy: pass it to a tuner as ``stopper=``.
"""

from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.stopping.base import best_so_far
from keras_hpo.stopping.halving import SuccessiveHalving
from keras_hpo.stopping.median import MedianStopping

__all__ = ["Curve", "MedianStopping", "Stopper", "SuccessiveHalving", "best_so_far"]
