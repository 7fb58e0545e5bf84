"""Observation: callbacks that record and report trials (``keras_hpo.callbacks``).

Installed from the repository's top-level ``callbacks/`` folder as
``keras_hpo.callbacks``; always import it by that name.
"""

from keras_hpo.callbacks.base import SearchCallback
from keras_hpo.callbacks.curves import EpochTensorBoard
from keras_hpo.callbacks.device import DeviceProbe
from keras_hpo.callbacks.recording import EpochRecorder
from keras_hpo.callbacks.recording import ValidationTimer
from keras_hpo.callbacks.reporting import ProgressPrinter
from keras_hpo.callbacks.tensorboard import TensorBoardLogger

__all__ = [
    "DeviceProbe",
    "EpochRecorder",
    "EpochTensorBoard",
    "ProgressPrinter",
    "SearchCallback",
    "TensorBoardLogger",
    "ValidationTimer",
]
