"""A finished search read from its project folder alone: `keras_hpo.load`.

``keras_hpo.load(project_dir)`` needs neither the data nor the hypermodel:
it reads every trial's ``result.json`` (`cv_results_`, `best_params_`,
`best_score_`) and the refit model that ``refit=True`` (the default) saved
whole under ``<project>/refit/`` (a ``.keras`` model, or a pickled
scikit-learn estimator, with ``refit.json`` saying its task and scores), so
`best_estimator_`, `predict`, `predict_proba` and `score` work as on the
tuner that ran the search. ``keras-hpo predict DIR --csv FILE`` uses it.

What needs the hypermodel (a trial's own model, `best_model`, `retrain`)
is on the tuner: make it again on the same ``directory`` and
``project_name`` and it resumes from the same files. This module only
reads; it must not train or write anything.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer

from keras_hpo.errors import NotSearchedError
from keras_hpo.summary import read_project
from keras_hpo.tuners.estimator import estimator_predict
from keras_hpo.tuners.estimator import estimator_predict_proba
from keras_hpo.tuners.estimator import estimator_score
from keras_hpo.tuners.refit import Refit
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import cv_results
from keras_hpo.tuners.results import ranked

__all__ = ["SavedSearch", "load"]


def load(project_dir: str) -> SavedSearch:
    """A finished search, from its project folder alone.

    Args:
        project_dir: ``<directory>/<project_name>`` of the search.

    Returns:
        A `SavedSearch`.

    Raises:
        ValueError: If ``project_dir`` is not a search's project folder (the
            message lists the projects below it, if any), or a file in it is
            damaged.

    Example:
        >>> search = keras_hpo.load("keras_hpo_results/digits_bayesian")
        >>> search.best_params_  # doctest: +SKIP
        >>> search.predict(x_new)  # doctest: +SKIP
    """
    return SavedSearch(project_dir)


class SavedSearch:
    """A search's results and refit model, read from disk.

    Args:
        project_dir: The search's project folder.

    Attributes:
        project_dir: The project folder.
        objective: The objective's name.
        direction: ``"max"`` or ``"min"``.
        stop_reason: Why the last search ended (``None``: killed, or running).
    """

    def __init__(self, project_dir: str):
        summary = read_project(project_dir)
        self.project_dir = project_dir
        self.objective = summary.objective
        self.direction = summary.direction
        self.stop_reason = summary.stop_reason
        self._results = summary.results
        self._refit = Refit(project_dir)

    def results(self) -> list[TrialResult]:
        """Every ended trial's result, in trial order."""
        return list(self._results)

    def _ranked(self) -> list[TrialResult]:
        return ranked(self._results, self.direction)

    def _best(self) -> TrialResult:
        ranked = self._ranked()
        if not ranked:
            raise NotSearchedError(
                f"No trial of {self.project_dir} has completed, so there is no "
                "best trial. Run the search (again) with this project."
            )
        return ranked[0]

    @property
    def best_params_(self) -> dict[str, Any]:
        """Hyperparameter values of the best trial (as the tuner's)."""
        return dict(self._best().values)

    @property
    def best_score_(self) -> float:
        """Objective value of the best trial."""
        return self._best().score

    @property
    def best_trial_id_(self) -> str:
        """keras-tuner ID of the best trial."""
        return self._best().trial_id

    @property
    def cv_results_(self) -> dict[str, list]:
        """The tuner's ``cv_results_`` (see `SearchTuner.cv_results_`).

        Values a scikit-learn grid held as objects (an estimator as a
        pipeline step) are their text labels here.
        """
        scores = None
        saved = self._record(required=False) or {}
        if len(saved.get("scores", [])) > 1:
            scores = [(s["name"], s["logged"], s["direction"]) for s in saved["scores"]]
        return cv_results(self.results(), self._ranked(), self.direction, scores=scores)

    def _record(self, required: bool = True) -> dict[str, Any] | None:
        record = self._refit.saved()
        if record is None and required:
            raise FileNotFoundError(
                f"{os.path.join(self.project_dir, 'refit')} holds no refit model: "
                "the search ran with refit=False, or was killed before it ended. "
                "Run it again with refit=True (the default) to save the best "
                "configuration trained on all the data; for the best trial's own "
                "model, make the tuner again on this project and call best_model()."
            )
        return record

    @property
    def best_estimator_(self) -> Any:
        """The refit model: a Keras model, or a fitted scikit-learn estimator.

        Raises:
            FileNotFoundError: If the search saved no refit model.
            ValueError: If the refit is not of the best trial (the search
                was killed after a better trial ended: run it again), or its
                file is damaged.
        """
        record = self._record()
        best = self._best()
        if record.get("trial_id") != best.trial_id:
            raise ValueError(
                f"The refit model in {self.project_dir} is of trial "
                f"{record.get('trial_id')}, but trial {best.trial_id} is now the "
                "best (the search was stopped before its refit). Run the search "
                "again: it resumes, refits the best trial and saves it."
            )
        return self._refit.load(best.trial_id)

    def predict(self, x: Any) -> np.ndarray:
        """`best_estimator_`'s predictions, as `SearchTuner.predict`."""
        record = self._record()
        return estimator_predict(
            self.best_estimator_, x, record.get("task"), bool(record.get("sklearn"))
        )

    def predict_proba(self, x: Any) -> np.ndarray:
        """`best_estimator_`'s class probabilities, as `SearchTuner.predict_proba`."""
        record = self._record()
        return estimator_predict_proba(
            self.best_estimator_, x, record.get("task"), bool(record.get("sklearn"))
        )

    def score(self, x: Any, y: Any) -> float:
        """`best_estimator_`'s score on ``(x, y)``, as `SearchTuner.score`.

        Raises:
            TypeError: If the ranking score was a scorer callable (it cannot
                be saved by name: call it on `best_estimator_`), or the model
                does not say what it predicts.
        """
        record = self._record()
        ranking = next(
            (s for s in record.get("scores", []) if s["name"] == record.get("ranking")),
            None,
        )
        if ranking is not None and ranking.get("callable"):
            raise TypeError(
                f"The search was ranked by a scorer callable ({ranking['name']}), "
                "which is not saved: call it yourself, "
                "scorer(search.best_estimator_, x, y)."
            )
        scorer = metric = None
        if ranking is not None and ranking.get("scorer"):
            scorer = get_scorer(ranking["scorer"])
        elif ranking is not None and not record.get("sklearn"):
            metric = ranking["logged"].removeprefix("val_")
        return estimator_score(
            self.best_estimator_,
            x,
            y,
            task=record.get("task"),
            num_classes=record.get("num_classes"),
            sklearn=bool(record.get("sklearn")),
            scorer=scorer,
            metric=metric,
        )
