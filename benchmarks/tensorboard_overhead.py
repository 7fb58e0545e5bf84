"""What TensorBoard logging costs a search: the whole stack, A/B.

The same seeded keras_hpo random search on digits (the models of
``overhead.py``) runs with TensorBoard logging off (``tensorboard_dir=None``)
and on (the default), alternately, ``--repeats`` times each: in pairs whose
order alternates (off-on, on-off, ...) so a drift of the machine's speed hits
both arms alike. "On" is everything a trial gets for TensorBoard: the
`TensorBoardLogger` search callback (the HParams experiment, each trial's
device text, session and results, the search's scores) and the per-epoch
`EpochTensorBoard` Keras callback (every metric, the epoch time, samples per
second and the learning rate, flushed each epoch).

Two numbers:

* the A/B cost: each pair's wall-time ratio (on / off), their mean minus 1
  with a 95% confidence interval (Student's t over the pairs);
* the time spent inside those callbacks (timed around every hook they
  implement), per epoch and as a share of the epoch time: the same cost
  without the noise of separate runs.

Target (issue 4): less than 5% of training wall time per epoch.

Run:
    python benchmarks/tensorboard_overhead.py            # 10 pairs, 6 trials x 5 epochs
    python benchmarks/tensorboard_overhead.py --quick    # 2 pairs, 2 trials x 2 epochs

Writes ``benchmarks/results/tensorboard_overhead.json`` and ``.md`` (or under
``--out``).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import run_stamp  # noqa: E402
from common import time_callbacks  # noqa: E402
from common import time_hooks  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from keras_hpo.callbacks import TensorBoardLogger  # noqa: E402
from overhead import hypermodel  # noqa: E402
from overhead import run_loop  # noqa: E402
from scipy import stats  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_digits  # noqa: E402

#: Target: the cost as a share of the training time per epoch.
TARGET = 0.05

SEARCH_HOOKS = ("on_search_begin", "on_trial_begin", "on_trial_end", "on_search_end")


def timed_logger(tuner, clock: dict[str, float]) -> None:
    """Times every hook of the tuner's `TensorBoardLogger` and of its callbacks."""
    for logger in tuner.search_callbacks:
        if not isinstance(logger, TensorBoardLogger):
            continue
        time_hooks(logger, SEARCH_HOOKS, clock, "TensorBoardLogger")
        make = logger.trial_callbacks

        def trial_callbacks(*args, _make=make, **kwargs):
            callbacks = _make(*args, **kwargs)
            time_callbacks(callbacks, clock)
            return callbacks

        logger.trial_callbacks = trial_callbacks


def run(data, logging: bool, trials: int, epochs: int, seed: int) -> dict:
    """One search; its wall time, epochs and the seconds inside the logging."""
    model = hypermodel()
    clock: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        tuner = keras_hpo.RandomSearch(
            model,
            max_trials=trials,
            seed=seed,
            directory=directory,
            verbose=0,
            refit=False,  # logging's cost in the trials only
            **({} if logging else {"tensorboard_dir": None}),
        )
        timed_logger(tuner, clock)
        wall, written = timed_search(tuner, data, epochs)
    return {
        "logging": logging,
        "wall_s": wall,
        "fit_s": model.fit_seconds,
        "epochs": model.epochs,
        "bytes_written": written,
        "inside_s": clock,
    }


def mean_interval(values: list[float], level: float = 0.95) -> dict[str, float]:
    """Mean of ``values`` with a Student's t confidence interval."""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return {"mean": mean, "low": math.nan, "high": math.nan, "n": len(values)}
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * (
        statistics.stdev(values) / math.sqrt(len(values))
    )
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": len(values)}


def summarize(pairs: list[dict]) -> dict:
    """The A/B cost with its interval, and the time inside the logging."""
    costs = [p["on"]["wall_s"] / p["off"]["wall_s"] - 1 for p in pairs]
    epoch_s = [p["off"]["fit_s"] / p["off"]["epochs"] for p in pairs]
    inside = [sum(p["on"]["inside_s"].values()) / p["on"]["epochs"] for p in pairs]
    names = sorted({name for p in pairs for name in p["on"]["inside_s"]})
    share = statistics.median(inside) / statistics.median(epoch_s)
    return {
        "ab_cost": mean_interval(costs),
        "ab_cost_median": statistics.median(costs),
        "seconds_per_epoch_off": statistics.median(epoch_s),
        "inside_ms_per_epoch": {
            name: statistics.median(
                1000 * p["on"]["inside_s"].get(name, 0.0) / p["on"]["epochs"]
                for p in pairs
            )
            for name in names
        },
        "inside_share": share,
        "bytes_per_trial": {
            arm: statistics.median(p[arm]["bytes_written"] for p in pairs)
            / pairs[0]["trials"]
            for arm in ("off", "on")
        },
        "target": {"share": TARGET, "met": share < TARGET},
    }


def table(report: dict) -> str:
    s, stamp = report["summary"], report["stamp"]
    ab = s["ab_cost"]
    lines = [
        f"TensorBoard logging, whole stack: {report['repeats']} A/B pairs of a "
        f"{report['trials']}-trial x {report['epochs']}-epoch random search on "
        f"digits; {stamp['machine']}, {stamp['date']}, commit {stamp['commit']}, "
        f"load average {stamp['load_average']:.2f}",
        "",
        "| | value |",
        "|---|---|",
        f"| search wall time, logging on / off - 1: mean [95% CI] | "
        f"{100 * ab['mean']:+.1f}% [{100 * ab['low']:+.1f}%, "
        f"{100 * ab['high']:+.1f}%] |",
        f"| the same, median of the pairs | {100 * s['ab_cost_median']:+.1f}% |",
        f"| training time per epoch, logging off (median) | "
        f"{1000 * s['seconds_per_epoch_off']:.0f} ms |",
    ]
    for name, ms in s["inside_ms_per_epoch"].items():
        lines.append(f"| inside {name}, per epoch (median) | {ms:.2f} ms |")
    lines += [
        f"| inside the logging, share of an epoch | {100 * s['inside_share']:.2f}% |",
        f"| bytes written per trial, off / on | "
        f"{s['bytes_per_trial']['off'] / 1000:.0f} kB / "
        f"{s['bytes_per_trial']['on'] / 1000:.0f} kB |",
        "",
        f"Target: < {100 * TARGET:.0f}% of the training time per epoch: "
        f"{100 * s['inside_share']:.2f}% inside the logging, "
        f"{'met' if s['target']['met'] else 'MISSED'}. The A/B interval says "
        "what separate runs can resolve on this machine.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="A/B pairs")
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="2 pairs of 2 trials x 2 epochs"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.trials, args.epochs = 2, 2, 2
    data = load_digits(seed=0)
    # Warm-up, not counted: the first model and the first search of a
    # process pay for initialising TensorFlow and the search's code.
    run_loop([{}], data, 1)
    run(data, True, 1, 1, args.seed)
    pairs = []
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        pair: dict = {"trials": args.trials}
        for logging in order:
            pair["on" if logging else "off"] = run(
                data, logging, args.trials, args.epochs, args.seed
            )
        pairs.append(pair)
        print(
            f"pair {repeat + 1}/{args.repeats}: off {pair['off']['wall_s']:.2f} s, "
            f"on {pair['on']['wall_s']:.2f} s"
        )
    report = {
        "benchmark": "tensorboard_overhead",
        "stamp": run_stamp(),
        "versions": versions(),
        "repeats": args.repeats,
        "trials": args.trials,
        "epochs": args.epochs,
        "seed": args.seed,
        "pairs": pairs,
    }
    report["summary"] = summarize(pairs)
    text = table(report)
    write_results(args.out, "tensorboard_overhead", report, text)
    print(text)


if __name__ == "__main__":
    main()
