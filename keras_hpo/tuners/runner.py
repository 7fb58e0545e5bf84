"""Training one trial: the trial runner, which returns a `TrialOutcome`.

`TrialRunner.run` builds and trains a trial's model(s) and returns what they
produced as a value; a failed training raises keras-tuner's
``FailedTrialError`` carrying the partial outcome (`outcome.trial_failed`).
The same runner trains in the search's process and in a trial's own process
(``isolate_trials``). It owns one trial's training; it
must not talk to the oracle, write results, rank trials or decide which
weights are kept.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import keras
import numpy as np

from keras_hpo import compat
from keras_hpo.callbacks import EpochRecorder
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.tuners.adaptation import adapt_to
from keras_hpo.tuners.building import prepare_to_fit
from keras_hpo.tuners.checkpoint import BEST_FILE
from keras_hpo.tuners.checkpoint import BestWeights
from keras_hpo.tuners.checkpoint import EarlyStoppingReplay
from keras_hpo.tuners.checkpoint import LastEpoch
from keras_hpo.tuners.checkpoint import clear_resume_point
from keras_hpo.tuners.checkpoint import resume_point
from keras_hpo.tuners.control import TrialControl
from keras_hpo.tuners.folds import Folds
from keras_hpo.tuners.outcome import TrialOutcome
from keras_hpo.tuners.outcome import WeightsHandle
from keras_hpo.tuners.outcome import outcome_of
from keras_hpo.tuners.outcome import trial_failed
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.scoring import Scoring
from keras_hpo.tuners.scoring import ValidationScores
from keras_hpo.tuners.trial_callbacks import ObjectiveLogs
from keras_hpo.tuners.trial_callbacks import copy_user_callbacks
from keras_hpo.tuners.trial_callbacks import objective_parts
from keras_hpo.tuners.weights import load_weights
from keras_hpo.tuners.weights import save_weights

__all__ = ["TrialPlan", "TrialRunner", "Training", "active_values", "public_values"]


def public_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Hyperparameter values without keras_hpo's internal sub-grid index."""
    return {k: v for k, v in values.items() if k != SUBGRID}


def active_values(hp: Any) -> dict[str, Any]:
    """A trial's active hyperparameter values (inactive ones left out)."""
    return public_values({k: v for k, v in hp.values.items() if hp.is_active(k)})


def _no_curves(execution: int = 0) -> dict[str, Curve]:
    return {}


def _no_callbacks(execution: int) -> list:
    return []


@dataclass
class TrialPlan:
    """What one trial is given to train.

    Attributes:
        trial_id: keras-tuner's trial ID.
        number: 1-based position of the trial in the search.
        seed: The seed of its first execution (each next one adds 1).
        hyperparameters: keras-tuner ``HyperParameters`` with its values.
        directory: The trial's folder.
        run_names: A run name per execution, for the user's TensorBoard
            callbacks (``trial_<id>``, ``trial_<id>/execution_<n>`` or
            ``trial_<id>/fold_<n>``).
        curves: ``curves(execution)`` returns the other trials' curves of
            that execution (or fold), for the stopper.
        observers: Returns the Keras callbacks the search callbacks add to
            an execution (its 0-based index).
        share: ``share(execution, values)`` gives the trial's running curve
            to the other workers of a multi-worker search before the
            stopper is asked (see `TrialControl`); ``None`` otherwise.
    """

    trial_id: str
    number: int
    seed: int
    hyperparameters: Any
    directory: str
    run_names: list[str]
    curves: Callable[[int], Mapping[str, Curve]] = _no_curves
    observers: Callable[[int], list] = field(default=_no_callbacks)
    share: Callable[[int, list[float]], None] | None = None


@dataclass
class Training:
    """One training of a trial: what the runner reads after ``fit``."""

    model: keras.Model | None
    recorder: EpochRecorder
    control: TrialControl
    early: Any
    seconds: float
    #: What ``hypermodel.fit`` returned (a ``History``; a number or a dict of
    #: metrics is the trial's answer, as keras-tuner reads it).
    returned: Any = None


class TrialRunner:
    """Builds and trains trials; returns each one's `TrialOutcome`.

    Each of ``executions`` trainings builds a new model seeded by the plan
    (``keras.utils.set_random_seed``, which also seeds Python's ``random``
    and NumPy's global generator), with a deep copy of the user's Keras
    callbacks and of the early stopping, plus an `EpochRecorder`, a
    `BestWeights` (the best epoch's weights, in memory), a `TrialControl`
    (divergence and the stopper) and the observers' callbacks. The best
    epoch's metrics are averaged over the executions.

    With ``folds`` (``cv=``), execution k is fold k: it trains on the fold's
    training rows and validates on its test rows (a data-aware hypermodel
    adapts to the training rows before the fold's model is built, and to
    all the rows after the trial: `keras_hpo.tuners.adaptation`), with its
    own early stopping; the stopper compares it with the same fold of the other
    trials. A fold that is pruned ends the trial (the folds after it do not
    run; its score is the mean over the folds that ran).

    Args:
        hypermodel: Its ``fit(hp, model, *args, **kwargs)`` trains.
        build: ``build(hp) -> keras.Model``, a fresh model.
        build_and_fit: A tuner's overridden ``_build_and_fit_model`` with
            the trial bound, or ``None``: called as
            ``build_and_fit(*fit_args, callbacks=..., **fit_kwargs)`` for
            each training instead of ``build`` and ``hypermodel.fit``; the
            model is the one its ``fit`` gave the callbacks (none if it did
            not train with them: its answer is then what it returned). An
            interrupted training (``checkpoint="every_epoch"``) starts over.
        objective: The keras-tuner ``Objective``.
        executions: Trainings per trial.
        early_stopping: A ``keras.callbacks.EarlyStopping`` (copied for each
            training) or ``None``.
        stopper: A `Stopper` or ``None``.
        checkpoint: ``"best"``, ``"every_epoch"`` or ``"none"``.
        folds: The cross-validation `Folds` (``executions`` is then their
            number), or ``None``.
        scoring: The ``scoring=`` `Scoring`: its scikit-learn scorers are
            computed on each training's validation data after every epoch
            (`ValidationScores`, ahead of the other callbacks), or ``None``.
    """

    def __init__(
        self,
        *,
        hypermodel: Any,
        build: Callable[[Any], keras.Model],
        build_and_fit: Callable[..., Any] | None = None,
        objective: Any,
        executions: int = 1,
        early_stopping: keras.callbacks.EarlyStopping | None = None,
        stopper: Stopper | None = None,
        checkpoint: str = "best",
        folds: Folds | None = None,
        scoring: Scoring | None = None,
    ):
        self.hypermodel = hypermodel
        self.build = build
        self.build_and_fit = build_and_fit
        self.objective = objective
        self.folds = folds
        self.scoring = scoring
        self.executions = len(folds) if folds is not None else executions
        self.early_stopping = early_stopping
        self.stopper = stopper
        self.checkpoint = checkpoint

    def run(self, plan: TrialPlan, fit_args: tuple, fit_kwargs: dict) -> TrialOutcome:
        """Trains the plan's trial.

        Returns:
            Its outcome: a result with status completed, stopped early or
            pruned, the best epoch's metrics and its weights handle.

        Raises:
            FailedTrialError: If training diverged (the outcome holds the curves
                so far) or the objective was not logged with a finite value.
        """
        fit_kwargs = dict(fit_kwargs)
        user_callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        best = BestWeights(self.objective)
        resume = None
        once = self.executions == 1 and self.build_and_fit is None
        if self.checkpoint == "every_epoch" and once:
            resume = resume_point(plan.directory)
        runs: list[Training] = []
        try:
            for execution in range(self.executions):
                args, kwargs = fit_args, fit_kwargs
                if self.folds is not None:
                    args, kwargs = self.folds.fit_arguments(
                        execution, fit_args, fit_kwargs
                    )
                    # Statistics from the fold's training rows only.
                    adapt_to(self.hypermodel, args, kwargs)
                runs.append(
                    self._train(
                        plan, execution, best, resume, user_callbacks, args, kwargs
                    )
                )
                if runs[-1].control.diverged or runs[-1].control.pruned_at is not None:
                    break  # the executions (folds) after it do not run
        finally:
            if self.folds is not None:  # back to the search's (all the rows)
                adapt_to(self.hypermodel, fit_args, fit_kwargs)
        if self.checkpoint == "every_epoch" and once:
            # Its training ended: a kill before the trial is recorded reruns
            # it, rather than training an ended training on.
            clear_resume_point(plan.directory)
        return self.conclude(plan, runs, best)

    def conclude(
        self, plan: TrialPlan, runs: Sequence[Training], best: BestWeights
    ) -> TrialOutcome:
        """A trial's outcome from its trainings (executions, or folds), in order.

        The best epoch's metrics are averaged over the trainings; with
        ``folds``, each fold's record is kept (`TrialResult.folds`). The
        status is the last training's ending (pruned, stopped early) that
        has one; a pruned training makes the trial pruned.

        Args:
            plan: The trial's plan.
            runs: Its trainings; ``seconds`` and the recorders' validation
                times add up to the trial's.
            best: The best epoch's weights over all of them.

        Raises:
            FailedTrialError: If a training diverged (with the curves so
                far) or the objective was not logged with a finite value.
        """
        per_execution, folds = [], []
        fit_seconds = score_seconds = 0.0
        status, reason = TrialStatus.COMPLETED, None
        pruned = None
        for run in runs:
            fit_seconds += run.seconds
            score_seconds += run.recorder.validation_seconds
            per_execution.append(self.training_metrics(run))
            if self.folds is not None:
                folds.append(self.fold_record(per_execution[-1], run))
            if run.control.diverged:
                partial = self.diverged(plan, run, fit_seconds)
                partial.result.score_seconds = score_seconds
                raise trial_failed(run.control.diverged, partial)
            ending = self.ending(run)
            if ending is not None and ending[0] == TrialStatus.PRUNED:
                pruned = pruned or ending
            status, reason = ending or (status, reason)
        status, reason = pruned or (status, reason)
        outcome = self.outcome(
            plan, per_execution, runs[-1], best, fit_seconds, status, reason
        )
        outcome.result.score_seconds = score_seconds
        if self.folds is not None:
            outcome.result.folds = folds
        return outcome

    def fold_record(
        self, best_epoch: tuple[int, dict], run: Training
    ) -> dict[str, Any]:
        """What `TrialResult.folds` keeps of one fold's training."""
        epoch, metrics = best_epoch
        score = metrics.get(self.objective.name)
        return {
            "score": None if score is None else float(score),
            "best_epoch": epoch,
            "epochs_run": run.recorder.epochs_run,
            "fit_seconds": run.seconds,
            "score_seconds": run.recorder.validation_seconds,
            "metrics": {k: float(v) for k, v in metrics.items()},
            "history": run.recorder.history,
        }

    def _train(
        self, plan, execution, best, resume, user_callbacks, fit_args, fit_kwargs
    ) -> Training:
        """One execution: seed, build, resume if asked, fit with its callbacks."""
        keras.utils.set_random_seed(plan.seed + execution)
        model = None if self.build_and_fit else self.build(plan.hyperparameters)
        recorder = EpochRecorder()
        kwargs = fit_kwargs
        if resume is not None:  # interrupted: go on from its last epoch
            load_weights(model, resume["weights"], optimizer=True)
            recorder.start_from(resume["history"], resume["epoch_seconds"])
            best.start_from(resume["history"])
            if best.best_epoch == resume["epochs"] - 1:
                # A kill between `last.json` and the best epoch's file left
                # that file an older epoch's: these are the best's weights.
                save_weights(model, os.path.join(plan.directory, BEST_FILE))
            kwargs = dict(fit_kwargs, initial_epoch=resume["epochs"])
        callbacks, control, early = self.callbacks(
            plan, execution, recorder, best, user_callbacks
        )
        if resume is not None:  # its stopper and early stopping go on too
            control.start_from(resume["history"])
            if early is not None:
                replay = EarlyStoppingReplay(early, resume["history"])
                callbacks.insert(callbacks.index(early) + 1, replay)
        if self.scoring is not None and self.scoring.scorers:
            callbacks.insert(0, self._validation_scores(kwargs))
        if self.checkpoint == "every_epoch":
            callbacks.append(LastEpoch(plan.directory, recorder, best))
        start = time.perf_counter()
        try:
            if self.build_and_fit is not None:
                returned = self.build_and_fit(*fit_args, callbacks=callbacks, **kwargs)
                model = recorder.model  # what fit trained, if it had our callbacks
            else:
                prepare_to_fit(model, self.hypermodel, fit_args, kwargs)  # fit's time
                returned = self.hypermodel.fit(
                    plan.hyperparameters,
                    model,
                    *fit_args,
                    callbacks=callbacks,
                    **kwargs,
                )
        except Exception as err:
            # The epochs it ran before it raised stay in its record.
            if outcome_of(err) is None and recorder.epochs_run:
                seconds = time.perf_counter() - start
                with contextlib.suppress(AttributeError):  # an exception without a dict
                    err.outcome = self._partial(plan, recorder, seconds, None)
            raise
        seconds = time.perf_counter() - start
        return Training(model, recorder, control, early, seconds, returned)

    def _validation_scores(self, fit_kwargs: dict) -> ValidationScores:
        """The scikit-learn scorers' callback, on this training's validation data."""
        validation = fit_kwargs.get("validation_data")
        if validation is None:
            raise trial_failed(
                "scoring= with scikit-learn scorers needs validation data: pass "
                "validation_data=, validation_split= or cv= to search()."
            )
        labels = getattr(self.hypermodel, "labels", None)
        return ValidationScores(
            self.scoring.scorers,
            validation,
            labels[0] if labels is not None else None,
            labels[1] if labels is not None else None,
        )

    def callbacks(self, plan, execution, recorder, best, user_callbacks):
        """One training's Keras callbacks, with its control and early stopping.

        In order: with a list of objectives, `ObjectiveLogs`; copies of the
        user's callbacks, a copy of the early stopping, the recorder, the
        best weights, a new `TrialControl`, then the observers' callbacks.

        Returns:
            ``(callbacks, control, early)``.
        """
        control = TrialControl(
            plan.trial_id,
            self.objective,
            self.stopper,
            functools.partial(plan.curves, execution),
            None if plan.share is None else functools.partial(plan.share, execution),
        )
        callbacks = copy_user_callbacks(user_callbacks, plan.run_names[execution])
        if len(objective_parts(self.objective)) > 1:  # a list of objectives
            callbacks.insert(0, ObjectiveLogs(self.objective))
        early = copy_user_callbacks([self.early_stopping], "")[0]
        callbacks += [c for c in (early,) if c is not None]
        callbacks += [recorder, best, control]
        callbacks += plan.observers(execution)
        return callbacks, control, early

    def ending(self, run: Training) -> tuple[TrialStatus, str] | None:
        """Why a training ended before its last epoch (pruned, stopped early)."""
        if run.control.pruned_at is not None:
            pruned = f"pruned by {self.stopper!r} after {run.control.pruned_at} epochs"
            return TrialStatus.PRUNED, pruned
        early = run.early
        if early is not None and early.stopped_epoch > 0:
            return TrialStatus.STOPPED_EARLY, (
                f"no improvement of {early.monitor} for {early.patience} "
                f"epochs; stopped after epoch {early.stopped_epoch + 1}"
            )
        # Stopped by another callback (one's own EarlyStopping...).
        done, planned = run.recorder.epochs_run, run.recorder.planned_epochs
        if planned is not None and 0 < done < planned:
            return TrialStatus.STOPPED_EARLY, (
                f"stopped by a callback after epoch {done} of {planned}"
            )
        return None

    def diverged(self, plan: TrialPlan, run: Training, fit_seconds: float):
        """The outcome of a training that diverged: a failed result, its curves."""
        return self._partial(plan, run.recorder, fit_seconds, run.control.diverged)

    def _partial(
        self,
        plan: TrialPlan,
        recorder: EpochRecorder,
        fit_seconds: float,
        reason: str | None,
    ) -> TrialOutcome:
        """A failed training's outcome: its epochs and curves until it failed."""
        result = TrialResult(
            plan.trial_id,
            plan.number,
            public_values(plan.hyperparameters.values),
            TrialStatus.FAILED,
            epochs_run=recorder.epochs_run,
            fit_seconds=fit_seconds,
            seed=plan.seed,
            history=recorder.history,
            end_reason=reason,
        )
        return TrialOutcome(result, {})

    def outcome(self, plan, per_execution, last, best, fit_seconds, status, reason):
        """The outcome of a training that ended without failing."""
        metrics = {
            name: float(np.mean([m[1][name] for m in per_execution if name in m[1]]))
            for name in per_execution[-1][1]
        }
        history = last.recorder.history
        name = self.objective.name
        if name not in metrics or not math.isfinite(metrics[name]):
            raise trial_failed(
                f"The objective {name!r} was not logged with a finite "
                f"value. Logged metrics: {sorted(history)}. Check the "
                "objective's name and that validation data is given."
            )
        weights = None
        if self.checkpoint != "none":
            # The model the best weights came from (an earlier fold's, maybe).
            source = best.source if best.weights is not None else None
            weights = WeightsHandle(model=source or last.model, weights=best.weights)
        result = TrialResult(
            trial_id=plan.trial_id,
            number=plan.number,
            values=public_values(plan.hyperparameters.values),
            status=status,
            metrics=metrics,
            best_epoch=_mean_epoch([epoch for epoch, _ in per_execution]),
            epochs_run=len(next(iter(history.values()), [])),
            fit_seconds=fit_seconds,
            seed=plan.seed,
            history=history,
            end_reason=reason,
        )
        return TrialOutcome(result, metrics, weights)

    def training_metrics(self, run: Training) -> tuple[int, dict]:
        """A training's best epoch and its metrics.

        As in keras-tuner, a number or a dict of metrics that
        ``hypermodel.fit`` returned is the training's answer (a number is the
        objective's value; the epoch is the last one recorded, or 0); else
        (a ``History``, ``None``) the best epoch of what the callbacks
        recorded.

        Raises:
            TypeError: If ``fit`` returned something keras-tuner refuses too
                (a string...), with keras-tuner's message.
        """
        returned = run.returned
        if returned is None or isinstance(returned, keras.callbacks.History):
            return self.best_epoch_metrics(run.recorder.history)
        compat.validate_trial_results(returned, self.objective, "HyperModel.fit()")
        metrics = compat.convert_to_metrics_dict(returned, self.objective)
        epochs = len(next(iter(run.recorder.history.values()), []))
        return max(epochs - 1, 0), {k: float(v) for k, v in metrics.items()}

    def best_epoch_metrics(self, history: dict[str, list[float]]):
        """The best epoch's index and its metrics (``(0, {})``: not logged)."""
        values = history.get(self.objective.name)
        if not values:
            return 0, {}
        direction = 1.0 if self.objective.direction == "min" else -1.0
        finite = [(direction * v, i) for i, v in enumerate(values) if math.isfinite(v)]
        epoch = min(finite)[1] if finite else len(values) - 1
        return epoch, {name: column[epoch] for name, column in history.items()}


def _mean_epoch(epochs: list[int]) -> int:
    """The trainings' best epochs (0-based) as one: their 1-based mean, rounded.

    One training: its own. Several (folds, executions): the epoch a refit
    trains for (`keras_hpo.tuners.refit.refit_epochs`), which the results
    then show rather than the last training's.
    """
    if len(epochs) == 1:
        return epochs[0]
    return max(1, round(float(np.mean([epoch + 1 for epoch in epochs])))) - 1
