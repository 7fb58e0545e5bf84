"""A search's results in scikit-learn's terms, on every tuner.

`SklearnResults` is the part of `SearchTuner` that users read after a
search: `best_params_`, `best_score_`, `best_estimator_`, `cv_results_`,
`best_model`, `retrain`. It answers from the tuner's `ResultStore` and
`CheckpointStore`; it owns the public names and nothing else: it must not
run a search or write anything.
"""

from __future__ import annotations

from typing import Any

import keras
from keras_tuner.engine import trial as kt_trial

from keras_hpo.callbacks import EpochRecorder
from keras_hpo.errors import bad_value
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.results import TrialResult

__all__ = ["SklearnResults"]


class SklearnResults:
    """Results API of a tuner with ``result_store``, ``checkpoints``, ``oracle``."""

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
        return dict(self.result_store.require_best().values)

    @property
    def best_score_(self) -> float:
        """Objective value of the best trial, at its best epoch."""
        return self.result_store.require_best().score

    @property
    def best_trial_id_(self) -> str:
        """keras-tuner ID of the best trial."""
        return self.result_store.require_best().trial_id

    @property
    def cv_results_(self) -> dict[str, list]:
        """One row per ended trial, as columns of equal length.

        ``pandas.DataFrame(tuner.cv_results_)`` gives the table. Columns:
        ``trial_id``, ``number``, ``param_<name>`` for every hyperparameter
        (``None`` where inactive), ``params`` (dicts), ``score``,
        ``rank_score`` (1 is best; failed trials rank last), ``status``,
        ``best_epoch``, ``epochs_run``, ``seconds``, ``fit_seconds``,
        ``end_reason``, ``error``.
        """
        return self.result_store.cv_results()

    def best_model(self) -> keras.Model:
        """The best trial's trained model, with its best epoch's weights.

        Loaded from the weights written when the trial ended: nothing is
        retrained.
        """
        best = self.result_store.require_best()
        if self._best_model_cache and self._best_model_cache[0] == best.trial_id:
            return self._best_model_cache[1]
        model = self.load_model(self.oracle.get_trial(best.trial_id))
        self._best_model_cache = (best.trial_id, model)
        return model

    @property
    def best_estimator_(self) -> keras.Model:
        """The best trial's trained model (see `best_model`)."""
        return self.best_model()

    def load_model(self, trial: kt_trial.Trial) -> keras.Model:
        """Rebuilds a trial's model and loads its saved best-epoch weights."""
        hp = trial.hyperparameters.copy()
        return self.checkpoints.load(trial.trial_id, lambda: self.builder.build(hp))

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
            known = ", ".join(sorted(self.result_store.trials)) or "none yet"
            raise bad_value(
                "trial_id",
                trial_id,
                "is not a trial of this search that trained",
                f"Pass one of: {known}.",
            )
        hp = self.oracle.get_trial(result.trial_id).hyperparameters.copy()
        fit_kwargs.setdefault("epochs", max(result.epochs_run, 1))
        fit_kwargs.setdefault("verbose", 0)
        keras.utils.set_random_seed(result.seed)
        model = self.build_model(hp)
        recorder = EpochRecorder()
        callbacks = [*(fit_kwargs.pop("callbacks", None) or []), recorder]
        with released_gradient_functions():
            self.hypermodel.fit(hp, model, *fit_args, callbacks=callbacks, **fit_kwargs)
        return model, recorder.history
