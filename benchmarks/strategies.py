"""Sample efficiency of the strategies on test functions with known optima.

Each strategy is driven directly, with no training (see ``drivers.py``), on
Branin (2-d), Hartmann-6 and a mixed space with a log-scale float, an integer,
a linear float and a categorical (see ``functions.py`` for the functions and
their optima). The score is the simple regret: the best value found so far
minus the known minimum, after 10, 25, 50 (and 100) trials, as the median and
quartiles over seeds 0, 1, ... (the seed of each tool).

The tools: keras_hpo's grid, random and Bayesian oracles; keras-tuner's
``RandomSearchOracle`` and ``BayesianOptimizationOracle``; Optuna's
``TPESampler`` and ``GPSampler`` (defaults, ask/tell on the same space).
A grid needs no seed but a budget: for ``n`` trials it is the largest grid of
at most ``n`` points that refines one number dimension at a time, with the
centres of equal cells as values (see `functions.grid_space`), searched in
full by `GridOracle`; so its regret after ``n`` trials comes from a separate
grid per ``n`` and has no spread.

Run (``pip install -e .[bench]`` for Optuna's GP sampler, which needs torch;
without torch that one tool is left out, and the report says so):
    python benchmarks/strategies.py                # 5 seeds x 100 trials
    python benchmarks/strategies.py --jobs 2       # the same on 2 processes
    python benchmarks/strategies.py --quick        # 2 seeds x 10 trials
    python benchmarks/strategies.py --problems branin --tools "optuna gp"

Every finished search is saved at once in ``strategies.partial.json``; after
an interruption, the same command with ``--resume`` runs only the rest.
Writes ``benchmarks/results/strategies.json``, ``strategies.md`` and
``strategies.png`` (best-so-far regret against trials, median and quartile
band over seeds; or under ``--out``) with the device, the versions and the
seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from common import PartialRuns  # noqa: E402
from common import cpu_model  # noqa: E402
from common import device  # noqa: E402
from common import package_versions  # noqa: E402
from common import provenance_cell  # noqa: E402
from common import provenance_note  # noqa: E402
from common import run_stamp  # noqa: E402
from common import run_tasks  # noqa: E402
from common import versions  # noqa: E402
from drivers import TOOLS  # noqa: E402
from drivers import OracleDriver  # noqa: E402
from drivers import make_driver  # noqa: E402
from drivers import missing_tools  # noqa: E402
from functions import FUNCTIONS  # noqa: E402
from functions import grid_space  # noqa: E402

from keras_hpo.oracles import GridOracle  # noqa: E402

CHECKPOINTS = (10, 25, 50, 100)
#: The targets: our Bayesian regret after this many trials ...
TARGET_TRIALS = 50
#: ... at most this fraction of keras-tuner's, and no more than Optuna GP's.
TARGET_FRACTION_OF_KERAS_TUNER = 0.5


def run_one(problem_name: str, tool: str, seed: int, trials: int) -> dict:
    """One search; the best-so-far regret after each trial."""
    problem = FUNCTIONS[problem_name]
    driver = make_driver(tool, problem, seed, trials)
    best, curve, asking = np.inf, [], 0.0
    try:
        for _ in range(trials):
            start = time.perf_counter()
            values = driver.ask()
            asking += time.perf_counter() - start
            if values is None:
                break
            value = problem.function(values)
            driver.tell(value)
            best = min(best, value)
            curve.append(problem.regret(best))
    finally:
        driver.close()
    return {
        "problem": problem_name,
        "tool": tool,
        "seed": seed,
        "trials": trials,
        "regret": curve,
        "seconds_per_suggestion": asking / max(len(curve), 1),
        "stamp": run_stamp(),
    }


def run_grid(problem_name: str, budget: int) -> dict:
    """Our grid oracle on the grid that fits ``budget`` trials."""
    problem = FUNCTIONS[problem_name]
    oracle = GridOracle(
        objective=keras_tuner.Objective("score", "min"),
        max_trials=budget,
        hyperparameters=grid_space(problem, budget),
    )
    driver = OracleDriver(oracle)
    best, count = np.inf, 0
    try:
        while (values := driver.ask()) is not None:
            value = problem.function(values)
            driver.tell(value)
            best, count = min(best, value), count + 1
    finally:
        driver.close()
    return {
        "problem": problem_name,
        "budget": budget,
        "trials": count,
        "regret": problem.regret(best),
        "stamp": run_stamp(),
    }


def summarise(values: list[float]) -> dict:
    """Median, quartiles and range."""
    q = np.quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0])
    return dict(zip(("min", "q25", "median", "q75", "max"), map(float, q), strict=True))


def summary_table(runs: list[dict], grids: list[dict], checkpoints) -> dict:
    """Summaries by problem, tool and checkpoint (a str) over seeds."""
    table: dict = {}
    for run in runs:
        cell = table.setdefault(run["problem"], {}).setdefault(run["tool"], {})
        for n in checkpoints:
            if len(run["regret"]) >= n:
                cell.setdefault(str(n), []).append(run["regret"][n - 1])
    for grid in grids:
        cell = table.setdefault(grid["problem"], {}).setdefault("keras_hpo grid", {})
        cell[str(grid["budget"])] = [grid["regret"]]
    return {
        problem: {
            tool: {n: summarise(v) for n, v in cells.items()}
            for tool, cells in tools.items()
        }
        for problem, tools in table.items()
    }


def check_targets(summary: dict) -> list[dict]:
    """The issue's regret targets, per problem, where all three tools ran."""
    out = []
    key = str(TARGET_TRIALS)
    for problem, tools in summary.items():
        try:
            ours = tools["keras_hpo bayesian"][key]["median"]
            theirs = tools["keras_tuner bayesian"][key]["median"]
            gp = tools["optuna gp"][key]["median"]
        except KeyError:
            continue
        out.append(
            {
                "problem": problem,
                "keras_hpo_bayesian": ours,
                "keras_tuner_bayesian": theirs,
                "optuna_gp": gp,
                "ratio_to_keras_tuner": ours / theirs if theirs else float("inf"),
                "met": ours <= TARGET_FRACTION_OF_KERAS_TUNER * theirs and ours <= gp,
            }
        )
    return out


def markdown(report: dict) -> str:
    checkpoints = [str(n) for n in report["checkpoints"]]
    lines = [
        f"Strategies: simple regret (best found - known minimum), median "
        f"[25%, 75%] over seeds {report['seeds']}; written "
        f"{report['stamp']['date']} at commit {report['stamp']['commit']} on "
        f"{report['stamp']['machine']} ({report['runs_made_now']} of "
        f"{len(report['runs']) + len(report['grids'])} runs made by that "
        "invocation)",
        "",
        provenance_note(report["runs"] + report["grids"]),
        "",
    ]
    for problem, tools in report["summary"].items():
        lines += [
            f"**{problem}**",
            "",
            "| tool | "
            + " | ".join(f"{n} trials" for n in checkpoints)
            + " | s/ask | runs made (date, commit) |",
            "|---|" + "---|" * (len(checkpoints) + 2),
        ]
        for tool in TOOLS:
            if tool not in tools:
                continue
            cells = []
            for n in checkpoints:
                s = tools[tool].get(n)
                if s is None:
                    cells.append("-")
                elif tool == "keras_hpo grid":
                    cells.append(f"{s['median']:.3g}")
                else:
                    cells.append(f"{s['median']:.3g} [{s['q25']:.2g}, {s['q75']:.2g}]")
            speed = report["seconds_per_suggestion"].get(problem, {}).get(tool)
            speed = "-" if speed is None else f"{speed:.3f}"
            made = provenance_cell(
                r
                for r in report["runs"] + report["grids"]
                if r["problem"] == problem and r.get("tool", "keras_hpo grid") == tool
            )
            lines.append(f"| {tool} | " + " | ".join(cells) + f" | {speed} | {made} |")
        lines.append("")
    for tool, reason in report.get("skipped", {}).items():
        lines += [f"Left out: {tool} ({reason}).", ""]
    if report["targets"]:
        lines += [
            f"Targets after {TARGET_TRIALS} trials (median regret): keras_hpo "
            f"bayesian <= {TARGET_FRACTION_OF_KERAS_TUNER} x keras_tuner bayesian "
            "and <= optuna gp",
            "",
            "| problem | keras_hpo bayesian | keras_tuner bayesian | optuna gp | "
            "ours / keras-tuner | met |",
            "|---|---|---|---|---|---|",
        ]
        for t in report["targets"]:
            lines.append(
                f"| {t['problem']} | {t['keras_hpo_bayesian']:.3g} | "
                f"{t['keras_tuner_bayesian']:.3g} | {t['optuna_gp']:.3g} | "
                f"{t['ratio_to_keras_tuner']:.3f} | {'yes' if t['met'] else 'NO'} |"
            )
    return "\n".join(lines) + "\n"


def plot(report: dict, runs: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    problems = list(report["summary"])
    fig, axes = plt.subplots(1, len(problems), figsize=(5.2 * len(problems), 4.2))
    axes = np.atleast_1d(axes)
    colours = dict(zip(TOOLS, plt.get_cmap("tab10").colors, strict=False))
    floor = 1e-6
    for ax, problem in zip(axes, problems, strict=True):
        for tool in TOOLS:
            curves = [
                r["regret"]
                for r in runs
                if r["problem"] == problem and r["tool"] == tool
            ]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            data = np.maximum(np.array([c[:length] for c in curves]), floor)
            trials = np.arange(1, length + 1)
            q25, median, q75 = np.quantile(data, [0.25, 0.5, 0.75], axis=0)
            ax.plot(trials, median, label=tool, color=colours[tool])
            ax.fill_between(trials, q25, q75, color=colours[tool], alpha=0.15)
        grid = report["summary"][problem].get("keras_hpo grid", {})
        if grid:
            budgets = sorted(grid, key=int)
            ax.plot(
                [int(b) for b in budgets],
                [max(grid[b]["median"], floor) for b in budgets],
                "s--",
                color=colours["keras_hpo grid"],
                label="keras_hpo grid",
            )
        ax.set_yscale("log")
        ax.set_title(problem)
        ax.set_xlabel("trials")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"simple regret (best so far; floor {floor:g})")
    axes[-1].legend(fontsize=8)
    fig.suptitle(
        f"Median and quartiles over {len(report['seeds'])} seeds; {report['device']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--problems", nargs="+", default=list(FUNCTIONS))
    parser.add_argument("--tools", nargs="+", default=list(TOOLS))
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--quick", action="store_true", help="2 seeds x 10 trials")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on from <out>/strategies.partial.json after an interruption",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.trials = 2, 10
    skipped = missing_tools(args.tools)
    for tool, reason in skipped.items():
        print(f"Leaving out {tool}: {reason}.", flush=True)
    args.tools = [t for t in args.tools if t not in skipped]
    checkpoints = [n for n in CHECKPOINTS if n <= args.trials]
    seeds = list(range(args.seeds))
    tasks = [
        (problem, tool, seed, args.trials)
        for tool in args.tools
        if tool != "keras_hpo grid"
        for problem in args.problems
        for seed in seeds
    ]
    # The slowest first, so that the processes finish together.
    slow = ("optuna gp", "keras_tuner bayesian", "keras_hpo bayesian")
    tasks.sort(key=lambda t: slow.index(t[1]) if t[1] in slow else len(slow))
    # Each finished search is saved at once, so an interrupted run goes on
    # with --resume (same options) from where it stopped.
    partial = PartialRuns(
        args.out,
        "strategies",
        {"tasks": tasks},
        key=lambda run: (run["problem"], run["tool"], run["seed"], run["trials"]),
        resume=args.resume,
    )
    finished = partial.done()
    todo = [t for t in tasks if t not in finished]
    start = time.perf_counter()
    for run in run_tasks(run_one, todo, args.jobs):
        partial.add(run)
        print(
            f"{run['problem']} {run['tool']} seed {run['seed']}: regret "
            f"{run['regret'][-1]:.3g} after {len(run['regret'])} trials "
            f"(total {time.perf_counter() - start:.0f}s)",
            flush=True,
        )
    runs = partial.ordered(tasks)
    grids = []
    if "keras_hpo grid" in args.tools:
        grids = [run_grid(p, n) for p in args.problems for n in checkpoints]
    summary = summary_table(runs, grids, checkpoints)
    speed: dict = {}
    for run in runs:
        speed.setdefault(run["problem"], {}).setdefault(run["tool"], []).append(
            run["seconds_per_suggestion"]
        )
    report = {
        "benchmark": "strategies",
        "stamp": run_stamp(),
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "cpu": cpu_model(),
        "versions": {
            **versions(),
            **package_versions("optuna", "torch", "numpy", "scipy", "scikit-learn"),
        },
        "runs_made_now": len(todo) + len(grids),
        "seeds": seeds,
        "trials": args.trials,
        "checkpoints": checkpoints,
        "jobs": args.jobs,
        "skipped": skipped,
        "wall_s_of_this_invocation": time.perf_counter() - start,
        "summary": summary,
        "targets": check_targets(summary),
        "seconds_per_suggestion": {
            p: {t: float(np.mean(v)) for t, v in tools.items()}
            for p, tools in speed.items()
        },
        "grids": grids,
        "runs": runs,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "strategies.json").write_text(json.dumps(report, indent=1))
    text = markdown(report)
    (out / "strategies.md").write_text(text)
    if not args.no_plot:
        plot(report, runs, out / "strategies.png")
    partial.finish()
    print(text)


if __name__ == "__main__":
    main()
