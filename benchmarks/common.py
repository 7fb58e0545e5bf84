"""What every benchmark script shares: the device, versions and a timed search."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import time
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import keras
import keras_tuner
import tensorflow as tf

import keras_hpo

__all__ = [
    "PartialRuns",
    "bytes_written",
    "cpu_model",
    "device",
    "package_versions",
    "run_tasks",
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


def run_tasks(
    function: Callable[..., dict], tasks: Iterable[tuple], jobs: int
) -> Iterator[dict]:
    """``function(*task)`` for each task, yielded as each one finishes.

    Args:
        function: A module-level function (picklable for the worker processes).
        tasks: Its argument tuples.
        jobs: Worker processes; 1 runs the tasks here, in order.
    """
    if jobs <= 1:
        for task in tasks:
            yield function(*task)
        return
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(function, *task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


class PartialRuns:
    """A benchmark's finished runs, saved one by one to ``<name>.partial.json``.

    A long benchmark killed halfway keeps what it finished: run the same
    command again with ``--resume`` and only the missing runs run. The file is
    replaced atomically after every run and removed by `finish`, once the
    final results are written.

    Args:
        out: The results folder.
        name: The benchmark's name (``strategies``, ``mlp``).
        config: Everything that decides the runs' results (tasks and limits);
            a resume with another config is refused.
        key: A run's identity, from its saved dict; the same as its task's.
        resume: Load the runs saved by an interrupted run with this config.

    Raises:
        SystemExit: ``resume`` and the saved runs were made with another config.
    """

    def __init__(
        self,
        out: str | os.PathLike,
        name: str,
        config: dict[str, Any],
        key: Callable[[dict], Hashable],
        *,
        resume: bool,
    ) -> None:
        self.path = Path(out) / f"{name}.partial.json"
        self.config = json.loads(json.dumps(config))
        self.key = key
        self.runs: list[dict] = []
        if resume and self.path.exists():
            saved = json.loads(self.path.read_text())
            if saved.get("config") != self.config:
                raise SystemExit(
                    f"{self.path} was written by a run with other options; run "
                    "with the same options to resume, or without --resume to "
                    "start again."
                )
            self.runs = saved["runs"]
            print(f"Resuming from {self.path}: {len(self.runs)} runs done.")

    def done(self) -> set[Hashable]:
        """The keys of the runs already finished."""
        return {self.key(run) for run in self.runs}

    def add(self, run: dict) -> None:
        """Records a finished run and saves all of them."""
        self.runs.append(run)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps({"config": self.config, "runs": self.runs}))
        os.replace(temporary, self.path)

    def ordered(self, order: list[Hashable]) -> list[dict]:
        """The runs, sorted as their keys are in ``order``."""
        index = {key: i for i, key in enumerate(order)}
        return sorted(self.runs, key=lambda run: index[self.key(run)])

    def finish(self) -> None:
        """Removes the partial file, once the final results are written."""
        self.path.unlink(missing_ok=True)
