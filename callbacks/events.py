"""A small, lazy, synchronous TensorBoard event-file writer.

It writes the same files TensorBoard's own writers do (``events.out.tfevents.*``
in TFRecord framing) from plain protocol buffers, so it needs neither
TensorFlow ops nor a background thread, and works with every Keras backend.
"""

from __future__ import annotations

import itertools
import os
import socket
import time

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.proto import summary_pb2
from tensorboard.compat.proto import tensor_pb2
from tensorboard.compat.proto import tensor_shape_pb2
from tensorboard.compat.proto import types_pb2
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.summary.writer.record_writer import RecordWriter

__all__ = ["EventLog", "scalar_summary", "text_summary"]

_unique = itertools.count()


def scalar_summary(values: dict[str, float]) -> summary_pb2.Summary:
    """A summary holding one scalar per tag (TensorBoard's scalars dashboard)."""
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items()
        ]
    )


def text_summary(tag: str, text: str) -> summary_pb2.Summary:
    """A summary holding one string (TensorBoard's text dashboard)."""
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        string_val=[text.encode("utf-8")],
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=1)]
        ),
    )
    return summary_pb2.Summary(
        value=[
            summary_pb2.Summary.Value(
                tag=tag,
                tensor=tensor,
                metadata=text_metadata.create_summary_metadata(
                    display_name=tag, description=""
                ),
            )
        ]
    )


class EventLog:
    """One TensorBoard run: an event file in ``log_dir``, opened on first write.

    Nothing touches the disk until something is written, so a run that has
    nothing to say leaves no directory and no empty event file. Every `write`
    goes straight to the file; `flush` makes it readable by TensorBoard (and
    survives a killed process).

    Args:
        log_dir: The run's directory (created on first write).

    Example:
        >>> log = EventLog("logs/trial_01/train")
        >>> log.write(scalar_summary({"epoch_loss": 0.3}), step=0)
        >>> log.close()
    """

    def __init__(self, log_dir: str):
        self.log_dir = log_dir
        self.path: str | None = None
        self._records: RecordWriter | None = None

    def _open(self) -> RecordWriter:
        os.makedirs(self.log_dir, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}."
            f"{socket.gethostname()}.{os.getpid()}.{next(_unique)}"
        )
        self.path = os.path.join(self.log_dir, name)
        records = RecordWriter(open(self.path, "wb"))  # noqa: SIM115 - closed in close()
        version = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        records.write(version.SerializeToString())
        return records

    def write(self, summary: summary_pb2.Summary, step: int = 0) -> None:
        """Appends a summary at ``step``."""
        if self._records is None:
            self._records = self._open()
        event = event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary)
        self._records.write(event.SerializeToString())

    def scalars(self, values: dict[str, float], step: int) -> None:
        """Appends finite scalars at ``step`` (``nan`` and ``inf`` are skipped)."""
        finite = {
            tag: value for tag, value in values.items() if np.isfinite(float(value))
        }
        if finite:
            self.write(scalar_summary(finite), step)

    def flush(self) -> None:
        """Makes everything written so far readable."""
        if self._records is not None:
            self._records.flush()

    def close(self) -> None:
        """Flushes and closes the file; a later write opens a new one."""
        if self._records is not None:
            self._records.close()
            self._records = None
