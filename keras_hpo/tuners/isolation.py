"""Running one trial in a process of its own (``isolate_trials=True``).

TensorFlow keeps a few MB for every model it has trained in a process, even
after ``clear_session()`` and a garbage collection (measured here: 4.2 MB per
small MLP in a plain Keras loop); over hundreds of trials that adds up. With
isolation each trial trains in a fresh process that exits when the trial
ends, so whatever it kept dies with it.

The child gets a copy of the tuner without its oracle (a snapshot of what a
trial needs: the objective, the seed and the trial order), the trial and the
data, runs the very same `SearchTuner.run_trial`, writes the best epoch's
weights to ``pending.weights.h5`` in the trial's folder and sends back the
metrics and the `TrialResult`. The parent then records the trial as usual.
The hypermodel, the data and the Keras callbacks given to ``search`` must be
picklable; on platforms that start processes by "spawn", a script that
defines them must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from dataclasses import dataclass
from typing import Any

__all__ = ["OracleSnapshot", "PENDING_WEIGHTS", "TrialProcessError", "run_isolated"]

#: The best epoch's weights a child wrote, in the trial's folder.
PENDING_WEIGHTS = "pending.weights.h5"


@dataclass
class OracleSnapshot:
    """What `SearchTuner.run_trial` reads from the oracle, frozen for a child."""

    objective: Any
    seed: int | None
    start_order: list[str]


class TrialProcessError(Exception):
    """A trial's process failed; the message holds the child's traceback."""

    def __init__(self, message: str, failed_trial: bool):
        super().__init__(message)
        #: Whether it was a ``FailedTrialError`` (no retry) in the child.
        self.failed_trial = failed_trial


def _child(connection, payload: bytes) -> None:
    import pickle

    from keras_tuner import errors as kt_errors

    from keras_hpo.tuners.weights import save_weights

    tuner, trial, fit_args, fit_kwargs = pickle.loads(payload)
    try:
        metrics = type(tuner).run_trial(tuner, trial, *fit_args, **fit_kwargs)
        model, weights = tuner._weights.pop(trial.trial_id, (None, None))
        if model is not None:
            if weights is not None:
                model.set_weights(weights)
            path = os.path.join(tuner.get_trial_dir(trial.trial_id), PENDING_WEIGHTS)
            save_weights(model, path)
        result = tuner._running.pop(trial.trial_id, None)
        connection.send(
            ("ok", metrics, result and result.to_json(), trial.hyperparameters)
        )
    except BaseException as err:  # noqa: BLE001 - everything goes to the parent
        result = tuner._running.pop(trial.trial_id, None)
        failed = isinstance(err, kt_errors.FailedTrialError)
        connection.send(
            ("error", traceback.format_exc(), failed, result and result.to_json())
        )
    finally:
        connection.close()


def run_isolated(tuner, trial, fit_args: tuple, fit_kwargs: dict):
    """Runs ``tuner.run_trial`` for ``trial`` in a new process.

    Args:
        tuner: The `SearchTuner` (pickled without its oracle).
        trial: The keras-tuner trial.
        fit_args: As for ``search``.
        fit_kwargs: As for ``search``.

    Returns:
        ``(metrics, result_json, weights_path)``: the best epoch's metrics,
        the trial's `TrialResult` as JSON and the pending weights file (or
        ``None``). ``trial.hyperparameters`` is replaced by the child's,
        which holds what building the model declared (fixed values, say).

    Raises:
        TrialProcessError: If the trial raised in its process (its
            traceback is the message; ``result_json`` is attached as
            ``error.result_json``), or the process died.
    """
    import pickle

    payload = pickle.dumps((tuner, trial, fit_args, fit_kwargs))
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, payload), daemon=True)
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
    if message[0] == "error":
        error = TrialProcessError(message[1], failed_trial=message[2])
        error.result_json = message[3]
        raise error
    trial.hyperparameters = message[3]
    path = os.path.join(tuner.get_trial_dir(trial.trial_id), PENDING_WEIGHTS)
    return message[1], message[2], path if os.path.exists(path) else None
