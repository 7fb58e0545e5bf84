"""After the search, on every tuner and saved search: importance and ensembles.

`SearchAnalysis` is the part of `SearchTuner` and of `SavedSearch`
(``keras_hpo.load``) that answers "which hyperparameters mattered"
(`importance`), "which input features does the best model use"
(`feature_importance`) and "combine the best models" (`ensemble`). The work
is done in `keras_hpo.analysis`; this class owns the public names and reads
what its host provides: ``_kept_model(trial_id)``, ``_score_model(model, x,
y)``, ``_score_direction()``, ``_score_name()``, ``_model_task()``,
``_is_sklearn()``, ``_validation_data()`` and ``project_dir``. It writes one
file, ``<project>/ensemble.json`` (the last ensemble's members and scores),
and trains nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from keras_hpo.analysis.ensemble import METHODS
from keras_hpo.analysis.ensemble import build_ensemble
from keras_hpo.analysis.ensemble import greedy_weights
from keras_hpo.analysis.features import permutation_importance
from keras_hpo.analysis.importance import hyperparameter_importance
from keras_hpo.analysis.source import trials_of
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.files import atomic_write_json
from keras_hpo.hypermodels.tabular import model_inputs
from keras_hpo.tuners.checkpoint import BEST_FILE
from keras_hpo.tuners.data_checks import check_one_label_per_row

__all__ = ["ENSEMBLE_FILE", "SearchAnalysis"]

#: The record of the last `SearchAnalysis.ensemble`, in the project folder.
ENSEMBLE_FILE = "ensemble.json"

#: Scores that are a classifier's accuracy (a greedy ensemble then selects by it).
ACCURACY_NAMES = frozenset(
    {
        "accuracy",
        "acc",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
    }
)


class SearchAnalysis:
    """`importance`, `feature_importance` and `ensemble` of a finished search."""

    #: The last `ensemble`'s record (also in ``<project>/ensemble.json``).
    ensemble_record_: dict[str, Any] | None = None

    def importance(self, *, seed: int = 0) -> dict[str, float]:
        """Each hyperparameter's share of the objective's variance (fANOVA).

        A random forest fitted to the finished trials' scores, its variance
        split into each hyperparameter's first-order effect (see
        `keras_hpo.analysis.importance`).

        Args:
            seed: The forest's seed (same seed, same trials: same shares).

        Returns:
            Name -> share, most important first; the shares sum to 1 (all
            0.0 when every finished trial has the same score: there is no
            variance to explain).

        Raises:
            ValueError: With fewer than 2 finished trials.
        """
        return hyperparameter_importance(self, seed=seed)

    def feature_importance(
        self,
        x: Any,
        y: Any,
        *,
        n_repeats: int = 5,
        seed: int = 0,
        feature_names: Sequence[str] | None = None,
    ) -> dict[str, dict[str, float]]:
        """Permutation importance of each input feature for `best_estimator_`.

        scikit-learn's ``permutation_importance``: how much the score (as
        `score` computes it) drops when one column of ``x`` is shuffled.
        Pass held-out data (a test split), not the data it trained on.

        Args:
            x: Held-out inputs: a 2-D array or a DataFrame (its columns, or
                a CSV's header read with pandas, name the features).
            y: Their targets.
            n_repeats: Shuffles per feature.
            seed: Seeds the shuffles.
            feature_names: Names of ``x``'s columns when it is an array
                (default ``x0``, ``x1``...).

        Returns:
            Feature -> ``{"mean", "std"}`` of the score's drop, largest first
            (for a score that is better lower, such as a Keras ``mae``
            metric, its rise: positive always means the feature helps).
        """
        check_one_label_per_row(x, y)  # before refitting or loading a model
        model = self.best_estimator_
        sign = 1.0 if self._score_direction() == "max" else -1.0
        return permutation_importance(
            lambda x_, y_: sign * self._score_model(model, x_, y_),
            x,
            y,
            names=feature_names,
            n_repeats=n_repeats,
            seed=seed,
        )

    def ensemble(
        self,
        k: int = 3,
        method: str = "mean",
        *,
        validation_data: tuple[Any, Any] | None = None,
    ) -> Any:
        """One Keras model combining the ``k`` best trials' saved models.

        ``"mean"`` averages their outputs (probabilities, or regression
        values); ``"vote"`` gives each class's share of their votes;
        ``"greedy"`` is a weighted average whose weights ensemble selection
        (Caruana et al., 2004) chooses on the validation data: it starts
        from the best trial, and the ``k`` best trials are added one at a
        time with replacement while the average's validation score improves
        (accuracy, ties broken by the cross-entropy, when `score` is
        accuracy; otherwise the loss, which for a regression ranks as R^2
        does), so it holds the best trial alone when averaging does not
        help (see `keras_hpo.analysis.ensemble`). The members are the
        trials' best epochs, as saved (``checkpoint="best"`` keeps
        ``keep_top_k`` of them, 3 by default), so it works from disk after a
        resume or on `keras_hpo.load`. The ensemble's score and the best trial's, on the
        same validation data, are kept in `ensemble_record_` and
        ``<project>/ensemble.json``. Save it with ``model.save("x.keras")``;
        ``keras.models.load_model`` reads it back (a ``"vote"`` ensemble
        after ``import keras_hpo.analysis``).

        Args:
            k: How many of the best trials to combine.
            method: ``"mean"``, ``"vote"`` (classifiers only) or
                ``"greedy"`` (needs validation data).
            validation_data: ``(x, y)`` to score it on (and choose the
                weights of ``"greedy"``). Defaults to the data the search
                validated on (this tuner's last `search`, without ``cv=``);
                with none, no score is recorded. Nor is one when nothing
                says how to score (no ``scoring=``, and a hypermodel that
                does not say what it predicts): the record's ``unscored``
                says so.

        Returns:
            The ensemble, a compiled functional Keras model.

        Raises:
            ValueError: For a bad ``k`` or ``method``, or fewer than ``k``
                trials with saved models.
            TypeError: For a search of a scikit-learn estimator.
        """
        if isinstance(k, bool) or not isinstance(k, int):
            raise bad_type("k", k, "an int", "Pass k=3 (the default).")
        if k < 1:
            raise bad_value("k", k, "must be >= 1", "Pass k=3 (the default).")
        if method not in METHODS:
            raise bad_value(
                "method",
                method,
                "is not a way to combine models",
                f"Pass one of {', '.join(map(repr, METHODS))}.",
            )
        if self._is_sklearn():
            raise TypeError(
                "ensemble() combines the trials' Keras models, but this search "
                "tuned a scikit-learn estimator: use "
                "sklearn.ensemble.VotingClassifier/VotingRegressor on estimators "
                "built from cv_results_['params']."
            )
        ranked = trials_of(self).ranked()
        kept = [r for r in ranked if self._has_kept_model(r.trial_id)]
        if len(kept) < k:
            raise bad_value(
                "k",
                k,
                f"is more than the {len(kept)} trials whose models are saved",
                "Ask for fewer, or search with a larger keep_top_k (with "
                "checkpoint='best', the default, it keeps the best trials' "
                "weights; 3 by default; checkpoint='none' keeps none).",
            )
        members = kept[:k]
        task = self._model_task()
        data = self._checked_validation(validation_data)
        models = [self._kept_model(r.trial_id) for r in members]
        names = [f"trial_{r.trial_id}" for r in members]
        weights = None
        if method == "greedy":
            if task is None:
                raise bad_value(
                    "method",
                    method,
                    "needs to know what the models predict (to choose a loss), "
                    "and this search's hypermodel does not say (HyperMLP does)",
                    "Pass method='mean' or 'vote'.",
                )
            if data is None:
                raise bad_value(
                    "validation_data",
                    None,
                    "is needed by method='greedy' (it chooses the weights on "
                    "it), and this search has none",
                    "Pass validation_data=(x_val, y_val).",
                )
            outputs = [m.predict(model_inputs(m, data[0]), verbose=0) for m in models]
            targets = self._target_codes(data[1])
            weights = greedy_weights(outputs, targets, task, by=self._greedy_by(task))
        model = build_ensemble(models, method, task=task, names=names, weights=weights)
        where = "validation_data" if validation_data is not None else None
        self._record_ensemble(
            model,
            members,
            method,
            data,
            weights,
            where or "the search's validation data",
        )
        return model

    def _target_codes(self, y: Any) -> Any:
        """``y`` as the models were trained on it (here: as given).

        A saved CSV search's text labels become their codes (see
        `keras_hpo.tuners.saved.SavedSearch`).
        """
        return y

    def _greedy_by(self, task: str | None) -> str:
        """What a greedy ensemble improves: ``"accuracy"`` if `score` is it."""
        name = self._score_name()
        if task in ("classification", "binary") and (
            name is None or name in ACCURACY_NAMES
        ):
            return "accuracy"
        return "loss"

    def _has_kept_model(self, trial_id: str) -> bool:
        path = os.path.join(self.project_dir, f"trial_{trial_id}", BEST_FILE)
        return os.path.isfile(path)

    def _checked_validation(self, given: Any) -> tuple[Any, Any] | None:
        """``validation_data``, else the search's (``None``: there is none)."""
        data = given if given is not None else self._validation_data()
        if data is not None and (not isinstance(data, (tuple, list)) or len(data) < 2):
            raise bad_value(
                "validation_data",
                data,
                "must be a pair (x, y)",
                "Pass validation_data=(x_val, y_val).",
            )
        return data

    def _record_ensemble(
        self,
        model: Any,
        members: list,
        method: str,
        data: tuple[Any, Any] | None,
        weights: list[float] | None,
        where: str,
    ) -> None:
        """Scores the ensemble and the best trial on ``data`` (said by ``where``).

        Keeps the record in `ensemble_record_` and writes it to `ENSEMBLE_FILE`.
        """
        record: dict[str, Any] = {
            "method": method,
            "members": [r.trial_id for r in members],
            "member_scores": [r.score for r in members],
            "weights": weights,
            "selected_by": self._greedy_by(self._model_task())
            if method == "greedy"
            else None,
            "score": None,
            "best_trial_score": None,
            "scored_on": None,
            "time": time.time(),
        }
        if data is not None:
            x, y = data[0], data[1]
            best = self._kept_model(members[0].trial_id)
            try:
                record["score"] = self._score_model(model, x, y)
                record["best_trial_score"] = self._score_model(best, x, y)
                record["scored_on"] = where
            except TypeError as err:  # no scoring= and no known task: unscored
                record["score"] = record["best_trial_score"] = None
                record["unscored"] = str(err)
        self.ensemble_record_ = record
        atomic_write_json(os.path.join(self.project_dir, ENSEMBLE_FILE), record)
