"""Executing trials: one trial's training, wired to keras-tuner's hooks.

`TrialExecution` is the part of `SearchTuner` that trains: `execute_trial`
runs a trial through ``run_trial`` (keras-tuner's contract, which wraps
`TrialRunner.run`) or in its own process (`isolation`, the same runner),
reports the metrics to the oracle and keeps the `TrialOutcome` for
`TrialRecorder`. It owns how one trial is turned into a `TrialPlan` and a
`TrialRunner`; it must not rank, write results or decide which weights are
kept.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import traceback
from typing import Any

import keras
from keras_tuner import errors as kt_errors
from keras_tuner.engine import trial as kt_trial

from keras_hpo import compat
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.stopping.base import Curve
from keras_hpo.tuners.building import ModelBuilder
from keras_hpo.tuners.estimator_runner import EstimatorRunner
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.isolation import run_isolated
from keras_hpo.tuners.outcome import RunTrialMetrics
from keras_hpo.tuners.outcome import TrialOutcome
from keras_hpo.tuners.outcome import outcome_of
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.runner import TrialPlan
from keras_hpo.tuners.runner import TrialRunner
from keras_hpo.tuners.runner import active_values
from keras_hpo.tuners.view import run_name

__all__ = ["TrialExecution", "own_training"]


def own_training(tuner: Any) -> str | None:
    """Why a tuner's trials train in the tuner's own code, or ``None``.

    A subclass that overrides ``run_trial`` trains each trial its own way; one
    that overrides keras-tuner's ``_build_and_fit_model`` hook (as AutoKeras
    does) builds and fits each training its own way. What keras_hpo does
    around a plain fit (the checks before the first trial, fused trials,
    the refit) cannot be repeated for either.
    """
    name = type(tuner).__name__
    if type(tuner).run_trial is not TrialExecution.run_trial:
        return f"{name}.run_trial trains its own way"
    if overrides_build_and_fit(tuner):
        return f"{name}._build_and_fit_model trains its own way"
    return None


def overrides_build_and_fit(tuner: Any) -> bool:
    """Whether ``_build_and_fit_model`` is not keras_hpo's (a subclass's, a wrapper)."""
    hook = getattr(tuner, "_build_and_fit_model", None)
    return getattr(hook, "__func__", None) is not TrialExecution._build_and_fit_model


class TrialExecution:
    """Trial execution of a tuner with ``oracle``, ``hypermodel``, stores."""

    #: In a multi-worker search, the other workers' running curves as the
    #: chief last told (`_share_curve`): (execution, trial ID -> values).
    _running_curves: tuple[int | None, dict[str, list[float]]] = (None, {})

    # -- one trial ---------------------------------------------------------------
    def execute_trial(self, trial: kt_trial.Trial, *fit_args, **fit_kwargs) -> None:
        """Runs one trial, keeps its outcome and reports it to the oracle.

        An exception in build or fit fails the trial (its traceback is kept
        in the result) and the search goes on; ``KeyboardInterrupt`` and
        keras-tuner's fatal errors stop the search.
        """
        start = time.perf_counter()
        try:
            outcome = self._train(trial, fit_args, fit_kwargs)
        except Exception as err:  # noqa: BLE001 - a failed trial must not end the search
            if isinstance(err, kt_errors.FatalError):
                raise
            outcome = err
        result = self.report_trial(trial, outcome)
        result.seconds = time.perf_counter() - start
        self.result_store.put(result)

    def report_trial(
        self, trial: kt_trial.Trial, outcome: TrialOutcome | Exception
    ) -> TrialResult:
        """Reports a trained trial to the oracle; returns its result to keep.

        A `TrialOutcome` is reported with its metrics and its weights are
        held for `CheckpointStore`; an exception (or an error while
        reporting) fails the trial: ``FailedTrialError`` as FAILED (its
        partial outcome kept), any other as INVALID (keras-tuner may retry
        it). Sets ``trial.status``, as ``oracle.end_trial`` reads it.
        """
        if not isinstance(outcome, Exception):
            try:
                self.oracle.update_trial(
                    trial.trial_id, outcome.metrics, step=outcome.result.best_epoch or 0
                )
                trial.status = kt_trial.TrialStatus.COMPLETED
                self.checkpoints.hold(trial.trial_id, outcome.weights)
                return outcome.result
            except Exception as err:  # noqa: BLE001 - fails this trial only
                if isinstance(err, kt_errors.FatalError):
                    raise
                outcome = err
        failed = isinstance(outcome, kt_errors.FailedTrialError)
        trial.status = (
            kt_trial.TrialStatus.FAILED if failed else kt_trial.TrialStatus.INVALID
        )
        trial.message = "".join(traceback.format_exception(outcome))
        partial = outcome_of(outcome)
        result = (
            partial.result
            if partial
            else TrialResult(
                trial.trial_id, self.trial_number(trial), {}, TrialStatus.FAILED
            )
        )
        result.status, result.error = TrialStatus.FAILED, trial.message
        return result

    def _train(self, trial: kt_trial.Trial, fit_args, fit_kwargs) -> TrialOutcome:
        """The trial's outcome: in this process via ``run_trial``, or isolated."""
        if self.isolate_trials:
            return self._run_isolated(trial, fit_args, fit_kwargs)
        with released_gradient_functions():
            metrics = self.run_trial(trial, *fit_args, **fit_kwargs)
        outcome = getattr(metrics, "outcome", None)
        if outcome is None:  # a subclass's own run_trial
            objective = self.oracle.objective
            compat.validate_trial_results(metrics, objective, "Tuner.run_trial()")
            step = compat.get_best_step(metrics, objective)
            metrics = compat.convert_to_metrics_dict(metrics, objective)
            outcome = TrialOutcome(
                TrialResult(
                    trial.trial_id,
                    self.trial_number(trial),
                    {},
                    TrialStatus.COMPLETED,
                    best_epoch=step,
                ),
                metrics,
            )
        outcome.metrics = {k: float(v) for k, v in metrics.items()}
        return outcome

    def run_trial(self, trial: kt_trial.Trial, *fit_args, **fit_kwargs) -> dict:
        """Builds and trains one trial's model(s); returns best-epoch metrics.

        keras-tuner's contract, wrapping `TrialRunner.run` (see `runner` for
        what a training gets): the returned dict of metric name -> value at
        the best epoch also carries the trial's whole `TrialOutcome` as
        ``.outcome``. Override it to train a trial your own way.

        Raises:
            FailedTrialError: If training diverged or the objective was not
                logged.
        """
        build_and_fit = None
        if overrides_build_and_fit(self):
            build_and_fit = functools.partial(self._build_and_fit_model, trial)
        outcome = self._runner(self.build_model, build_and_fit).run(
            self._plan(trial), fit_args, fit_kwargs
        )
        return RunTrialMetrics(outcome, outcome.metrics)

    def _build_and_fit_model(self, trial: kt_trial.Trial, *fit_args, **fit_kwargs):
        """keras-tuner's hook for one training of a trial: build, then fit.

        Override it (as AutoKeras does) to prepare the data or the model of
        each training; ``run_trial`` then calls it for every execution (or
        fold) with ``fit``'s arguments, the training's callbacks in
        ``callbacks``, and reads the trained model from those callbacks
        (keras-tuner's contract: return what ``fit`` returned). Without an
        override the runner builds and fits itself, which is the same.

        Returns:
            What ``hypermodel.fit`` returned (a ``History``, a number or a
            dict of metrics).
        """
        hp = trial.hyperparameters
        return self.hypermodel.fit(hp, self.build_model(hp), *fit_args, **fit_kwargs)

    def _runner(self, build, build_and_fit=None) -> TrialRunner | EstimatorRunner:
        if isinstance(self.hypermodel, SklearnHyperModel):
            return EstimatorRunner(self.hypermodel, self.scoring, self.folds)
        return TrialRunner(
            hypermodel=self.hypermodel,
            build=build,
            build_and_fit=build_and_fit,
            objective=self.oracle.objective,
            executions=self.executions_per_trial,
            early_stopping=self.early_stopping,
            stopper=self.stopper,
            checkpoint=self.checkpoint,
            folds=self.folds,
            scoring=self.scoring,
        )

    def _plan(self, trial: kt_trial.Trial) -> TrialPlan:
        return TrialPlan(
            trial_id=trial.trial_id,
            number=self.trial_number(trial),
            seed=self.trial_seed(trial),
            hyperparameters=trial.hyperparameters,
            directory=self.get_trial_dir(trial.trial_id),
            run_names=[self.run_name(trial, e) for e in range(self.trainings)],
            curves=self.curves,
            observers=functools.partial(self._observers, trial),
            share=(
                functools.partial(self._share_curve, trial.trial_id)
                if hasattr(self.oracle, "share_progress")
                else None
            ),
        )

    def _share_curve(self, trial_id: str, execution: int, values: list) -> None:
        """Gives the chief a running curve; keeps the other workers' (`curves`)."""
        self._running_curves = (
            execution,
            self.oracle.share_progress(trial_id, execution, values),
        )

    def _observers(self, trial: kt_trial.Trial, execution: int) -> list:
        """The Keras callbacks the search callbacks add to one training."""
        return [
            callback
            for observer in self.search_callbacks
            for callback in observer.trial_callbacks(self.view, trial, execution)
        ]

    def _run_isolated(self, trial: kt_trial.Trial, fit_args, fit_kwargs):
        """The same runner and plan, in a new process (``isolate_trials``)."""
        made = [self._observers(trial, e) for e in range(self.trainings)]
        curves = [dict(self.curves(e)) for e in range(self.trainings)]
        plan = dataclasses.replace(
            self._plan(trial),
            curves=curves.__getitem__,
            observers=made.__getitem__,
            share=None,  # one worker's process: it has the curves it was given
        )
        started = len(self.oracle.start_order)
        runner = self._runner(
            functools.partial(self.builder.fresh, trials_started=started)
        )
        outcome = run_isolated(runner, plan, fit_args, fit_kwargs)
        trial.hyperparameters = plan.hyperparameters
        return outcome

    @property
    def builder(self) -> ModelBuilder:
        """Builds this tuner's models (picklable, for isolated trials)."""
        return ModelBuilder(
            self.hypermodel,
            self.max_model_size,
            self.distribution_strategy,
            (self.optimizer, self.loss, self.metrics),
        )

    def build_model(self, hp) -> keras.Model:
        """Builds a fresh model for ``hp`` (clearing Keras' global state first).

        Raises:
            FatalTypeError: If the hypermodel does not return a Keras model.
            FailedTrialError: If the model exceeds ``max_model_size``.
        """
        return self.builder.fresh(hp, len(self.oracle.start_order))

    def trial_number(self, trial: kt_trial.Trial) -> int:
        """The 1-based position of a trial in the search (the chief's)."""
        numbered = getattr(self.oracle, "trial_number", None)
        if numbered is not None and numbered(trial.trial_id):
            return numbered(trial.trial_id)
        order = self.oracle.start_order
        return (
            order.index(trial.trial_id) + 1 if trial.trial_id in order else len(order)
        )

    def trial_seed(self, trial: kt_trial.Trial) -> int:
        """The seed a trial trains with: set by the oracle's seed and its number.

        `run_trial` applies it with ``keras.utils.set_random_seed``, which also
        seeds Python's ``random`` and NumPy's global generator.
        """
        base = int(getattr(self.oracle, "seed", 0) or 0)
        return (base * 1_000_003 + self.trial_number(trial)) % (2**31 - 1)

    def trial_values(self, trial: kt_trial.Trial) -> dict[str, Any]:
        """A trial's active hyperparameter values (inactive ones left out)."""
        return active_values(trial.hyperparameters)

    @property
    def trainings(self) -> int:
        """Models trained per trial: the ``cv=`` folds, or the executions."""
        return len(self.folds) if self.folds is not None else self.executions_per_trial

    def run_name(self, trial: kt_trial.Trial, execution: int) -> str:
        """A training's directory name under a log directory."""
        return run_name(
            trial.trial_id, execution, self.trainings, folds=self.folds is not None
        )

    def curves(self, execution: int = 0) -> dict[str, Curve]:
        """Every ended trial's objective curve, of one execution or fold.

        See `ResultStore.curves`. In a multi-worker search, also the trials
        other workers are running (as the chief last told, see
        `_share_curve`), counted at the epochs they reached.
        """
        curves = self.result_store.curves(self.oracle.objective.name, execution)
        shared, running = self._running_curves
        if shared == execution:
            for trial_id, values in running.items():
                curves.setdefault(trial_id, Curve(values, finished=False))
        return curves
