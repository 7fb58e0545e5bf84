"""Resident memory over a long search, keras_hpo against keras-tuner.

Each tool (keras_hpo, keras_hpo with ``isolate_trials=True`` and
keras-tuner) runs the same small random search on digits (a HyperMLP, one epoch
per trial, no early stopping) for ``--trials`` trials in a fresh process of
its own, and records after every trial:

* the process's resident memory (``VmRSS``) when the trial has ended;
* the peak, during the trial, of the memory of the whole process tree (the
  search's process plus every live child: with ``isolate_trials=True`` each
  trial trains in a child process, and the user's machine pays for both),
  sampled every 0.1 s as the sum of the processes' proportional set sizes
  (``Pss``: shared pages divided among the processes sharing them, so
  libraries mapped by parent and child count once);
* the time spent outside ``fit``.

Target (issue 6): keras_hpo's resident memory grows by less than 100 MB from
trial 10 to trial 100 (keras-tuner's growth printed beside it).

Run:
    python benchmarks/memory.py              # 100 trials each
    python benchmarks/memory.py --quick      # 4 trials each

Writes ``benchmarks/results/memory.json``, ``memory.md`` and ``memory.png``
(or under ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).parent
#: Seconds between two samples of the process tree's memory.
INTERVAL = 0.1


def rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc/self/status)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmRSS line")


def descendants(pid: int) -> list[int]:
    """The live child processes of ``pid``, theirs, and so on (Linux /proc)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children = [int(c) for c in handle.read().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *descendants(child)]
    return found


def pss_mb(pid: int) -> float:
    """A process's proportional set size in MB; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class TreeSampler(threading.Thread):
    """Samples the memory of this process and its descendants, keeping the peak.

    Args:
        interval: Seconds between samples.
    """

    def __init__(self, interval: float = INTERVAL) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self._peak = 0.0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    def sample(self) -> float:
        """The process tree's memory now (MB, summed proportional set sizes)."""
        pids = [os.getpid(), *descendants(os.getpid())]
        total = sum(pss_mb(pid) for pid in pids)
        with self._lock:
            self._peak = max(self._peak, total)
        return total

    def run(self) -> None:
        """Samples until `stop`."""
        while not self._stop_event.wait(self.interval):
            self.sample()

    def take_peak(self) -> float:
        """The peak since the last call (a sample taken now included)."""
        self.sample()
        with self._lock:
            peak, self._peak = self._peak, 0.0
        return peak

    def stop(self) -> None:
        """Ends the sampling."""
        self._stop_event.set()
        self.join()


def run_tool(tool: str, trials: int, directory: str) -> dict:
    """Runs the search with ``tool`` in this process; returns its records."""
    import keras
    import keras_tuner
    from keras_hpo.callbacks import SearchCallback

    import keras_hpo
    from keras_hpo.datasets import load_dataset

    data = load_dataset("digits")
    hypermodel = keras_hpo.HyperMLP(
        num_classes=data.num_classes, input_shape=data.x_train.shape[1:]
    )
    rss, outside, tree_peak = [], [], []
    state = {"fit": 0.0, "start": time.perf_counter()}
    sampler = TreeSampler()

    class FitClock(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            state["fit_start"] = time.perf_counter()

        def on_train_end(self, logs=None):
            state["fit"] += time.perf_counter() - state["fit_start"]

    def record() -> None:
        now = time.perf_counter()
        outside.append(now - state["start"] - state["fit"])
        state["start"], state["fit"] = now, 0.0
        rss.append(rss_mb())
        tree_peak.append(sampler.take_peak())

    if tool in ("keras_hpo", "keras_hpo_isolated"):

        class Memory(SearchCallback):
            def on_trial_end(self, search, result):
                record()

        tuner = keras_hpo.RandomSearch(
            hypermodel,
            max_trials=trials,
            seed=1,
            directory=directory,
            early_stopping=None,
            search_callbacks=[Memory()],
            verbose=0,
            refit=False,  # the trials' memory; keras-tuner has no refit
            isolate_trials=tool == "keras_hpo_isolated",
        )
    else:

        class Tuner(keras_tuner.RandomSearch):
            def on_trial_end(self, trial):
                super().on_trial_end(trial)
                record()

        tuner = Tuner(
            hypermodel,
            objective="val_accuracy",
            max_trials=trials,
            seed=1,
            directory=directory,
        )
    sampler.take_peak()  # the peak of the set-up is not a trial's
    sampler.start()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=1,
        verbose=0,
        # A trial's own process cannot report to this clock.
        callbacks=[] if tool == "keras_hpo_isolated" else [FitClock()],
    )
    sampler.stop()
    if tool == "keras_hpo_isolated":
        outside = [None] * len(outside)
    return {
        "rss_mb": rss,
        "tree_peak_pss_mb": tree_peak,
        "seconds_outside_fit": outside,
    }


def growth(rss: list[float], start: int) -> float:
    """MB gained from trial ``start`` (1-based) to the last trial."""
    return rss[-1] - rss[start - 1]


def trend(values: list[float], start: int) -> float:
    """MB per trial from trial ``start`` on: the least-squares slope.

    Less sensitive than `growth` to where the last trial falls between two
    of the periodic full garbage collections.
    """
    ys = values[start - 1 :]
    n = len(ys)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(ys) / n
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(ys))
    return covariance / sum((x - mean_x) ** 2 for x in range(n))


def table(report: dict) -> str:
    """The report as Markdown."""
    start, trials, runs = report["from_trial"], report["trials"], report["runs"]
    stamp = report["stamp"]
    lines = [
        f"Memory: random search on digits, {trials} trials of 1 epoch, one "
        f"process per tool; {stamp['machine']}, {stamp['date']}, commit "
        f"{stamp['commit']}, load average {stamp['load_average']:.2f}",
        "",
        f"| tool | search process RSS, trial {start} / {trials} (MB) | growth | "
        "trend, MB per trial | "
        f"peak of process tree (Pss), trial {start} / {trials} (MB) | growth | "
        f"s outside fit, trial {start} / {trials} |",
        "|---|---|---|---|---|---|---|",
    ]
    for tool, run in runs.items():
        rss, peak = run["rss_mb"], run["tree_peak_pss_mb"]
        outside = run["seconds_outside_fit"]
        seconds = (
            "-"
            if outside[-1] is None
            else f"{outside[start - 1]:.2f} / {outside[-1]:.2f}"
        )
        lines.append(
            f"| {tool} | {rss[start - 1]:.0f} / {rss[-1]:.0f} | "
            f"{report['growth_mb'][tool]:+.0f} | {trend(rss, start):+.2f} | "
            f"{peak[start - 1]:.0f} / "
            f"{peak[-1]:.0f} | {report['tree_peak_growth_mb'][tool]:+.0f} | "
            f"{seconds} |"
        )
    growth_ours = report["growth_mb"]["keras_hpo"]
    verdict = "met" if growth_ours < 100 else "MISSED"
    lines += [
        "",
        f"Target: keras_hpo's resident memory grows by less than 100 MB from "
        f"trial {start} to {trials}: {growth_ours:+.0f} MB, {verdict} (the "
        "RSS swings by tens of MB between the full garbage collections of "
        "every 10th trial; the trend is the least-squares slope). With "
        "isolate_trials=True the trials train in child processes: the search "
        "process alone stays small, and the process tree's peak is what the "
        "machine pays.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="4 trials each")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--tool", help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.quick:
        args.trials = 4
    if args.tool:
        with tempfile.TemporaryDirectory() as directory:
            print(json.dumps(run_tool(args.tool, args.trials, directory)))
        return

    from common import run_stamp
    from common import versions
    from common import write_results

    runs = {}
    for tool in ("keras_hpo", "keras_hpo_isolated", "keras_tuner"):
        done = subprocess.run(
            [sys.executable, __file__, "--tool", tool, "--trials", str(args.trials)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs[tool] = json.loads(done.stdout.strip().splitlines()[-1])
    start = 10 if args.trials >= 20 else max(1, args.trials // 2)
    report = {
        "benchmark": "memory",
        "stamp": run_stamp(),
        "versions": versions(),
        "trials": args.trials,
        "from_trial": start,
        "sample_interval_s": INTERVAL,
        "runs": runs,
        "growth_mb": {tool: growth(run["rss_mb"], start) for tool, run in runs.items()},
        "tree_peak_growth_mb": {
            tool: growth(run["tree_peak_pss_mb"], start) for tool, run in runs.items()
        },
    }
    text = table(report)
    out = write_results(args.out, "memory", report, text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 4))
        for tool, run in runs.items():
            peak = run["tree_peak_pss_mb"]
            axis.plot(range(1, len(peak) + 1), peak, label=tool)
        axis.set_xlabel("trial")
        axis.set_ylabel("peak memory of the process tree (MB, Pss)")
        axis.legend()
        figure.tight_layout()
        figure.savefig(out / "memory.png", dpi=100)
    except ImportError:  # matplotlib is a benchmark extra
        pass
    print(text)


if __name__ == "__main__":
    main()
