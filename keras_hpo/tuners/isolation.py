"""Running one trial in a process of its own (``isolate_trials=True``).

TensorFlow keeps a few MB for every model it has trained in a process, even
after ``clear_session()`` and a garbage collection (measured here: 4.2 MB per
small MLP in a plain Keras loop); over hundreds of trials that adds up. With
isolation each trial trains in a fresh process that exits when the trial
ends, so whatever it kept dies with it.

The child gets the very `TrialRunner` and `TrialPlan` the search's process
would use (with a picklable model builder, the other trials' curves as they
were, and the Keras callbacks the search callbacks made for it), runs it,
writes the best epoch's weights to ``pending.weights.h5`` in the trial's
folder and sends back the outcome. `run_isolated` returns it as a
`TrialOutcome` whose weights handle is that file; the tuner records the
trial as usual. The hypermodel, the data and the Keras callbacks given to
``search`` must be picklable; on platforms that start processes by "spawn",
a script that defines them must guard its entry point with
``if __name__ == "__main__":``. This module owns the process; it must not
record results or talk to the oracle.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback

from keras_hpo.tuners.outcome import TrialOutcome
from keras_hpo.tuners.outcome import WeightsHandle
from keras_hpo.tuners.outcome import trial_failed
from keras_hpo.tuners.results import TrialResult

__all__ = ["PENDING_WEIGHTS", "TrialProcessError", "run_isolated"]

#: The best epoch's weights a child wrote, in the trial's folder.
PENDING_WEIGHTS = "pending.weights.h5"


class TrialProcessError(Exception):
    """A trial's process failed; the message holds the child's traceback."""

    def __init__(self, message: str, failed_trial: bool):
        super().__init__(message)
        #: Whether it was a ``FailedTrialError`` (no retry) in the child.
        self.failed_trial = failed_trial


def _child(connection, payload: bytes, parent: int) -> None:
    import pickle

    from keras_tuner import errors as kt_errors

    from keras_hpo.distributed.launch import end_with_parent
    from keras_hpo.tuners.outcome import outcome_of

    # A search killed outright (SIGKILL) must not leave its trial training,
    # and writing into the project, beside the search that resumes it.
    end_with_parent(parent)
    runner, plan, fit_args, fit_kwargs = pickle.loads(payload)
    try:
        outcome = runner.run(plan, fit_args, fit_kwargs)
        if outcome.weights is not None:
            path = os.path.join(plan.directory, PENDING_WEIGHTS)
            # With "every_epoch" the best epoch's are on disk already (not in
            # memory when it came before a resume): the current are not them.
            current = runner.checkpoint != "every_epoch"
            outcome.weights.write(path, current_if_no_best=current)
        connection.send(
            ("ok", outcome.metrics, outcome.result.to_json(), plan.hyperparameters)
        )
    except BaseException as err:  # noqa: BLE001 - everything goes to the parent
        partial = outcome_of(err)
        failed = isinstance(err, kt_errors.FailedTrialError)
        connection.send(
            (
                "error",
                traceback.format_exc(),
                failed,
                partial and partial.result.to_json(),
            )
        )
    finally:
        connection.close()


def _receive(payload: bytes):
    """Starts the child, waits for its message (``None`` if it died)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_child, args=(sender, payload, os.getpid()), daemon=True
    )
    process.start()
    sender.close()
    try:
        try:
            message = receiver.recv()
        except EOFError:
            message = None
        process.join()
    except BaseException:  # Ctrl-C: stop the child too
        process.terminate()
        process.join()
        raise
    finally:
        receiver.close()
    if message is None:
        raise TrialProcessError(
            f"The trial's process died with exit code {process.exitcode} before "
            "reporting (killed, or out of memory?).",
            failed_trial=False,
        )
    return message


def run_isolated(runner, plan, fit_args: tuple, fit_kwargs: dict) -> TrialOutcome:
    """Runs ``runner.run(plan, ...)`` in a new process.

    Args:
        runner: The `TrialRunner` (its ``build`` must be picklable).
        plan: The `TrialPlan` (its ``curves`` and ``observers`` likewise).
        fit_args: As for ``search``.
        fit_kwargs: As for ``search``.

    Returns:
        The trial's outcome; its weights handle is the pending weights
        file, if one was written. ``plan.hyperparameters`` is replaced by
        the child's (which hold what building declared: fixed values).

    Raises:
        FailedTrialError: If training failed in the child (no retry); the
            message is the child's traceback, ``.outcome`` the partial one.
        TrialProcessError: If anything else raised in the child (the
            traceback is the message, ``.outcome`` the partial one), or the
            process died.
    """
    import pickle

    message = _receive(pickle.dumps((runner, plan, fit_args, fit_kwargs)))
    if message[0] == "error":
        partial = message[3] and TrialOutcome(TrialResult.from_json(message[3]), {})
        if message[2]:
            raise trial_failed(message[1], partial or None)
        error = TrialProcessError(message[1], failed_trial=False)
        error.outcome = partial or None
        raise error
    plan.hyperparameters = message[3]
    path = os.path.join(plan.directory, PENDING_WEIGHTS)
    weights = WeightsHandle(path=path) if os.path.exists(path) else None
    return TrialOutcome(TrialResult.from_json(message[2]), message[1], weights)
