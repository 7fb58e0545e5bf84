"""The search loop: ask the oracle for trials, run them, until a limit stops it.

`run_search` drives a tuner through keras-tuner's hooks (``pre_create_trial``,
``create_trials``, ``on_trial_begin``, ``run_trials``, ``on_trial_end``), so
a subclass that overrides one of them is still called; between groups of
trials it asks the `SearchLimits` whether to stop. It writes ``search.json``
when the search starts (``stop_reason`` ``null``: running, or killed) and
when it ends. It owns the order of a search's steps and the reason it
stopped; it must not train a trial or record a result.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from keras_tuner.engine import trial as kt_trial

from keras_hpo.files import atomic_write_json
from keras_hpo.oracles.base import stop_reason
from keras_hpo.tuners.building import frozen_heap
from keras_hpo.tuners.refit import describe
from keras_hpo.tuners.termination import interrupt_reason

__all__ = ["create_trials", "end_search", "run_search", "write_search_state"]


def run_search(tuner: Any, fit_args: tuple, fit_kwargs: dict) -> None:
    """Runs trials until a limit, the oracle or an error ends the search.

    ``tuner.stop_reason`` says why; ``KeyboardInterrupt`` and errors are
    raised after ``search.json`` and the search callbacks are told.
    """
    tuner.stop_reason = None
    tuner.limits.start()
    tuner.save()  # from now on, running the search again resumes it
    write_search_state(tuner)
    tuner.on_search_begin()
    ended = False
    try:
        with frozen_heap():  # collections scan only what the search made
            while True:
                tuner.stop_reason = tuner.limits.reason(
                    tuner.result_store.scores(), tuner.oracle.objective.direction
                )
                if tuner.stop_reason:
                    break
                tuner.pre_create_trial()
                trials = tuner.create_trials(_step_size(tuner))
                if not trials:
                    tuner.stop_reason = stop_reason(tuner.oracle)
                    break
                if not tuner.begins_in_groups(trials):
                    for trial in trials:
                        tuner.begin_trial(trial)
                tuner.run_trials(trials, *fit_args, **fit_kwargs)
                # Held trials have not run; ended ones were ended by run_trials.
                skip = {t.trial_id for t in getattr(tuner, "held_trials", ())}
                skip |= getattr(tuner, "ended_trials", set())
                for trial in trials:
                    if trial.trial_id not in skip:
                        tuner.on_trial_end(trial)
        ended = True
    except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (`Terminated`)
        tuner.stop_reason = interrupt_reason(err)
        raise
    except Exception as err:
        tuner.stop_reason = f"error: {type(err).__name__}: {err}"
        raise
    finally:
        end_search(tuner, ended)


def _step_size(tuner: Any) -> int:
    """Trials per step: the tuner's `step_size` if it has one."""
    step_size = getattr(tuner, "step_size", None)
    return step_size() if callable(step_size) else tuner.trials_per_step


def end_search(tuner: Any, ended: bool) -> None:
    """Writes ``search.json`` and tells the callbacks, after any ending.

    When the search is already failing, an error here is printed and the
    original error goes on: it is the one that explains the stop.
    """
    for step in (lambda: write_search_state(tuner), tuner.on_search_end):
        try:
            step()
        except Exception as err:
            if ended:
                raise
            print(
                f"While stopping after the error below, another error: "
                f"{type(err).__name__}: {err}",
                file=sys.stderr,
                flush=True,
            )


def write_search_state(tuner: Any) -> None:
    """Writes ``search.json``: the objective, why the search ended, the task.

    ``"model"`` says what the models predict and how they are scored
    (`keras_hpo.tuners.refit.describe`), so `keras_hpo.load` can use a
    trial's saved model without the refit.
    """
    atomic_write_json(
        os.path.join(tuner.project_dir, "search.json"),
        {
            "objective": tuner.oracle.objective.name,
            "direction": tuner.oracle.objective.direction,
            "stop_reason": tuner.stop_reason,
            "trials": len(tuner.result_store),
            "model": describe(tuner),
        },
    )


def create_trials(oracle: Any, tuner_id: str, count: int) -> list[kt_trial.Trial]:
    """Asks the oracle for up to ``count`` trials to run now.

    Each trial gets its own tuner ID (``<tuner_id>``, then
    ``<tuner_id>-<i>``, skipping IDs that hold a running trial), so the
    oracle sees them as pending together.

    An oracle answers IDLE when it has nothing new while trials are running
    (they may still declare hyperparameters). When those trials are this
    process's own (asked for here, or held by the tuner), waiting would never
    end: the trials in hand are returned, to be run. Only another worker's
    running trial is waited for.

    Returns:
        The trials, empty when the oracle has stopped the search or has
        nothing until this process's running trials end.
    """
    trials = []
    workers = (tuner_id if i == 0 else f"{tuner_id}-{i}" for i in range(1 << 30))
    busy = set(getattr(oracle, "ongoing_trials", {}))
    for _ in range(count):
        worker = next(w for w in workers if w not in busy)
        while True:
            trial = oracle.create_trial(worker)
            if trial.status != kt_trial.TrialStatus.IDLE:
                break
            if _own_trial_running(oracle, tuner_id):
                return trials
            time.sleep(0.1)  # another worker's trial may open new values
        if trial.status == kt_trial.TrialStatus.STOPPED:
            break
        trials.append(trial)
    return trials


def _own_trial_running(oracle: Any, tuner_id: str) -> bool:
    """Whether a running trial was handed to this process's tuner IDs."""
    return any(
        worker == tuner_id or worker.startswith(f"{tuner_id}-")
        for worker in getattr(oracle, "ongoing_trials", {})
    )
