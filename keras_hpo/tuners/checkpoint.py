"""Keeping a trial's best weights in memory, to be written once at its end."""

from __future__ import annotations

import keras
import keras_tuner

from keras_hpo.tuners.weights import save_weights

__all__ = ["BestWeights", "LastEpochWeights"]


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
        self.reset()

    def reset(self) -> None:
        """Forgets the best epoch."""
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.weights: list | None = None

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
            self.weights = [w.copy() for w in self.model.get_weights()]


class LastEpochWeights(keras.callbacks.Callback):
    """Writes the weights after every epoch (``checkpoint="every_epoch"``).

    Args:
        path: The ``.weights.h5`` file, overwritten each epoch.
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        """Saves the weights."""
        save_weights(self.model, self.path)
