"""Resident memory over a long search, keras_hpo against keras-tuner.

Each tool (keras_hpo, keras_hpo with ``isolate_trials=True`` and
keras-tuner) runs the same small random search on digits (a HyperMLP, one epoch
per trial, no early stopping) for ``--trials`` trials in a fresh process of
its own, and records the process's resident memory (``VmRSS``) and the time
spent outside ``fit`` after every trial.

Target (issue 6): keras_hpo's resident memory grows by less than 100 MB from
trial 10 to trial 100 (keras-tuner's growth printed beside it).

Run:
    python benchmarks/memory.py              # 100 trials each
    python benchmarks/memory.py --quick      # 6 trials each

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
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).parent


def rss_mb() -> float:
    """This process's resident memory in MB (Linux /proc/self/status)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmRSS line")


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
    rss, outside = [], []
    state = {"fit": 0.0, "start": time.perf_counter()}

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

    if tool in ("keras_hpo", "keras_hpo_isolated"):

        class Memory(SearchCallback):
            def on_trial_end(self, tuner, result):
                record()

        tuner = keras_hpo.RandomSearch(
            hypermodel,
            max_trials=trials,
            seed=1,
            directory=directory,
            early_stopping=None,
            search_callbacks=[Memory()],
            verbose=0,
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
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=1,
        verbose=0,
        # A trial's own process cannot report to this clock.
        callbacks=[] if tool == "keras_hpo_isolated" else [FitClock()],
    )
    if tool == "keras_hpo_isolated":
        outside = [None] * len(outside)
    return {"rss_mb": rss, "seconds_outside_fit": outside}


def growth(rss: list[float], start: int) -> float:
    """MB gained from trial ``start`` (1-based) to the last trial."""
    return rss[-1] - rss[start - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="6 trials each")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--tool", help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.quick:
        args.trials = 6
    if args.tool:
        with tempfile.TemporaryDirectory() as directory:
            print(json.dumps(run_tool(args.tool, args.trials, directory)))
        return

    from common import device
    from common import versions

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
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "versions": versions(),
        "trials": args.trials,
        "from_trial": start,
        "runs": runs,
        "growth_mb": {tool: growth(run["rss_mb"], start) for tool, run in runs.items()},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"Memory: random search on digits, {args.trials} trials of 1 epoch, one "
        f"process per tool; {report['device']}, {report['date']}",
        "",
        f"| tool | RSS at trial {start} (MB) | RSS at trial {args.trials} (MB) | "
        f"growth (MB) | s outside fit, trial {start} | s outside fit, last |",
        "|---|---|---|---|---|---|",
    ]
    for tool, run in runs.items():
        rss, outside = run["rss_mb"], run["seconds_outside_fit"]
        first, last = (
            ("-", "-")
            if outside[-1] is None
            else (f"{outside[start - 1]:.2f}", f"{outside[-1]:.2f}")
        )
        lines.append(
            f"| {tool} | {rss[start - 1]:.0f} | {rss[-1]:.0f} | "
            f"{report['growth_mb'][tool]:+.0f} | {first} | {last} |"
        )
    lines += [
        "",
        f"From trial {start} to {args.trials} (target < 100 MB for keras_hpo): "
        f"keras_hpo {report['growth_mb']['keras_hpo']:+.0f} MB, with "
        f"isolate_trials=True {report['growth_mb']['keras_hpo_isolated']:+.0f} "
        f"MB, keras-tuner {report['growth_mb']['keras_tuner']:+.0f} MB.",
    ]
    (out / "memory.md").write_text("\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 4))
        for tool, run in runs.items():
            axis.plot(range(1, len(run["rss_mb"]) + 1), run["rss_mb"], label=tool)
        axis.set_xlabel("trial")
        axis.set_ylabel("resident memory (MB)")
        axis.legend()
        figure.tight_layout()
        figure.savefig(out / "memory.png", dpi=100)
    except ImportError:  # matplotlib is a benchmark extra
        pass
    print("\n".join(lines))


if __name__ == "__main__":
    main()
