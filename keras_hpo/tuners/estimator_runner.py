"""Training one trial of a scikit-learn estimator: `EstimatorRunner`.

The sibling of `TrialRunner` for a `SklearnHyperModel`: for each ``cv=``
fold, a clone of the estimator with the trial's parameters is fitted on the
fold's training rows and scored on its test rows by each ``scoring=``
scorer, as ``GridSearchCV`` does (with ``sample_weight``, both weighted by
the rows' weights, as there: `weighted`). A trial's score is the mean over its
folds (``numpy.mean``, as scikit-learn's ``mean_test_score``). There are no
epochs: no early stopping, pruning or weights; the refit model is the one
kept (`refit`). It returns a `TrialOutcome`; a fit or score that raises
fails the trial (keras-tuner's ``FailedTrialError``, not retried: an
estimator's error is deterministic). It must not talk to the oracle, write
results or rank trials.
"""

from __future__ import annotations

import inspect
import time
import traceback
from typing import Any

import numpy as np
from sklearn.model_selection import GridSearchCV

from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.tuners.folds import Folds
from keras_hpo.tuners.outcome import TrialOutcome
from keras_hpo.tuners.outcome import trial_failed
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.runner import TrialPlan
from keras_hpo.tuners.scoring import Scoring

__all__ = [
    "KERAS_ONLY",
    "EstimatorRunner",
    "check_estimator_fit_arguments",
    "check_estimator_options",
    "weighted",
]

#: ``search`` arguments that only a Keras training understands.
KERAS_ONLY = (
    "epochs",
    "batch_size",
    "callbacks",
    "validation_split",
    "validation_data",
    "validation_steps",
    "validation_batch_size",
    "validation_freq",
    "steps_per_epoch",
    "initial_epoch",
    "shuffle",
    "class_weight",
)


def check_estimator_options(
    fuse: Any = 1,
    stopper: Any = None,
    isolate_trials: bool = False,
    executions_per_trial: int = 1,
    **_: Any,
) -> None:
    """Refuses tuner options that need epochs or Keras models.

    Raises:
        ValueError: Naming the first such option and its value.
    """
    refused = {
        "fuse": (fuse, fuse != 1),
        "stopper": (stopper, stopper is not None),
        "isolate_trials": (isolate_trials, bool(isolate_trials)),
        "executions_per_trial": (executions_per_trial, executions_per_trial != 1),
    }
    for name, (value, wrong) in refused.items():
        if wrong:
            raise bad_value(
                name,
                value,
                "an option for Keras models, but the hypermodel is a scikit-learn "
                "estimator (one fit per cv= fold, no epochs)",
                f"Drop {name}= for an estimator.",
            )


def check_estimator_fit_arguments(estimator: Any, fit_kwargs: dict) -> None:
    """Refuses Keras ``fit`` arguments given to a search of an estimator.

    Other keyword arguments are the estimator's ``fit`` parameters
    (``sample_weight``...), passed to every fit (sliced per fold).

    Raises:
        ValueError: Naming the first such argument.
    """
    for name in KERAS_ONLY:
        if name in fit_kwargs:
            raise bad_value(
                name,
                fit_kwargs[name],
                f"a Keras fit() argument, but the search tunes "
                f"{type(estimator).__name__}, a scikit-learn estimator",
                "Call search(x, y) with the estimator's own fit parameters only; "
                "cv= on the tuner says how the data is split (as GridSearchCV).",
            )


#: Whether this scikit-learn's search classes weight the test scores.
_SEARCH_WEIGHTS_SCORES = hasattr(GridSearchCV, "_check_scorers_accept_sample_weight")


def weighted(scorer: Any, weights: list) -> dict[str, Any]:
    """``sample_weight=`` for a scorer that takes it, as scikit-learn's search.

    Given ``sample_weight`` (and metadata routing off), the search classes
    of scikit-learn 1.9 weight each fold's test score too, with the test
    rows' weights, for a scorer that accepts them (``estimator.score`` and
    ``get_scorer`` scorers do); earlier versions, which score unweighted,
    are followed as well.

    Args:
        scorer: A scikit-learn scorer or scorer callable.
        weights: ``[test_rows_weights]``, or ``[]`` without sample weights.
    """
    if not weights or weights[0] is None or not _SEARCH_WEIGHTS_SCORES:
        return {}
    accepts = getattr(scorer, "_accept_sample_weight", None)
    if callable(accepts):
        takes = bool(accepts())
    else:
        try:
            takes = "sample_weight" in inspect.signature(scorer).parameters
        except (TypeError, ValueError):  # no signature to read
            takes = False
    return {"sample_weight": weights[0]} if takes else {}


class EstimatorRunner:
    """Fits and scores a scikit-learn estimator on each fold of a trial.

    Args:
        hypermodel: The `SklearnHyperModel`.
        scoring: The scores to compute (see `scoring.estimator_scoring`).
        folds: The ``cv=`` folds of the search's data.
    """

    def __init__(self, hypermodel: SklearnHyperModel, scoring: Scoring, folds: Folds):
        self.hypermodel = hypermodel
        self.scoring = scoring
        self.folds = folds

    def run(self, plan: TrialPlan, fit_args: tuple, fit_kwargs: dict) -> TrialOutcome:
        """Fits and scores every fold; returns the trial's outcome.

        Raises:
            FailedTrialError: If a fit or a score raised (the folds that
                ended are kept in the partial outcome).
        """
        hp = plan.hyperparameters
        values = {k: v for k, v in hp.values.items() if hp.is_active(k)}
        result = TrialResult(
            plan.trial_id,
            plan.number,
            self.hypermodel.decode(values, json_safe=True),
            TrialStatus.COMPLETED,
            seed=plan.seed,
            folds=[],
        )
        for fold in range(len(self.folds)):
            try:
                result.folds.append(self._fold(hp, fold, fit_args, fit_kwargs))
            except Exception as err:  # noqa: BLE001 - fails this trial only
                message = "".join(traceback.format_exception(err))
                raise trial_failed(
                    f"fold {fold + 1} of trial {plan.number} failed:\n{message}",
                    TrialOutcome(self._totals(result), {}),
                ) from err
        self._totals(result)
        return TrialOutcome(result, dict(result.metrics))

    def _fold(self, hp: Any, fold: int, fit_args: tuple, fit_kwargs: dict) -> dict:
        (x, y), kwargs = self.folds.fit_arguments(fold, fit_args, fit_kwargs)
        x_test, y_test, *weights = kwargs.pop("validation_data")
        estimator = self.hypermodel.build(hp)
        start = time.perf_counter()
        estimator.fit(x, y, **kwargs)
        fitted = time.perf_counter()
        metrics = {
            score.logged: float(
                score.scorer(
                    estimator, x_test, y_test, **weighted(score.scorer, weights)
                )
            )
            for score in self.scoring.scores
        }
        scored = time.perf_counter()
        return {
            "score": metrics[self.scoring.ranking.logged],
            "best_epoch": None,
            "epochs_run": 0,
            "fit_seconds": scored - start,
            "score_seconds": scored - fitted,
            "metrics": metrics,
            "history": {},
        }

    def _totals(self, result: TrialResult) -> TrialResult:
        """Sets the trial's score, metrics and times from its folds."""
        folds = result.folds or []
        if folds:
            names = folds[0]["metrics"]
            result.metrics = {
                name: float(np.mean([f["metrics"][name] for f in folds]))
                for name in names
            }
            result.score = result.metrics[self.scoring.ranking.logged]
        result.fit_seconds = float(sum(f["fit_seconds"] for f in folds))
        result.score_seconds = float(sum(f["score_seconds"] for f in folds))
        return result
