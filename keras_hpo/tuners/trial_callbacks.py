"""Keras callbacks of a trial's training: the user's, copied; the objective's."""

from __future__ import annotations

import copy
import os
from typing import Any

import keras
from keras_tuner import errors as kt_errors

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value

__all__ = [
    "NOT_IN_REFIT",
    "ObjectiveLogs",
    "check_tensorboard_dir",
    "copy_user_callbacks",
    "objective_parts",
    "refit_callbacks",
]

#: ``search(callbacks=...)`` a refit leaves out: they watch the validation
#: data (which the refit trains on) or write files of the search's trials.
NOT_IN_REFIT = (
    keras.callbacks.EarlyStopping,
    keras.callbacks.ReduceLROnPlateau,
    keras.callbacks.ModelCheckpoint,
    keras.callbacks.BackupAndRestore,
    keras.callbacks.TensorBoard,
    keras.callbacks.CSVLogger,
)


def objective_parts(objective: Any) -> list[str]:
    """The metric names an objective is made of (several for a list of them).

    keras-tuner turns ``objective=["val_accuracy", "val_loss"]`` into one
    ``MultiObjective`` named ``multi_objective``: the sum of its parts, each
    negated where it is maximised.
    """
    parts = getattr(objective, "objectives", None)
    return [part.name for part in parts] if parts else [objective.name]


class ObjectiveLogs(keras.callbacks.Callback):
    """Adds a combined objective's value to every epoch's logs, by its name.

    With a list of objectives, no metric is called ``multi_objective``: this
    callback, first in a training's list, computes it from its parts
    (keras-tuner's ``MultiObjective.get_value``) into the logs that every
    later callback reads (the early stopping, the best weights, the
    recorder, the stopper), so each of them treats it as one metric.

    Args:
        objective: A keras-tuner ``MultiObjective``.
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(self, objective: Any):
        super().__init__()
        self.objective = objective

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Writes the objective's value, once every part is in the logs."""
        if logs is not None and self.objective.has_value(logs):
            logs[self.objective.name] = float(self.objective.get_value(logs))


def check_tensorboard_dir(value: Any) -> str | None:
    """Validates ``tensorboard_dir=``: ``"default"``, a path or ``None``."""
    if isinstance(value, (str, os.PathLike)) and not os.fspath(value):
        raise bad_value(
            "tensorboard_dir",
            value,
            "is empty",
            'E.g. tensorboard_dir="logs", or None to write no TensorBoard logs.',
        )
    if value is None or isinstance(value, (str, os.PathLike)):
        return None if value is None else os.fspath(value)
    raise bad_type(
        "tensorboard_dir",
        value,
        "a directory path or None",
        'E.g. tensorboard_dir="logs", or None to write no TensorBoard logs.',
    )


def copy_user_callbacks(callbacks: list, run: str) -> list[keras.callbacks.Callback]:
    """Deep copies of ``search(callbacks=...)`` for one training.

    Every callback is deep-copied, so no state leaks from one trial to the
    next and the user's own objects are never changed. A copy of a
    ``keras.callbacks.TensorBoard`` (or a subclass) writes to
    ``<its log_dir>/<run>`` (``run`` is e.g. ``trial_07``, or
    ``trial_07/execution_2``), so each trial has its own runs there; nothing
    else about it changes.

    Args:
        callbacks: The user's Keras callbacks.
        run: The training's run name, relative to a log directory.

    Raises:
        FatalValueError: If a callback cannot be deep-copied.
    """
    try:
        copies = copy.deepcopy(list(callbacks))
    except Exception as err:
        raise kt_errors.FatalValueError(
            "search(callbacks=...) must be deep-copyable: each trial gets "
            f"its own copy. copy.deepcopy failed with: {err}"
        ) from err
    for callback in copies:
        if isinstance(callback, keras.callbacks.TensorBoard):
            callback.log_dir = os.path.join(callback.log_dir, run)
    return copies


def refit_callbacks(callbacks: list) -> list[keras.callbacks.Callback]:
    """Copies of the ``search(callbacks=...)`` that a refit trains with.

    A learning-rate schedule, ``TerminateOnNaN`` or a callback of the
    user's own shape the training as in the trials; those of `NOT_IN_REFIT`
    are left out.
    """
    kept = [c for c in callbacks if not isinstance(c, NOT_IN_REFIT)]
    return copy_user_callbacks(kept, "refit")
