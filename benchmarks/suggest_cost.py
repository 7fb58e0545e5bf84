"""Time per suggestion of the model-based strategies as finished trials grow.

On Hartmann-6 (6 continuous dimensions), every tool is given the same finished
trials (uniform random points with their values, injected without asking the
strategy, see `drivers.OracleDriver.inject`) up to 10, 50, 100 and 200; there
it is asked for ``--repeats`` suggestions in a row, each timed from the ask to
the configuration (keras-tuner's ``create_trial``, which includes the oracle's
own bookkeeping and saving, or Optuna's ``study.ask``) and then finished with
its value, so the timed asks see N, N+1, ... finished trials. The median is
reported.

The tools: keras_hpo's ``BayesianOracle``, keras-tuner's
``BayesianOptimizationOracle``, Optuna's ``GPSampler`` and ``TPESampler``, all
with their defaults. With defaults, keras-tuner's oracle still samples at
random below 18 trials (3 per dimension), so its time at 10 is that of a
random draw.

Run (``pip install -e .[bench]`` for Optuna's GP sampler, which needs torch;
without torch that one tool is left out, and the report says so):
    python benchmarks/suggest_cost.py             # 10, 50, 100, 200 trials, 5 asks each
    python benchmarks/suggest_cost.py --quick     # 10 and 20 trials, 1 ask each

Writes ``benchmarks/results/suggest_cost.json``, ``suggest_cost.md`` and
``suggest_cost.png`` (or under ``--out``) with the device, the versions and the
seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from common import cpu_model  # noqa: E402
from common import device  # noqa: E402
from common import package_versions  # noqa: E402
from common import run_stamp  # noqa: E402
from common import versions  # noqa: E402
from drivers import make_driver  # noqa: E402
from drivers import missing_tools  # noqa: E402
from functions import FUNCTIONS  # noqa: E402

TOOLS = ("keras_hpo bayesian", "keras_tuner bayesian", "optuna gp", "optuna tpe")
#: The targets at the largest number of trials: ours at most this fraction of
#: keras-tuner's time, and less than Optuna GP's.
TARGET_FRACTION_OF_KERAS_TUNER = 0.1


def history(size: int, seed: int) -> list[tuple[dict, float]]:
    """Uniform random points of the problem's space, with their values."""
    problem = FUNCTIONS["hartmann6"]
    rng = np.random.default_rng(seed)
    points = []
    for row in rng.random((size, len(problem.dims))):
        values = {dim.name: float(v) for dim, v in zip(problem.dims, row, strict=True)}
        points.append((values, problem.function(values)))
    return points


def time_tool(tool: str, sizes: list[int], repeats: int, seed: int) -> dict:
    """Seconds per suggestion at each number of finished trials."""
    problem = FUNCTIONS["hartmann6"]
    driver = make_driver(tool, problem, seed, max_trials=10_000)
    feed = iter(history(max(sizes), seed))
    finished, out = 0, {}
    try:
        for size in sizes:
            while finished < size:
                driver.inject(*next(feed))
                finished += 1
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                values = driver.ask()
                times.append(time.perf_counter() - start)
                driver.tell(problem.function(values))
            out[str(size)] = {"median_s": statistics.median(times), "times_s": times}
    finally:
        driver.close()
    return out


def markdown(report: dict) -> str:
    sizes = [str(s) for s in report["sizes"]]
    lines = [
        f"Suggestion cost on hartmann6 (6-d): seconds per suggestion, median of "
        f"{report['repeats']}, by finished trials; {report['device']} "
        f"({report['cpu']}), seed {report['seed']}, {report['stamp']['date']}, "
        f"commit {report['stamp']['commit']}, load average "
        f"{report['stamp']['load_average']:.2f}",
        "",
        "| tool | " + " | ".join(sizes) + " |",
        "|---|" + "---|" * len(sizes),
    ]
    for tool, row in report["seconds"].items():
        cells = " | ".join(f"{row[s]['median_s']:.4f}" for s in sizes)
        lines.append(f"| {tool} | {cells} |")
    for tool, reason in report.get("skipped", {}).items():
        lines.append(f"\nLeft out: {tool} ({reason}).")
    t = report["targets"]
    if t:
        lines += [
            "",
            f"At {t['trials']} trials: keras_hpo / keras_tuner = "
            f"{t['ratio_to_keras_tuner']:.3f} (target <= "
            f"{TARGET_FRACTION_OF_KERAS_TUNER}), keras_hpo / optuna gp = "
            f"{t['ratio_to_optuna_gp']:.3f} (target < 1): "
            f"{'met' if t['met'] else 'NOT met'}",
        ]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    sizes = report["sizes"]
    for tool, row in report["seconds"].items():
        ax.plot(sizes, [row[str(s)]["median_s"] for s in sizes], "o-", label=tool)
    ax.set_yscale("log")
    ax.set_xlabel("finished trials")
    ax.set_ylabel("seconds per suggestion")
    ax.set_title(f"hartmann6; {report['device']}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tools", nargs="+", default=list(TOOLS))
    parser.add_argument("--quick", action="store_true", help="10, 20 trials; 1 ask")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = [10, 20], 1
    skipped = missing_tools(args.tools)
    for tool, reason in skipped.items():
        print(f"Leaving out {tool}: {reason}.", flush=True)
    seconds = {
        tool: time_tool(tool, args.sizes, args.repeats, args.seed)
        for tool in args.tools
        if tool not in skipped
    }
    largest = str(max(args.sizes))
    targets = {}
    if {"keras_hpo bayesian", "keras_tuner bayesian", "optuna gp"} <= set(seconds):
        ours = seconds["keras_hpo bayesian"][largest]["median_s"]
        to_kt = ours / seconds["keras_tuner bayesian"][largest]["median_s"]
        to_gp = ours / seconds["optuna gp"][largest]["median_s"]
        targets = {
            "trials": int(largest),
            "ratio_to_keras_tuner": to_kt,
            "ratio_to_optuna_gp": to_gp,
            "met": to_kt <= TARGET_FRACTION_OF_KERAS_TUNER and to_gp < 1,
        }
    report = {
        "benchmark": "suggest_cost",
        "stamp": run_stamp(),
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "cpu": cpu_model(),
        "versions": {
            **versions(),
            **package_versions("optuna", "torch", "numpy", "scipy", "scikit-learn"),
        },
        "seed": args.seed,
        "sizes": args.sizes,
        "repeats": args.repeats,
        "seconds": seconds,
        "skipped": skipped,
        "targets": targets,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "suggest_cost.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (out / "suggest_cost.md").write_text(text)
    if not args.no_plot:
        plot(report, out / "suggest_cost.png")
    print(text)


if __name__ == "__main__":
    main()
