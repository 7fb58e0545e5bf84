"""Which rows a data-aware hypermodel learns its statistics from.

A `keras_hpo.protocols.DataAwareHyperModel` (`keras_hpo.HyperMLP`) learns
what its models need from training data in ``adapt``: the input shape and,
with ``standardize=True`` or ``preprocessing="auto"``, the statistics that
its models' preprocessing layers hold (means and variances, medians,
categories). As scikit-learn's ``GridSearchCV`` fits a ``Pipeline``'s
scaler, imputer and encoder on each fold's training rows only, a model is
built right after its hypermodel adapted to the rows that model trains on:
the rows before a ``validation_split``'s cut, each ``cv=`` fold's training
rows, all the data for a refit. No statistic comes from rows a model is
scored on. The models keep their statistics (the architecture saved beside
a trial's weights holds them; see `SklearnResults.load_model`).

This module owns that choice of rows; it must not train or record.
"""

from __future__ import annotations

from typing import Any

from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.tuners.folds import training_rows

__all__ = ["adapt_to", "adapts"]


def adapts(hypermodel: Any) -> bool:
    """Whether ``hypermodel`` learns from the training data (``adapt``)."""
    return isinstance(hypermodel, DataAwareHyperModel)


def adapt_to(hypermodel: Any, fit_args: tuple, fit_kwargs: dict) -> None:
    """Adapts ``hypermodel`` to the rows ``fit(*fit_args, **fit_kwargs)`` trains on.

    Nothing happens for a hypermodel that does not adapt, or data without
    rows to read (``x`` missing).
    """
    if not adapts(hypermodel):
        return
    x, y = training_rows(fit_args, fit_kwargs)
    if x is not None:
        hypermodel.adapt(x, y)
