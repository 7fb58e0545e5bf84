"""A search's results in scikit-learn's terms, on every tuner.

`SklearnResults` is the part of `SearchTuner` that users read after a
search: `best_params_`, `best_score_`, `best_estimator_`, `cv_results_`,
`best_model`, `retrain`, and scikit-learn's `predict`, `predict_proba` and
`score` on the best estimator. It answers from the tuner's `ResultStore`,
`CheckpointStore` and `Refit`; it owns the public names and nothing else: it
must not run a search or write anything.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras_tuner.engine import trial as kt_trial

from keras_hpo.callbacks import EpochRecorder
from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.tuners.adaptation import adapt_to
from keras_hpo.tuners.adaptation import adapts
from keras_hpo.tuners.building import prepare_to_fit
from keras_hpo.tuners.data_checks import check_one_label_per_row
from keras_hpo.tuners.estimator import estimator_predict
from keras_hpo.tuners.estimator import estimator_predict_proba
from keras_hpo.tuners.estimator import estimator_score
from keras_hpo.tuners.estimator import require_classifier
from keras_hpo.tuners.folds import explicit_validation
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import n_splits

__all__ = ["SklearnResults"]


class SklearnResults:
    """Results API of a tuner with ``result_store``, ``checkpoints``, ``oracle``.

    It also reads the tuner's ``refit`` flag and its ``refitted`` `Refit`.
    """

    _best_model_cache: tuple[str, keras.Model] | None = None

    def results(self) -> list[TrialResult]:
        """Every ended trial's result, in trial order."""
        return self.result_store.results()

    def best_result(self) -> TrialResult | None:
        """The completed trial with the best score, or ``None``."""
        return self.result_store.best()

    @property
    def best_params_(self) -> dict[str, Any]:
        """Hyperparameter values of the best trial (as scikit-learn's)."""
        return self._restored(self.result_store.require_best().values)

    @property
    def best_score_(self) -> float:
        """Objective value of the best trial, at its best epoch."""
        return self.result_store.require_best().score

    @property
    def best_trial_id_(self) -> str:
        """keras-tuner ID of the best trial."""
        return self.result_store.require_best().trial_id

    @property
    def best_index_(self) -> int:
        """The best trial's row in `cv_results_` (as scikit-learn's)."""
        best = self.result_store.require_best().trial_id
        # cv_results_ has a row per ended trial, in `results` order.
        return [r.trial_id for r in self.result_store.results()].index(best)

    @property
    def n_splits_(self) -> int:
        """The number of ``cv=`` folds, as scikit-learn's (1 without ``cv=``).

        The ``split<k>_test_*`` columns of `cv_results_`, ``k`` from 0.
        """
        return n_splits(self.result_store.results())

    @property
    def refit_time_(self) -> float | None:
        """Seconds the refit on all the data took (``None``: no refit saved)."""
        record = self.refitted.saved()
        return None if record is None else float(record["seconds"])

    @property
    def classes_(self) -> np.ndarray:
        """The class labels `predict` returns (as a scikit-learn classifier's).

        Raises:
            AttributeError: If the best estimator does not classify.
        """
        if self._sklearn:
            return self.best_estimator_.classes_
        task = self._task()
        if task not in ("classification", "binary"):
            raise AttributeError(
                f"classes_ is for classifiers; this search's task is {task!r}."
            )
        return np.arange(2 if task == "binary" else int(self.hypermodel.num_classes))

    @property
    def cv_results_(self) -> dict[str, list]:
        """One row per ended trial, as columns of equal length.

        ``pandas.DataFrame(tuner.cv_results_)`` gives the table, which
        reads like scikit-learn's: its columns (``params``,
        ``param_<name>``, ``split<k>_test_score``, ``mean_test_score``,
        ``std_test_score``, ``rank_test_score``, ``mean_fit_time``...; per
        score with several ``scoring=`` scores) next to ours (``trial_id``,
        ``number``, ``score``, ``rank_score``, ``status``, ``best_epoch``
        (1-based; ``best_epoch_index`` is 0-based),
        ``epochs_run``, ``seconds``, ``fit_seconds``, ``end_reason``,
        ``error``). See `keras_hpo.tuners.results.cv_results`.
        """
        scores = None
        if self.scoring is not None and len(self.scoring.scores) > 1:
            scores = [(s.name, s.logged, s.direction) for s in self.scoring.scores]
        table = self.result_store.cv_results(scores)
        if isinstance(self.hypermodel, SklearnHyperModel):
            table["params"] = [self._restored(p) for p in table["params"]]
            for name in self.hypermodel.labels_of:
                if f"param_{name}" in table:
                    table[f"param_{name}"] = [p.get(name) for p in table["params"]]
        return table

    def _restored(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values from ``result.json`` as the hypermodel takes them."""
        if isinstance(self.hypermodel, SklearnHyperModel):
            return self.hypermodel.restore(values)
        return dict(values)

    def best_model(self) -> keras.Model:
        """The best trial's trained model, with its best epoch's weights.

        Loaded from the weights written when the trial ended: nothing is
        retrained.
        """
        best = self.result_store.require_best()
        self._require_keras("best_model()")
        if self._best_model_cache and self._best_model_cache[0] == best.trial_id:
            return self._best_model_cache[1]
        model = self.load_model(self.oracle.get_trial(best.trial_id))
        self._best_model_cache = (best.trial_id, model)
        return model

    def trial_model(self, trial_id: str) -> keras.Model:
        """A trial's trained model, with its best epoch's weights.

        The same model as `keras_hpo.load`'s ``trial_model``: loaded from the
        files written when the trial ended (the ``keep_top_k`` best trials
        keep theirs with ``checkpoint="best"``), nothing retrained.

        Args:
            trial_id: The trial (see ``cv_results_["trial_id"]``).

        Raises:
            ValueError: If ``trial_id`` is not an ended trial of this search.
            FileNotFoundError: If the trial's weights were not kept.
            TypeError: If the search tunes a scikit-learn estimator.
        """
        self._require_keras("trial_model()")
        result = self.result_store.get(str(trial_id))
        if result is None:
            raise self._unknown_trial(trial_id, "is not an ended trial of this search")
        return self._kept_model(result.trial_id)

    def _unknown_trial(self, trial_id: Any, problem: str) -> ValueError:
        """The error for a ``trial_id`` that names no suitable trial."""
        known = ", ".join(sorted(self.result_store.trials)) or "none yet"
        return bad_value("trial_id", trial_id, problem, f"Pass one of: {known}.")

    def _require_keras(self, call: str) -> None:
        """Refuses ``call``, which loads a Keras model, for an estimator search."""
        if isinstance(self.hypermodel, SklearnHyperModel):
            raise TypeError(
                f"{call} loads a trial's Keras model, but this search tunes "
                f"{type(self.hypermodel.estimator).__name__}, a scikit-learn "
                "estimator: use best_estimator_ (refit on all the data)."
            )

    @property
    def best_estimator_(self) -> keras.Model:
        """The model `predict` uses, as scikit-learn's ``best_estimator_``.

        With ``refit=True`` (the default), the best configuration trained
        again on all the training data at the end of the search (see
        `keras_hpo.tuners.refit`; loaded from ``<project>/refit/`` when the
        tuner was made again). With ``refit=False``, or before a refit of
        the current best trial exists, the best trial's own model
        (`best_model`). For a scikit-learn estimator, the fitted estimator
        (``refit=True`` only, as in scikit-learn).

        Raises:
            AttributeError: For a scikit-learn estimator searched with
                ``refit=False``, or before its refit.
        """
        best = self.result_store.require_best()
        if isinstance(self.hypermodel, SklearnHyperModel):
            estimator = self.refitted.load(best.trial_id)
            if estimator is None:
                raise AttributeError(
                    "best_estimator_ is the scikit-learn estimator refitted on all "
                    "the data after the search, and there is none for the best "
                    f"trial ({best.trial_id}): search with refit=True (the "
                    "default), as GridSearchCV needs refit for best_estimator_."
                )
            return estimator
        if self.refit:
            hp = self.oracle.get_trial(best.trial_id).hyperparameters.copy()
            model = self.refitted.load(best.trial_id, lambda: self.builder.build(hp))
            if model is not None:
                return model
        return self.best_model()

    def predict(self, x: Any) -> np.ndarray:
        """Predictions of `best_estimator_`, as a scikit-learn estimator gives.

        Class labels for a classifying `HyperMLP` (``"classification"``:
        the most probable class; ``"binary"``: 1 where the probability is at
        least 0.5), one value per sample for a single regression target,
        else the model's raw outputs (see `estimator.predictions`); a
        scikit-learn estimator's own ``predict``.
        """
        return estimator_predict(self.best_estimator_, x, self._task(), self._sklearn)

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities of `best_estimator_`, one column per class.

        Raises:
            AttributeError: If the hypermodel does not classify.
        """
        task, sklearn = self._task(), self._sklearn
        if not sklearn:
            require_classifier(task)  # before refitting or loading anything
        return estimator_predict_proba(self.best_estimator_, x, task, sklearn)

    def score(self, x: Any, y: Any) -> float:
        """`best_estimator_`'s score on ``(x, y)``, as scikit-learn's ``score``.

        With ``scoring=``, its ranking score (a scikit-learn scorer, or the
        Keras metric); otherwise accuracy for a classifying `HyperMLP` and
        the coefficient of determination R^2 for a regression
        (``ClassifierMixin.score`` and ``RegressorMixin.score``), or a
        scikit-learn estimator's own ``score``.

        Raises:
            TypeError: If there is no ``scoring=`` and the hypermodel does
                not say what it predicts.
        """
        check_one_label_per_row(x, y)  # before refitting or loading a model
        return self._score_model(self.best_estimator_, x, y)

    def _score_model(self, model: Any, x: Any, y: Any) -> float:
        """`score` of ``model`` (the best estimator, or an ensemble)."""
        ranking = self.scoring.ranking if self.scoring is not None else None
        return estimator_score(
            model,
            x,
            y,
            task=self._task(),
            num_classes=getattr(self.hypermodel, "num_classes", None),
            sklearn=self._sklearn,
            scorer=ranking.scorer if ranking else None,
            metric=ranking.logged.removeprefix("val_") if ranking else None,
        )

    @property
    def _sklearn(self) -> bool:
        return isinstance(self.hypermodel, SklearnHyperModel)

    def _is_sklearn(self) -> bool:
        return self._sklearn

    def _score_name(self) -> str | None:
        """What `score` computes, when ``scoring=`` says (``None``: the default)."""
        ranking = self.scoring.ranking if self.scoring is not None else None
        if ranking is None:
            return None
        if ranking.scorer is not None:
            return ranking.scorer_name or ranking.name
        return ranking.logged.removeprefix("val_")

    def _score_direction(self) -> str:
        """Whether `score` is better higher (``"max"``) or lower."""
        ranking = self.scoring.ranking if self.scoring is not None else None
        if ranking is None or ranking.scorer is not None:
            return "max"
        return ranking.direction

    def _model_task(self) -> str | None:
        return self._task()

    def _kept_model(self, trial_id: str) -> keras.Model:
        """A trial's saved model (its best epoch's weights), loaded afresh."""
        return self.load_model(self.oracle.get_trial(trial_id))

    def _validation_data(self) -> tuple[Any, Any] | None:
        """The data the last `search` validated on (``None``: unknown, ``cv=``)."""
        data = getattr(self, "searched_data", None)
        if data is None or self.folds is not None:
            return None
        fit_args, fit_kwargs = explicit_validation(*data)
        return fit_kwargs.get("validation_data")

    def _task(self) -> str | None:
        """The hypermodel's task (``"classification"``...), if it says."""
        labels = getattr(self.hypermodel, "labels", None)
        return labels[0] if labels is not None else None

    def load_model(self, trial: kt_trial.Trial) -> keras.Model:
        """Rebuilds a trial's model and loads its saved best-epoch weights.

        A data-aware hypermodel's model (`HyperMLP`) is made from the
        architecture saved beside the weights: it holds the statistics the
        model learned from its own training rows (a ``cv=`` fold's, the
        rows before a ``validation_split``; see
        `keras_hpo.tuners.adaptation`), which the hypermodel no longer has.
        """
        hp = trial.hyperparameters.copy()
        return self.checkpoints.load(
            trial.trial_id,
            lambda: self.builder.build(hp),
            as_saved=adapts(self.hypermodel),
        )

    def retrain(
        self, trial_id: str, *fit_args, **fit_kwargs
    ) -> tuple[keras.Model, dict[str, list[float]]]:
        """Trains a trial's model again, exactly as the search did.

        The model is built from the trial's hyperparameters with the trial's
        recorded seed (weights initialisation and shuffling) and trained for
        the epochs the trial ran, with no early stopping or pruning (they
        only decided when it stopped). On the CPU, with the same data, the
        per-epoch metrics are those the trial recorded. A fused trial
        (``result.fused_with``) is retrained alone, as an ordinary model:
        its group trained on its first trial's batches, with the fused
        model's own dropout masks, so the metrics agree to float rounding
        for the first trial of a group without dropout, and otherwise
        within the seed-to-seed noise of batch order and dropout.

        Args:
            trial_id: The trial (see ``cv_results_['trial_id']``).
            *fit_args: The data, as given to `search` (``x, y``).
            **fit_kwargs: As given to `search` (``validation_data``...);
                ``epochs`` defaults to the epochs the trial ran.

        Returns:
            ``(model, history)``: the trained model (last epoch's weights)
            and the metrics per epoch.

        Raises:
            ValueError: If the trial is unknown or never trained.
        """
        result = self.result_store.get(str(trial_id))
        if result is None or result.seed is None:
            raise self._unknown_trial(
                trial_id, "is not a trial of this search that trained"
            )
        hp = self.oracle.get_trial(result.trial_id).hyperparameters.copy()
        fit_kwargs.setdefault("epochs", max(result.epochs_run, 1))
        fit_kwargs.setdefault("verbose", 0)
        adapt_to(self.hypermodel, fit_args, fit_kwargs)  # as the search did
        keras.utils.set_random_seed(result.seed)
        model = self.build_model(hp)
        prepare_to_fit(model, self.hypermodel, fit_args, fit_kwargs)  # as a trial
        recorder = EpochRecorder()
        callbacks = [*(fit_kwargs.pop("callbacks", None) or []), recorder]
        with released_gradient_functions():
            self.hypermodel.fit(hp, model, *fit_args, callbacks=callbacks, **fit_kwargs)
        return model, recorder.history
