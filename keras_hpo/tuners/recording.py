"""Recording ended trials, and telling the search callbacks.

`TrialRecorder` is the part of `SearchTuner` behind keras-tuner's event
hooks (``on_search_begin``, ``on_trial_begin``, ``on_trial_end``,
``on_search_end``). When a trial ends it scores the trial's result, settles
its weights (`CheckpointStore`), writes ``result.json`` (`ResultStore`),
ends the trial in the oracle, reconciles the result with what the oracle
decided, and then hands the result to the search callbacks through the
tuner's read-only `SearchView`. It also reads a resumed project's results.
It owns the order of these writes; it must not train.
"""

from __future__ import annotations

from keras_tuner.engine import trial as kt_trial

from keras_hpo import compat
from keras_hpo.distributed.client import LeaseLost
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.tuners.checkpoint import clear_resume_point
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.results import result_from_trial
from keras_hpo.tuners.runner import public_values

__all__ = ["TrialRecorder"]


class TrialRecorder:
    """Event hooks of a tuner with ``result_store``, ``checkpoints``, ``view``."""

    def on_search_begin(self):
        """Tells the search callbacks the search starts."""
        for callback in self.search_callbacks:
            callback.on_search_begin(self.view)

    def on_trial_begin(self, trial: kt_trial.Trial):
        """Tells the search callbacks a trial starts."""
        super().on_trial_begin(trial)
        for callback in self.search_callbacks:
            callback.on_trial_begin(self.view, trial)

    def on_trial_end(self, trial: kt_trial.Trial):
        """Records the trial's result, ends it in the oracle, then reports it.

        The result and the weights are written before the oracle marks the
        trial ended: a process killed in between leaves a trial that the
        oracle still lists as running, and it runs again on resume.
        """
        # Ended: run again (keras-tuner retries an invalid trial), it begins again.
        getattr(self, "begun_trials", set()).discard(trial.trial_id)
        store = self.result_store
        result = store.get(trial.trial_id) or TrialResult(
            trial.trial_id, self.trial_number(trial), {}, TrialStatus.FAILED
        )
        store.put(result)
        result.values = public_values(trial.hyperparameters.values)
        if isinstance(self.hypermodel, SklearnHyperModel):
            result.values = self.hypermodel.decode(result.values, json_safe=True)
        score = self._objective_value(trial, result)
        if score is not None:
            result.score = score
        # A worker drops no other trial's weights: the chief prunes them.
        prunable = [] if compat.is_worker(self) else list(store.trials)
        self.checkpoints.settle(result, store.ranked(), prunable)
        store.save(result)
        try:
            super().on_trial_end(trial)  # oracle.end_trial + save
        except LeaseLost:
            # A worker's trial that another worker runs now (its lease ran
            # out while its files were written): the folder is that worker's,
            # so nothing more is written or deleted there.
            raise
        except BaseException:
            # When the oracle stops the search (too many failures in a row),
            # the trial's result is still written.
            self._record(trial)
            raise
        self._record(trial)

    def _objective_value(
        self, trial: kt_trial.Trial, result: TrialResult
    ) -> float | None:
        """A completed trial's objective, from its result's metrics, or ``None``."""
        objective = self.oracle.objective
        if trial.status != kt_trial.TrialStatus.COMPLETED or not result.metrics:
            return None
        if not objective.has_value(result.metrics):
            return None
        return float(objective.get_value(result.metrics))

    def _record(self, trial: kt_trial.Trial) -> None:
        """Takes the oracle's verdict into the result, then reports it."""
        ended = self.oracle.get_trial(trial.trial_id)
        result = self.result_store.get(trial.trial_id)
        if ended.status == kt_trial.TrialStatus.COMPLETED:
            if result.status == TrialStatus.FAILED:
                result.status = TrialStatus.COMPLETED
            result.score = None if ended.score is None else float(ended.score)
        else:
            result.status = TrialStatus.FAILED
            result.error = result.error or ended.message or "no finite objective"
            result.score = None
            self.checkpoints.drop(trial.trial_id)
        self.result_store.save(result)
        if ended.status != kt_trial.TrialStatus.INVALID:
            clear_resume_point(self.get_trial_dir(trial.trial_id))
        self._best_model_cache = None
        if ended.status == kt_trial.TrialStatus.INVALID:
            return  # sent for a retry: not finished yet
        for callback in self.search_callbacks:
            callback.on_trial_end(self.view, result)

    def on_search_end(self):
        """Tells the search callbacks the search ended."""
        for callback in self.search_callbacks:
            callback.on_search_end(self.view)

    def _load_results(self) -> None:
        """Reads the results of the trials the oracle lists as ended.

        A trial the oracle lists as ended without a ``result.json`` gets one
        made from keras-tuner's ``trial.json`` (see `ResultStore.load`).
        """
        lost = self.result_store.load(getattr(self.oracle, "end_order", None))
        for trial_id in lost:
            self.result_store.save(
                self._result_from_oracle(self.oracle.trials[trial_id])
            )

    def _result_from_oracle(self, trial: kt_trial.Trial) -> TrialResult:
        return result_from_trial(trial, self.trial_number(trial))
