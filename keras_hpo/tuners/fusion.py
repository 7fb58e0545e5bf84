"""Fused trials in a search: ``fuse=``, grouping, fallback and reporting.

`TrialFusion` is the part of `SearchTuner` that runs a step's trials as
fused groups when ``fuse`` allows it: it checks once per search that the
search can fuse (`fusion_refusal`, printing one line when it cannot), asks
`keras_hpo.fused.plan_groups` which trials train together, trains each
group with a `GroupRunner` (with ``cv=``, every fold of every trial of the
group as one model; a trial alone in its group still fuses its folds) and
reports every trial to the oracle as `TrialExecution.execute_trial` does
for one. Between groups it asks the
search's limits (``max_time``...) whether to go on; trials it does not
start are *held* and handed out first by the next `create_trials` (or run
again on resume, like a killed trial's). Each group's trials are ended
(``on_trial_end``: results, weights, the oracle) as soon as the group ends,
best first, so a kill during a later group of the same step loses none of
them. It owns those decisions; the training itself is `group_runner`'s.
"""

from __future__ import annotations

import gc
import math
import time
from typing import Any

import keras
from keras_tuner import errors as kt_errors
from keras_tuner.engine import trial as kt_trial

from keras_hpo.errors import bad_value
from keras_hpo.fused.planning import plan_groups
from keras_hpo.fused.spec import NotFusable
from keras_hpo.protocols import FusableHyperModel
from keras_hpo.protocols import is_plain_fit
from keras_hpo.tuners.building import GC_EVERY
from keras_hpo.tuners.building import clear_session
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.group_runner import GroupRunner

__all__ = ["AUTO_SIZE", "DRAW_AHEAD", "TrialFusion", "check_fuse"]

#: The largest group ``fuse="auto"`` forms.
AUTO_SIZE = 32
#: Non-adaptive strategies (grid, random) draw this many groups' worth of
#: trials per step, so that a heterogeneous space buckets into full groups.
DRAW_AHEAD = 4


def check_fuse(fuse: Any) -> int | str:
    """Validates ``fuse=``: an int >= 1 or ``"auto"``."""
    if fuse == "auto" and isinstance(fuse, str):
        return fuse
    if isinstance(fuse, bool) or not isinstance(fuse, int) or fuse < 1:
        raise bad_value(
            "fuse",
            fuse,
            'must be an int >= 1 (trials per fused model) or "auto"',
            'E.g. fuse=16, fuse="auto", or fuse=1 to train trials one by one.',
        )
    return fuse


class TrialFusion:
    """Fused execution of a tuner with ``fuse``, ``oracle`` and ``limits``."""

    fuse: int | str = 1
    #: Why trials ran one by one although ``fuse`` allows groups (each once).
    fusion_messages: list[str]

    @property
    def fuse_size(self) -> int:
        """The largest fused group (1: no fusion)."""
        return AUTO_SIZE if self.fuse == "auto" else int(self.fuse)

    def step_size(self) -> int:
        """Trials per step: ``trials_per_step``, or enough to fill groups."""
        if self.fuse_size == 1:
            return self.trials_per_step
        ahead = 1 if getattr(self.oracle, "adaptive", True) else DRAW_AHEAD
        return max(self.trials_per_step, self.fuse_size * ahead)

    def fusion_refusal(self, fit_args: tuple, fit_kwargs: dict) -> str | None:
        """Why this search's trials cannot fuse, or ``None``."""
        from keras_hpo.tuners.execution import TrialExecution
        from keras_hpo.tuners.execution import overrides_build_and_fit

        callbacks = fit_kwargs.get("callbacks") or []
        early = keras.callbacks.EarlyStopping
        reasons = [
            (
                not isinstance(self.hypermodel, FusableHyperModel),
                "the hypermodel has no build_fused (see "
                "keras_hpo.protocols.FusableHyperModel)",
            ),
            (
                type(self).run_trial is not TrialExecution.run_trial,
                "run_trial is overridden",
            ),
            (
                overrides_build_and_fit(self),
                "_build_and_fit_model is overridden",
            ),
            (not is_plain_fit(self.hypermodel), "the hypermodel overrides fit"),
            (self.isolate_trials, "isolate_trials=True"),
            (self.executions_per_trial > 1, "executions_per_trial > 1"),
            (
                getattr(self, "scoring", None) is not None
                and bool(self.scoring.scorers),
                "scoring= has scikit-learn scorers, computed on each model's "
                "own predictions",
            ),
            (
                self.checkpoint == "every_epoch",
                'checkpoint="every_epoch" resumes a trial from its own optimizer state',
            ),
            (self.distribution_strategy is not None, "a distribution_strategy is set"),
            (
                any(not isinstance(c, early) for c in callbacks),
                "search(callbacks=...) has Keras callbacks other than "
                "EarlyStopping, which act on a trial's model during training",
            ),
            (
                any(k in fit_kwargs for k in ("sample_weight", "class_weight"))
                or (
                    isinstance(fit_kwargs.get("validation_data"), (tuple, list))
                    and len(fit_kwargs["validation_data"]) > 2
                ),
                "sample or class weights are given",
            ),
            (
                len(fit_args) > 2,
                "search() got more than x and y as positional arguments "
                "(give batch_size, epochs... by keyword)",
            ),
        ]
        return next((why for refused, why in reasons if refused), None)

    def run_fused(self, trials: list[kt_trial.Trial], fit_args, fit_kwargs) -> None:
        """Runs a step's trials in fused groups (see the module's docstring)."""
        refusal = self.fusion_refusal(fit_args, fit_kwargs)
        if refusal:
            self._say(f"fuse={self.fuse!r}: trials run one by one: {refusal}.")
            groups = [[trial] for trial in trials]
        else:
            hypermodel = self.hypermodel
            keys = [hypermodel.fusion_key(t.hyperparameters) for t in trials]
            shapes = [hypermodel.fusion_shape(t.hyperparameters) for t in trials]
            batch_of = getattr(hypermodel, "fusion_batch_size", None)
            batches = [
                int(fit_kwargs.get("batch_size") or (batch_of and batch_of(hp)) or 32)
                for hp in (t.hyperparameters for t in trials)
            ]
            indices = plan_groups(
                keys, shapes, self.fuse_size, auto=self.fuse == "auto", batch=batches
            )
            groups = [[trials[i] for i in group] for group in indices]
        self.ended_trials = set()
        for position, group in enumerate(groups):
            if position and self._limit_reached():
                self.held_trials.extend(t for g in groups[position:] for t in g)
                return
            for trial in group:
                self.begin_trial(trial)
            if len(group) == 1 and (refusal or getattr(self, "cv", None) is None):
                self.execute_trial(group[0], *fit_args, **fit_kwargs)
            else:
                self.execute_group(group, fit_args, fit_kwargs)
            # Recorded now (a later kill loses none of them), best first.
            for trial in self._best_first(group):
                self.on_trial_end(trial)
                self.ended_trials.add(trial.trial_id)

    def _best_first(self, trials: list[kt_trial.Trial]) -> list[kt_trial.Trial]:
        """A group's trials, best score first, then those without one, in order.

        They ended together. Recorded best first, ``checkpoint="best"``
        writes at most ``keep_top_k`` weights files per group, rather than
        also writing those a later trial of the group pushes out (about 10
        of 32 random trials for ``keep_top_k=3``, 25 ms each on digits).
        """
        sign = 1.0 if self.oracle.objective.direction == "min" else -1.0

        def rank(trial: kt_trial.Trial) -> tuple[int, float]:
            result = self.result_store.get(trial.trial_id)
            value = None if result is None else self._objective_value(trial, result)
            if value is None or not math.isfinite(value):
                return (1, 0.0)
            return (0, sign * value)

        return sorted(trials, key=rank)

    def _limit_reached(self) -> bool:
        direction = self.oracle.objective.direction
        return bool(self.limits.reason(self.result_store.scores(), direction))

    def _say(self, line: str) -> None:
        """Prints a fusion message once (kept in `fusion_messages` too)."""
        if line not in self.fusion_messages:
            self.fusion_messages.append(line)
            if self.verbose:
                print(line, flush=True)

    def execute_group(self, trials: list[kt_trial.Trial], fit_args, fit_kwargs) -> None:
        """Trains trials as one fused model and reports each to the oracle.

        If the hypermodel refuses to fuse them (`NotFusable`), one line says
        why and they run one by one.
        """
        start = time.perf_counter()
        plans = [self._plan(trial) for trial in trials]
        clear_session()
        # A collection about once per GC_EVERY trials, as ModelBuilder.
        if len(self.oracle.start_order) % GC_EVERY < len(trials):
            gc.collect()
        try:
            with released_gradient_functions():
                outcomes = GroupRunner(self._runner(self.builder.build)).run(
                    plans, fit_args, fit_kwargs
                )
        except NotFusable as err:
            self._say(f"fuse={self.fuse!r}: these trials run one by one: {err}.")
            for trial in trials:
                self.execute_trial(trial, *fit_args, **fit_kwargs)
            return
        except Exception as err:  # noqa: BLE001 - fails this group's trials only
            if isinstance(err, kt_errors.FatalError):
                raise
            outcomes = [err] * len(trials)
        share = (time.perf_counter() - start) / len(trials)
        for trial, outcome in zip(trials, outcomes, strict=True):
            result = self.report_trial(trial, outcome)
            result.seconds = share
            self.result_store.put(result)
