"""What every benchmark script shares: the device, versions and a timed search."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import time
from pathlib import Path

import keras
import keras_tuner
import tensorflow as tf

import keras_hpo

__all__ = [
    "bytes_written",
    "cpu_model",
    "device",
    "package_versions",
    "timed_search",
    "versions",
    "write_results",
]


def device() -> str:
    """The GPU's name, or the CPU and its core count."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return details.get("device_name", gpus[0].name)
    return f"CPU: {cpu_model()} ({os.cpu_count()} cores)"


def versions() -> dict[str, str]:
    """Versions of keras_hpo and of what it is compared with."""
    return {
        "keras_hpo": keras_hpo.__version__,
        "keras": keras.__version__,
        "keras_tuner": keras_tuner.__version__,
        "tensorflow": tf.__version__,
    }


def bytes_written() -> int:
    """Bytes this process has passed to write() so far (Linux /proc/self/io)."""
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise RuntimeError("/proc/self/io has no wchar line")


def timed_search(tuner, data, epochs: int) -> tuple[float, int]:
    """Runs ``tuner.search`` on a `Dataset`; returns (seconds, bytes written)."""
    written = bytes_written()
    start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        verbose=0,
    )
    return time.perf_counter() - start, bytes_written() - written


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), or the platform's guess."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def package_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions ("-" where missing)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def write_results(out: str | os.PathLike, name: str, report: dict, table: str) -> Path:
    """Writes ``<out>/<name>.json`` (the report) and ``<name>.md`` (the table).

    Returns:
        The folder, created if needed.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(report, indent=1))
    (folder / f"{name}.md").write_text(table if table.endswith("\n") else table + "\n")
    return folder
