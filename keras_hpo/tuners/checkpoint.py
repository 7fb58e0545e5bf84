"""Keeping a trial's best weights in memory, to be written once at its end."""

from __future__ import annotations

import glob
import os
import re
import sys
from collections.abc import Callable
from typing import Any

import keras
import keras_tuner

from keras_hpo.files import atomic_write_json
from keras_hpo.files import read_json
from keras_hpo.tuners.weights import save_weights

__all__ = [
    "BEST_FILE",
    "BestWeights",
    "EarlyStoppingReplay",
    "LastEpoch",
    "clear_resume_point",
    "epoch_logs",
    "resume_point",
]

#: The best epoch's weights of a trial, in its folder.
BEST_FILE = "checkpoint.weights.h5"
#: `LastEpoch`'s record of the last finished epoch, in a trial's folder.
LAST_RECORD = "last.json"


def epoch_logs(history: dict[str, list[float]]) -> list[dict[str, float]]:
    """A training's history as the logs Keras gave each epoch, in order."""
    epochs = max((len(values) for values in history.values()), default=0)
    return [
        {name: values[epoch] for name, values in history.items() if epoch < len(values)}
        for epoch in range(epochs)
    ]


class EarlyStoppingReplay(keras.callbacks.Callback):
    """Gives a resumed training's early stopping the epochs it ran before.

    Keras' ``EarlyStopping`` forgets its best value and its wait when
    training begins, so a trial resumed from its last epoch
    (``checkpoint="every_epoch"``) would get ``patience`` epochs afresh:
    more than the same trial run without the interruption. Placed right
    after it, this feeds it the interrupted training's epochs again.

    Args:
        early: The training's ``keras.callbacks.EarlyStopping``.
        history: The interrupted training's metrics, one value per epoch.
    """

    def __init__(
        self, early: keras.callbacks.EarlyStopping, history: dict[str, list[float]]
    ):
        super().__init__()
        self.early = early
        self.history = history

    def on_train_begin(self, logs=None):
        """Replays the epochs run before the interruption, in order."""
        for epoch, logs in enumerate(epoch_logs(self.history)):
            self.early.on_epoch_end(epoch, logs)


class BestWeights(keras.callbacks.Callback):
    """Holds the weights of the best epoch so far, in memory.

    Nothing is written during training: the tuner saves `weights` once, when
    the trial ends, instead of rewriting a checkpoint at every improving epoch
    as keras-tuner does. The best value carries across the executions of one
    trial; call `reset` between trials.

    Args:
        objective: A keras-tuner ``Objective``; epochs whose logs lack it are
            never "best".
    """

    def __init__(self, objective: keras_tuner.Objective):
        super().__init__()
        self.objective = objective
        #: Takes the epoch's weights instead of ``model.get_weights()``; a
        #: fused group sets it to copy its slice's arrays, so the slice's
        #: model need not hold every epoch's weights (`GroupRunner`). What
        #: it returns is kept in `taken`; `weights` is then ``None`` until
        #: the group fills it in.
        self.take: Callable[[], Any] | None = None
        self.reset()

    @property
    def reads_weights(self) -> bool:
        """Whether it reads its model's weights (not with `take` set)."""
        return self.take is None

    def reset(self) -> None:
        """Forgets the best epoch."""
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.weights: list | None = None
        self.taken: Any = None
        #: The model `weights` were copied from: with ``cv=`` the best epoch
        #: may be an earlier fold's, whose model (its statistics, its
        #: categories) need not be the last fold's.
        self.source: keras.Model | None = None

    def start_from(self, history: dict[str, list[float]]) -> None:
        """Takes the best epoch of an interrupted training's history.

        Its weights are not in memory (`LastEpoch` wrote them to disk).
        """
        values = history.get(self.objective.name, [])
        for epoch, value in enumerate(values):
            if value == value and (  # NaN never improves
                self.best_value is None
                or self.objective.better_than(value, self.best_value)
            ):
                self.best_value, self.best_epoch = float(value), epoch
        self.weights = self.source = self.taken = None

    def on_epoch_end(self, epoch, logs=None):
        """Copies the weights if this epoch beats the best so far."""
        logs = logs or {}
        if not self.objective.has_value(logs):
            return
        value = float(self.objective.get_value(logs))
        if value != value:  # NaN never improves
            return
        if self.best_value is None or self.objective.better_than(
            value, self.best_value
        ):
            self.best_value = value
            self.best_epoch = epoch
            if self.take is not None:
                self.weights, self.taken = None, self.take()
            else:
                self.weights = [w.copy() for w in self.model.get_weights()]
            self.source = self.model


class LastEpoch(keras.callbacks.Callback):
    """After every epoch, saves what a killed trial needs to go on from there.

    Used with ``checkpoint="every_epoch"``. In the trial's folder it writes
    ``last.e<N>.weights.h5`` (the model's and the optimizer's variables after
    epoch ``N``), then ``last.json`` (``N``, the per-epoch history and epoch
    times, and the file's name), then deletes the previous epoch's file; each
    write is atomic, so a kill at any moment leaves a consistent pair. It
    also writes ``checkpoint.weights.h5`` whenever the objective improves.
    When the trial ends its last weights stay as ``last.weights.h5`` (see
    `clear_resume_point`).
    `resume_point` reads the pair back.

    Args:
        directory: The trial's folder.
        recorder: The `EpochRecorder` of the same training (it must run
            before this callback).
        best: The `BestWeights` of the same training (likewise).
    """

    def __init__(self, directory: str, recorder, best: BestWeights):
        super().__init__()
        self.directory = directory
        self.recorder = recorder
        self.best = best
        self._best_saved: int | None = None

    def on_epoch_end(self, epoch, logs=None):
        """Saves the weights, then the record that points at them."""
        done = epoch + 1
        name = f"last.e{done}.weights.h5"
        save_weights(self.model, os.path.join(self.directory, name), optimizer=True)
        atomic_write_json(
            os.path.join(self.directory, LAST_RECORD),
            {
                "epochs": done,
                "weights": name,
                "history": self.recorder.history,
                "epoch_seconds": self.recorder.epoch_seconds,
            },
        )
        for old in glob.glob(os.path.join(self.directory, "last.e*.weights.h5")):
            if os.path.basename(old) != name:
                os.remove(old)
        if self.best.best_epoch == epoch and self._best_saved != epoch:
            save_weights(self.model, os.path.join(self.directory, BEST_FILE))
            self._best_saved = epoch


#: The name `LastEpoch` gives the weights of the epoch it last finished.
_LAST_WEIGHTS = re.compile(r"last\.e[0-9]+\.weights\.h5\Z")


def resume_point(directory: str) -> dict | None:
    """What `LastEpoch` saved in ``directory``, or ``None``.

    A record that cannot be read (truncated, garbled) is no resume point:
    the trial then trains from its first epoch, and a line says so.

    Returns:
        ``{"epochs": N, "weights": path, "history": ..., "epoch_seconds":
        ...}`` when both files are there.

    Raises:
        ValueError: If the record names a weights file other than one
            `LastEpoch` writes in ``directory`` (a path elsewhere, say):
            nothing outside the trial's folder is ever read or moved.
    """
    path = os.path.join(directory, LAST_RECORD)
    if not os.path.exists(path):
        return None
    try:
        record = read_json(path)
        name = record["weights"]
        epochs = int(record["epochs"])
        if not isinstance(record["history"], dict):
            raise TypeError("history is not a dict")
        list(record["epoch_seconds"])
    except (ValueError, KeyError, TypeError) as err:
        print(
            f"{path} is damaged ({type(err).__name__}: {err}); the trial trains "
            "again from its first epoch.",
            file=sys.stderr,
            flush=True,
        )
        return None
    if not isinstance(name, str) or not _LAST_WEIGHTS.match(name):
        raise ValueError(
            f"{path} points at {name!r}, which is not a weights file keras_hpo "
            f"writes in {directory}: the file was altered. Delete {path} (the "
            "trial then trains again from its first epoch), or start afresh "
            "with overwrite=True."
        )
    weights = os.path.join(directory, name)
    if os.path.islink(weights) or not os.path.isfile(weights):
        return None
    return dict(record, weights=weights, epochs=epochs)


def clear_resume_point(directory: str) -> None:
    """Once the trial has ended: keeps its last weights as ``last.weights.h5``.

    The record and any other epoch's file are deleted (only files named as
    `LastEpoch` names them, in ``directory``).
    """
    try:
        point = resume_point(directory)
    except ValueError:
        point = None  # an altered record: its file is not ours to move
    if point is not None:
        os.replace(point["weights"], os.path.join(directory, "last.weights.h5"))
    for path in glob.glob(os.path.join(directory, "last.e*.weights.h5")) + [
        os.path.join(directory, LAST_RECORD)
    ]:
        if os.path.exists(path) and not os.path.islink(path):
            os.remove(path)
