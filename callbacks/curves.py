"""A Keras callback that writes one training's curves to TensorBoard."""

from __future__ import annotations

import glob
import os
import time

import keras
import numpy as np
from keras_hpo.callbacks.events import EventLog

__all__ = ["EpochTensorBoard"]

#: The runs of one training, under its log directory.
_RUNS = ("train", "validation")


def _learning_rate(model: keras.Model | None) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        return None
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except (TypeError, ValueError):
        return None


def _event_files(log_dir: str) -> list[str]:
    """The event files in ``log_dir``'s ``train`` and ``validation`` runs."""
    return sorted(
        path
        for run in _RUNS
        for path in glob.glob(os.path.join(log_dir, run, "events.out.tfevents.*"))
    )


def _set_aside(log_dir: str, paths: list[str]) -> None:
    """Moves ``paths`` (event files of runs of ``log_dir``) to ``interrupted_<n>``."""
    number = 1
    while os.path.exists(os.path.join(log_dir, f"interrupted_{number}")):
        number += 1
    aside = os.path.join(log_dir, f"interrupted_{number}")
    for path in paths:
        run = os.path.basename(os.path.dirname(path))
        os.makedirs(os.path.join(aside, run), exist_ok=True)
        os.replace(path, os.path.join(aside, run, os.path.basename(path)))


class EpochTensorBoard(keras.callbacks.Callback):
    """Writes every logged metric, per epoch, as TensorBoard scalars.

    Like ``keras.callbacks.TensorBoard``, metrics go to two runs,
    ``<log_dir>/train`` and ``<log_dir>/validation`` (``val_`` metrics, with
    the prefix dropped), under tags ``epoch_<metric>``, so each metric's
    training and validation curves share one chart. The train run also gets
    ``epoch_seconds`` (wall time), ``epoch_samples_per_second`` (when the
    number of samples per epoch is known, else ``epoch_steps_per_second``)
    and ``epoch_learning_rate``.

    Writers open on the first epoch that has something for them, flush after
    every epoch (a killed process leaves readable curves up to its last
    finished epoch) and close in ``on_train_end``. State is reset in
    ``on_train_begin``, so a deep copy can be reused.

    An interrupted attempt's curves (a trial killed mid-way and run again)
    are in these runs already: when training starts again from epoch 0, the
    event files that were there when this callback was made are moved to
    ``<log_dir>/interrupted_<n>/train`` and ``.../validation`` (kept, as
    runs of their own), so the runs hold this training's curves alone. A
    training resumed from a later epoch keeps them: they are its first
    epochs.

    Args:
        log_dir: The directory of this training's runs.
        samples_per_epoch: Training samples seen per epoch, for the samples
            per second; ``None`` reports steps per second instead.

    Example:
        >>> model.fit(x, y, validation_split=0.2, epochs=5,
        ...           callbacks=[EpochTensorBoard("logs/run_1", len(x) * 0.8)])
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(self, log_dir: str, samples_per_epoch: int | None = None):
        super().__init__()
        self.log_dir = str(log_dir)
        self.samples_per_epoch = samples_per_epoch
        self._train = EventLog(os.path.join(self.log_dir, "train"))
        self._validation = EventLog(os.path.join(self.log_dir, "validation"))
        self._start = 0.0
        #: An earlier attempt's event files, until the first epoch decides.
        self._earlier: list[str] | None = _event_files(self.log_dir)

    def on_train_begin(self, logs=None):
        """Starts from fresh (unopened) runs."""
        self._close()
        self._train = EventLog(os.path.join(self.log_dir, "train"))
        self._validation = EventLog(os.path.join(self.log_dir, "validation"))

    def on_epoch_begin(self, epoch, logs=None):
        """Starts the epoch's clock (first, sets an interrupted attempt aside)."""
        earlier, self._earlier = self._earlier, None
        if earlier and epoch == 0:
            _set_aside(self.log_dir, earlier)
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        """Writes the epoch's metrics, timing and learning rate, and flushes."""
        seconds = time.perf_counter() - self._start
        train, validation = {}, {}
        for name, value in (logs or {}).items():
            if not np.ndim(value) == 0:
                continue
            if name.startswith("val_"):
                validation[f"epoch_{name[4:]}"] = value
            elif name != "learning_rate":  # written below, from the optimizer
                train[f"epoch_{name}"] = value
        train["epoch_seconds"] = seconds
        if seconds > 0:
            if self.samples_per_epoch:
                train["epoch_samples_per_second"] = self.samples_per_epoch / seconds
            elif self.params.get("steps"):
                train["epoch_steps_per_second"] = self.params["steps"] / seconds
        rate = _learning_rate(self.model)
        if rate is not None:
            train["epoch_learning_rate"] = rate
        self._train.scalars(train, epoch)
        self._validation.scalars(validation, epoch)
        self._train.flush()
        self._validation.flush()

    def on_train_end(self, logs=None):
        """Closes the runs."""
        self._close()

    def _close(self) -> None:
        self._train.close()
        self._validation.close()

    def __deepcopy__(self, memo):
        return type(self)(self.log_dir, self.samples_per_epoch)
