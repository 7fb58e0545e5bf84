"""A finished search read from its project folder alone: `keras_hpo.load`.

``keras_hpo.load(project_dir)`` needs neither the data nor the hypermodel:
it reads every trial's ``result.json`` (`cv_results_`, `best_params_`,
`best_score_`), the refit model that ``refit=True`` (the default) saved
whole under ``<project>/refit/`` (a ``.keras`` model, or a pickled
scikit-learn estimator, with ``refit.json`` saying its task and scores),
and the kept trials' models (``trial_<id>/checkpoint.weights.h5`` with the
architecture beside it, ``checkpoint.model.json``). So `best_model`,
`get_best_models`, `best_estimator_`, `predict`, `predict_proba` and
`score` work as on the tuner that ran the search (``search.json`` says the
task and scores when there is no refit). ``keras-hpo predict DIR --csv
FILE`` uses it.

What needs the hypermodel and the data (`retrain`, another search) is on
the tuner: make it again on the same ``directory`` and ``project_name``
and it resumes from the same files. `importance`, `feature_importance` and
`ensemble` work here too (`keras_hpo.tuners.analysis_api`). This module
only reads (an ensemble's record, ``ensemble.json``, is the one file
written); it must not train anything.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer

from keras_hpo.errors import NotSearchedError
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json
from keras_hpo.summary import read_project
from keras_hpo.tuners.analysis_api import SearchAnalysis
from keras_hpo.tuners.checkpoint import BEST_FILE
from keras_hpo.tuners.data_checks import check_one_label_per_row
from keras_hpo.tuners.estimator import estimator_predict
from keras_hpo.tuners.estimator import estimator_predict_proba
from keras_hpo.tuners.estimator import estimator_score
from keras_hpo.tuners.refit import Refit
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import cv_results
from keras_hpo.tuners.results import n_splits
from keras_hpo.tuners.results import ranked
from keras_hpo.tuners.weights import load_saved_model

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


class SavedSearch(SearchAnalysis):
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
        self._model = summary.model
        self._refit = Refit(project_dir)
        self._labels = self._classes()

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
    def n_splits_(self) -> int:
        """The number of ``cv=`` folds (1 without ``cv=``), as the tuner's."""
        return n_splits(self._results)

    @property
    def cv_results_(self) -> dict[str, list]:
        """The tuner's ``cv_results_`` (see `SearchTuner.cv_results_`).

        Values a scikit-learn grid held as objects (an estimator as a
        pipeline step) are their text labels here.
        """
        scores = None
        saved = self._described()
        if len(saved.get("scores", [])) > 1:
            scores = [(s["name"], s["logged"], s["direction"]) for s in saved["scores"]]
        return cv_results(self.results(), self._ranked(), self.direction, scores=scores)

    def _record(self) -> dict[str, Any] | None:
        """The refit's ``refit.json`` (``None``: no refit saved or in use).

        A search last run with ``refit=False`` uses none, as its tuner does,
        although an earlier one with ``refit=True`` left one.
        """
        if self._model.get("refit") is False:
            return None
        return self._refit.saved()

    def _described(self) -> dict[str, Any]:
        """What the models predict: the refit's record, else ``search.json``'s."""
        return self._record() or self._model

    def trial_model(self, trial_id: str) -> Any:
        """A trial's trained Keras model, from its saved files alone.

        Its best epoch's weights (kept for the ``keep_top_k`` best trials
        with ``checkpoint="best"``, the default) in the architecture saved
        beside them: the model `SearchTuner.load_model` gives, without the
        hypermodel. A model with layers of your own needs the code that
        registers them imported first.

        Raises:
            ValueError: If ``trial_id`` is not a trial of this search, or
                the files cannot be read.
            FileNotFoundError: If the trial's model was not kept (or the
                project was written before architectures were saved).
        """
        known = [r.trial_id for r in self._results]
        if str(trial_id) not in known:
            raise ValueError(
                f"trial_id={trial_id!r} is not an ended trial of "
                f"{self.project_dir}. Pass one of: {', '.join(known) or 'none yet'}."
            )
        path = os.path.join(self.project_dir, f"trial_{trial_id}", BEST_FILE)
        return load_saved_model(
            path,
            fix=f"Trial {trial_id}'s model was not kept: checkpoint='best' keeps "
            "the keep_top_k best trials' (see best_trials_on_disk()), "
            "checkpoint='none' none; a project written before keras_hpo saved "
            "architectures needs its tuner (make it again on this project and "
            "call load_model).",
        )

    def best_trials_on_disk(self) -> list[str]:
        """IDs of the trials whose models are saved, best first."""
        return [r.trial_id for r in self._ranked() if self._has_kept_model(r.trial_id)]

    def best_model(self) -> Any:
        """The best trial's trained Keras model (best epoch's weights).

        Not retrained: for the best configuration trained on all the data,
        use `best_estimator_` (``refit=True``).

        Raises:
            TypeError: If the search tuned a scikit-learn estimator.
            FileNotFoundError: If the best trial's model was not saved.
        """
        if self._described().get("sklearn"):
            raise TypeError(
                "best_model() loads a trial's Keras model, but this search tuned a "
                "scikit-learn estimator: use best_estimator_ (refit on all the data)."
            )
        return self.trial_model(self._best().trial_id)

    def get_best_models(self, num_models: int = 1) -> list[Any]:
        """The best ``num_models`` trials' models, best first (as keras-tuner's).

        Raises:
            FileNotFoundError: If one of them was not saved (ask for fewer:
                `best_trials_on_disk` lists those that were).
        """
        if isinstance(num_models, bool) or not isinstance(num_models, int):
            raise TypeError(f"num_models must be an int; got {num_models!r}.")
        if num_models < 1:
            raise ValueError(f"num_models must be >= 1; got {num_models}.")
        self._best()  # a clear error when no trial has a score
        return [self.trial_model(r.trial_id) for r in self._ranked()[:num_models]]

    @property
    def best_estimator_(self) -> Any:
        """The refit model: a Keras model, or a fitted scikit-learn estimator.

        As on the tuner: with no refit saved (``refit=False``) a Keras
        search's `best_estimator_` is the best trial's model (`best_model`).

        Raises:
            AttributeError: If a scikit-learn estimator's search saved no
                refit (scikit-learn needs ``refit=True`` for it too).
            FileNotFoundError: If a Keras search saved neither a refit nor
                the best trial's model.
            ValueError: If the refit is not of the best trial (the search
                was killed after a better trial ended: run it again), or its
                file is damaged.
        """
        record = self._record()
        if record is None:
            if self._model.get("sklearn"):
                raise AttributeError(
                    f"{self.project_dir} holds no refit estimator: best_estimator_ "
                    "of a scikit-learn search is the estimator refit on all the "
                    "data; search with refit=True (the default)."
                )
            try:
                return self.best_model()
            except FileNotFoundError as err:
                raise FileNotFoundError(
                    f"{self.project_dir} holds neither a refit model nor the best "
                    "trial's model. Search with refit=True (the default), or "
                    "checkpoint='best' (the default)."
                ) from err
        best = self._best()
        if record.get("trial_id") != best.trial_id:
            raise ValueError(
                f"The refit model in {self.project_dir} is of trial "
                f"{record.get('trial_id')}, but trial {best.trial_id} is now the "
                "best (the search was stopped before its refit). Run the search "
                "again: it resumes, refits the best trial and saves it."
            )
        return self._refit.load(best.trial_id)

    def _classes(self) -> list[Any] | None:
        """The class labels that ``keras-hpo tune`` encoded as 0, 1, ...

        A CSV's text labels are trained as their index in this list (saved in
        ``summary.json``); predictions and `score` speak the labels.
        """
        path = os.path.join(self.project_dir, "summary.json")
        if not os.path.isfile(path):
            return None
        about = read_json(path)
        if not isinstance(about, dict):
            raise foreign_file(path, "a keras-hpo tune summary")
        classes = about.get("classes")
        if not isinstance(classes, list) or not classes:
            return None
        # A label that reads as a number ("3", "0.5") comes out as that
        # number; one whose text the number would change ("07", "1.0",
        # "NaN") stays as written in the file, and so do all of them when
        # two have one value ("1" and "1.0").
        numbers = [n for n in map(_number, classes) if n is not None]
        if len(set(numbers)) < len(numbers):
            return [str(c) for c in classes]
        return [_as_written(c) for c in classes]

    def _target_codes(self, y: Any) -> Any:
        """``y``'s labels as codes, for a ``keras-hpo tune`` CSV's classes."""
        return y if self._labels is None else self._codes(y, self._labels)

    def _codes(self, y: Any, classes: list[Any]) -> np.ndarray:
        """``y``'s labels as the codes the model was trained on.

        A label is found as written, or by its text, or (when one label
        alone has that value) by its number: pandas reads "07" as 7.
        """
        index: dict[Any, int] = {}
        for code, label in enumerate(classes):
            index[label] = index[str(label)] = code
        by_number: dict[float, list[int]] = {}
        for code, label in enumerate(classes):
            number = _number(label)
            if number is not None:
                by_number.setdefault(number, []).append(code)
        for number, codes in by_number.items():
            if len(codes) == 1:
                index.setdefault(number, codes[0])
        labels = [_label_key(v, index) for v in np.asarray(y).ravel().tolist()]
        unknown = sorted({str(v) for v in labels if v not in index})
        if unknown:
            raise ValueError(
                f"`y` holds labels the search never saw: {', '.join(unknown[:5])}. "
                f"It was tuned on {', '.join(map(str, classes))}; score data with "
                "those labels."
            )
        return np.array([index[v] for v in labels])

    def predict(self, x: Any) -> np.ndarray:
        """`best_estimator_`'s predictions, as `SearchTuner.predict`.

        Classes of a ``keras-hpo tune`` CSV come out as the file's labels.
        """
        record = self._described()
        predicted = estimator_predict(
            self.best_estimator_, x, record.get("task"), bool(record.get("sklearn"))
        )
        if self._labels is not None and np.ndim(predicted) == 1:
            kinds = {type(label) for label in self._labels}
            labels = np.asarray(self._labels, dtype=None if len(kinds) == 1 else object)
            return labels[np.asarray(predicted, dtype=int)]
        return predicted

    def predict_proba(self, x: Any) -> np.ndarray:
        """`best_estimator_`'s class probabilities, as `SearchTuner.predict_proba`."""
        record = self._described()
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
        check_one_label_per_row(x, y)  # before refitting or loading a model
        return self._score_model(self.best_estimator_, x, y)

    def _ranking(self) -> dict[str, Any] | None:
        record = self._described()
        return next(
            (s for s in record.get("scores", []) if s["name"] == record.get("ranking")),
            None,
        )

    def _score_model(self, model: Any, x: Any, y: Any) -> float:
        """`score` of ``model`` (the best estimator, or an ensemble)."""
        record = self._described()
        if self._labels is not None:
            y = self._codes(y, self._labels)
        ranking = self._ranking()
        if ranking is not None and ranking.get("callable"):
            way = "scorer(search.best_estimator_, x, y)"
            if not record.get("sklearn"):  # a Keras model is no scikit-learn estimator
                way = (
                    "compute its metric from the predictions, e.g. "
                    "metric(y, search.predict(x)) or metric(y, search.predict_proba(x))"
                )
            raise TypeError(
                f"The search was ranked by a scorer callable ({ranking['name']}), "
                f"which is not saved: call it yourself, {way}."
            )
        scorer = metric = None
        if ranking is not None and ranking.get("scorer"):
            scorer = get_scorer(ranking["scorer"])
        elif ranking is not None and not record.get("sklearn"):
            metric = ranking["logged"].removeprefix("val_")
        return estimator_score(
            model,
            x,
            y,
            task=record.get("task"),
            num_classes=record.get("num_classes"),
            sklearn=bool(record.get("sklearn")),
            scorer=scorer,
            metric=metric,
        )

    def _score_name(self) -> str | None:
        """What `score` computes, when the search said (``None``: the default)."""
        ranking = self._ranking()
        if ranking is None:
            return None
        if ranking.get("scorer"):
            return ranking["scorer"]
        if ranking.get("callable") or self._described().get("sklearn"):
            return ranking["name"]
        return ranking["logged"].removeprefix("val_")

    def _score_direction(self) -> str:
        """Whether `score` is better higher (``"max"``) or lower."""
        ranking = self._ranking()
        if ranking is None or ranking.get("scorer") or self._described().get("sklearn"):
            return "max"
        return ranking.get("direction", "max")

    def _is_sklearn(self) -> bool:
        return bool(self._described().get("sklearn"))

    def _model_task(self) -> str | None:
        return self._described().get("task")

    def _kept_model(self, trial_id: str) -> Any:
        return self.trial_model(trial_id)

    def _validation_data(self) -> None:
        """A saved search keeps no data: pass ``validation_data=``."""
        return None


def _number(value: Any) -> float | None:
    """``value`` as a float, if it is a number or a number's text."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _as_written(label: Any) -> Any:
    """A class label of a CSV: its number if that prints as the label."""
    number = _number(label)
    if number is None:
        return label
    if number.is_integer() and str(int(number)) == str(label):
        return int(number)
    return number if str(number) == str(label) else label


def _label_key(value: Any, index: dict[Any, int]) -> Any:
    """How ``value`` is found in a label index (as is, as text, as number)."""
    try:
        if value in index:
            return value
    except TypeError:  # unhashable
        pass
    number = _number(value)
    return number if number is not None and number in index else str(value)
