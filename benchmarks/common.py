"""What every benchmark script shares: the device, versions and a timed search."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
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
from keras_hpo.callbacks import DeviceProbe

import keras_hpo

__all__ = [
    "PartialRuns",
    "bytes_written",
    "cpu_model",
    "device",
    "package_versions",
    "provenance_cell",
    "provenance_note",
    "run_stamp",
    "run_tasks",
    "spread",
    "time_callbacks",
    "time_hooks",
    "timed_search",
    "versions",
    "write_results",
]


def device() -> str:
    """The GPU's name, or the CPU and its core count (asked of Keras' backend)."""
    name = DeviceProbe().name()
    if name.startswith("GPU: "):
        return name.removeprefix("GPU: ")
    return f"CPU: {cpu_model()} ({os.cpu_count()} cores)"


def _git(*args: str) -> str:
    """The output of ``git ARGS`` in this repository."""
    return subprocess.run(
        ["git", *args],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def commit() -> str:
    """The checked-out commit (12 hex digits), with ``+dirty`` for local edits.

    Files under ``benchmarks/results/`` are the benchmarks' own outputs and
    do not count as edits. ``unknown`` outside a git checkout.
    """
    try:
        head = _git("rev-parse", "--short=12", "HEAD").strip()
        status = _git(
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":(exclude)benchmarks/results",
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if status.strip() else "")


def run_stamp() -> dict[str, str]:
    """When, at which commit, on which machine and under what load a run ended.

    Every run record of every benchmark carries one, so a report that mixes
    runs from several days or commits can say so (`provenance_note`).
    """
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "commit": commit(),
        "machine": device(),
        # Other work on the machine slows wall times: the 1-minute load
        # average when the run ended (the run itself included).
        "load_average": os.getloadavg()[0],
    }


def provenance_note(runs: Iterable[dict]) -> str:
    """One line saying which dates, commits and machines made ``runs``.

    It says plainly when the runs come from more than one commit or machine.
    """
    stamps = [run.get("stamp") or {} for run in runs]
    commits = sorted({s.get("commit", "unrecorded") for s in stamps})
    machines = sorted({s.get("machine", "unrecorded") for s in stamps})
    days = sorted({s.get("date", "unrecorded")[:10] for s in stamps})
    span = days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    loads = [s["load_average"] for s in stamps if "load_average" in s]
    load = f", load average {min(loads):.2f} to {max(loads):.2f}" if loads else ""
    mixed = len(commits) > 1 or len(machines) > 1
    head = "MIXED: runs from " if mixed else "All runs from "
    return (
        f"{head}{len(commits)} commit(s) ({', '.join(commits)}) on "
        f"{len(machines)} machine(s) ({'; '.join(machines)}), {span}{load}."
    )


def provenance_cell(runs: Iterable[dict]) -> str:
    """The dates and commits of ``runs``, for a table's cell (one per commit)."""
    seen: dict[str, set[str]] = {}
    for run in runs:
        stamp = run.get("stamp") or {}
        commit = stamp.get("commit", "unrecorded")
        seen.setdefault(commit, set()).add(stamp.get("date", "unrecorded")[:10])
    return "; ".join(
        f"{' & '.join(sorted(days))} {commit}" for commit, days in sorted(seen.items())
    )


def spread(values: Iterable[float]) -> dict[str, float]:
    """Median, min, max and count of ``values``."""
    values = list(values)
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


#: The hooks of a Keras callback that `time_callbacks` times.
KERAS_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


def time_hooks(
    obj: object, names: Iterable[str], clock: dict[str, float], key: str
) -> None:
    """Wraps ``obj``'s methods ``names`` so their seconds add up in ``clock[key]``.

    Only ``obj`` itself changes (instance attributes shadow its class's
    methods); what the methods do and return is unchanged.
    """
    clock.setdefault(key, 0.0)
    for name in names:
        method = getattr(obj, name)

        def timed(*args, _method=method, **kwargs):
            start = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                clock[key] += time.perf_counter() - start

        setattr(obj, name, timed)


def time_callbacks(callbacks: Iterable[Any], clock: dict[str, float]) -> None:
    """Times every hook each Keras callback implements, per callback class.

    Hooks left as `keras.callbacks.Callback` defines them (which do nothing)
    are not wrapped, so Keras still skips them as before.
    """
    base = keras.callbacks.Callback
    for callback in callbacks:
        own = [
            name
            for name in KERAS_HOOKS
            if getattr(type(callback), name, None) is not getattr(base, name)
        ]
        time_hooks(callback, own, clock, type(callback).__name__)


def versions() -> dict[str, str]:
    """Versions of keras_hpo, of what it is compared with, and the backend's."""
    backend = keras.backend.backend()
    found = {
        "keras_hpo": keras_hpo.__version__,
        "keras": keras.__version__,
        "keras_tuner": keras_tuner.__version__,
        "backend": backend,
    }
    for name in ("tensorflow", *({"jax", "torch"} & {backend})):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


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
