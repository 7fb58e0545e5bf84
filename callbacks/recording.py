"""A Keras callback that records what happened in each epoch of a trial."""

from __future__ import annotations

import math
import time
from typing import Any

import keras

__all__ = ["EpochRecorder", "ValidationTimer"]


def _scalar(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


class ValidationTimer(keras.callbacks.Callback):
    """Adds up the wall time a training spends on its validation data.

    Attributes:
        validation_seconds: Seconds between ``on_test_begin`` and
            ``on_test_end``, summed (the validation inside ``fit``).
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(self):
        super().__init__()
        self.validation_seconds = 0.0
        self._test_start: float | None = None

    def on_test_begin(self, logs=None):
        """Starts the validation's clock."""
        self._test_start = time.perf_counter()

    def on_test_end(self, logs=None):
        """Adds the validation's wall time to `validation_seconds`."""
        if self._test_start is not None:
            self.validation_seconds += time.perf_counter() - self._test_start
            self._test_start = None


class EpochRecorder(ValidationTimer):
    """Records every epoch's logged metrics and wall time.

    State is reset in ``on_train_begin``, so one instance (or a deep copy of
    it) can be reused for any number of trainings.

    Attributes:
        history: Metric name -> one value per finished epoch (``nan`` where an
            epoch did not log that metric).
        epoch_seconds: Wall time of each finished epoch.
        validation_seconds: Wall time spent evaluating the validation data
            during the training (inside the epochs' times; see
            `ValidationTimer`).
        planned_epochs: The epochs the last ``fit`` was asked for (``None``
            before one, or when Keras did not say).

    Example:
        >>> recorder = EpochRecorder()
        >>> model.fit(x, y, epochs=3, callbacks=[recorder])  # doctest: +SKIP
        >>> recorder.epochs_run  # doctest: +SKIP
        3
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch_seconds: list[float] = []
        self._epoch_start: float | None = None
        self._initial: tuple[dict, list] = ({}, [])
        self.planned_epochs: int | None = None

    @property
    def epochs_run(self) -> int:
        """Number of epochs that finished."""
        return len(self.epoch_seconds)

    def start_from(
        self, history: dict[str, list[float]], epoch_seconds: list[float]
    ) -> None:
        """Makes the next training continue an interrupted one's record."""
        self._initial = (history, epoch_seconds)

    def on_train_begin(self, logs=None):
        """Forgets the previous training (keeps a record given to `start_from`)."""
        history, seconds = self._initial
        self.history = {name: list(values) for name, values in history.items()}
        self.epoch_seconds = list(seconds)
        self.validation_seconds = 0.0
        planned = (self.params or {}).get("epochs")
        self.planned_epochs = int(planned) if planned else None

    def on_epoch_begin(self, epoch, logs=None):
        """Starts the epoch's clock."""
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Stores the epoch's metrics and wall time."""
        start = (
            self._epoch_start if self._epoch_start is not None else time.perf_counter()
        )
        done = self.epochs_run
        self.epoch_seconds.append(time.perf_counter() - start)
        for name, value in (logs or {}).items():
            number = _scalar(value)
            if number is None:
                continue
            column = self.history.setdefault(name, [math.nan] * done)
            column.append(number)
        for column in self.history.values():
            if len(column) < done + 1:
                column.append(math.nan)
