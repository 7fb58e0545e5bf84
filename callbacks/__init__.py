"""Observation: callbacks that record and report trials (``keras_hpo.callbacks``).

Installed from the repository's top-level ``callbacks/`` folder as
``keras_hpo.callbacks``; always import it by that name.
"""

from keras_hpo.callbacks.base import SearchCallback
from keras_hpo.callbacks.recording import EpochRecorder
from keras_hpo.callbacks.reporting import ProgressPrinter

__all__ = ["EpochRecorder", "ProgressPrinter", "SearchCallback"]
