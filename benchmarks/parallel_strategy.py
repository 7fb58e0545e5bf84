"""The Bayesian oracle with trials in flight: suggestion latency and regret.

A search with several workers asks the oracle for a new trial while other
trials are still running. ``BayesianOracle`` fits its model on the finished
trials, then enters the pending ones at the model's own prediction (the
"kriging believer"), so every ask conditions the process on the finished
*and* the pending trials. This measures the two things a multi-worker search
depends on:

1. **Latency with pending trials.** On Hartmann-6 (6 continuous dimensions),
   a fresh oracle is given ``--finished`` finished trials (uniform random
   points with their values, injected without asking the strategy, as
   ``suggest_cost.py`` does, see `drivers.OracleDriver.inject`); then ``P``
   trials are created with ``oracle.create_trial(tuner_id)`` for ``P``
   distinct tuner IDs (proposed by the strategy itself, each seeing the ones
   before it as pending) and left running. One more ``create_trial`` is
   timed, from the ask to the configuration (the oracle's bookkeeping and
   saving included); that trial is then finished with its value, so the
   pending count stays ``P`` and the ``--repeats`` timed asks see N, N+1, ...
   finished trials. The pending count each timed ask saw is read back from
   ``len(oracle.ongoing_trials)``. Median, min and max are reported, with the
   smallest distance (in the unit cube) from each timed suggestion to the
   pending trials' points.
2. **Regret with trials in flight.** On Branin (2-d) and Hartmann-6, the
   oracle runs ``--trials`` trials sequentially (one in flight) and with
   ``--in-flight`` trials in flight: that many are created (distinct tuner
   IDs) and left pending; each time, the oldest pending one is ended with its
   function value and its worker creates a new one, until ``--trials`` have
   been proposed, then the rest are ended in order. Both modes propose and
   evaluate exactly ``--trials`` configurations. The score is the simple
   regret, the best value found minus the known minimum (`functions.py`),
   as the median over seeds 1, 2, ... (``seed=0`` means "random" to
   keras-tuner, so it is left out).

Targets: (1) a suggestion takes under 0.5 s (median of the repeats) with 128
pending and 200 finished trials; (2) per problem, the median regret with 4 in
flight is at most 2x the sequential median regret. A target that is missed is
reported as missed.

Run:
    python benchmarks/parallel_strategy.py           # 200 finished, P = 1/8/32/128,
                                                     # 5 seeds x 50 trials
    python benchmarks/parallel_strategy.py --quick   # 20 finished, P = 1/4,
                                                     # 1 seed x 12 trials

Writes ``benchmarks/results/parallel_strategy.json`` and ``parallel_strategy.md``
(or under ``--out``) with the device, the versions, the seeds and each run's
date, commit and machine.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import deque
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from common import cpu_model  # noqa: E402
from common import device  # noqa: E402
from common import package_versions  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from drivers import OracleDriver  # noqa: E402
from drivers import make_driver  # noqa: E402
from functions import FUNCTIONS  # noqa: E402
from functions import Problem  # noqa: E402

__all__ = [
    "LATENCY_PROBLEM",
    "TARGET_FINISHED",
    "TARGET_IN_FLIGHT",
    "TARGET_LATENCY_S",
    "TARGET_PENDING",
    "TARGET_REGRET_RATIO",
    "TARGET_TRIALS",
    "TOOL",
    "check_targets",
    "main",
    "markdown",
    "regret_run",
    "summarise_regret",
    "time_pending",
    "uniform_history",
]

#: The strategy measured (built by `drivers.make_driver`, as in strategies.py).
TOOL = "keras_hpo bayesian"
#: The problem of the latency measurement.
LATENCY_PROBLEM = "hartmann6"
#: Latency target: the median suggestion under this many seconds ...
TARGET_LATENCY_S = 0.5
#: ... with this many trials pending ...
TARGET_PENDING = 128
#: ... and this many finished.
TARGET_FINISHED = 200
#: Regret target: median regret in flight at most this multiple of sequential
#: ...
TARGET_REGRET_RATIO = 2.0
#: ... with this many trials in flight ...
TARGET_IN_FLIGHT = 4
#: ... after this many trials.
TARGET_TRIALS = 50


def uniform_history(
    problem: Problem, size: int, seed: int
) -> list[tuple[dict[str, Any], float]]:
    """Uniform random points of a problem with only float dimensions, and values.

    Args:
        problem: The test problem (its dimensions must all be ``"float"``).
        size: How many points.
        seed: Seed of the draw.

    Returns:
        ``(values, function value)`` pairs.
    """
    rng = np.random.default_rng(seed)
    low = np.array([dim.low for dim in problem.dims])
    high = np.array([dim.high for dim in problem.dims])
    points = []
    for row in low + rng.random((size, len(problem.dims))) * (high - low):
        values = {dim.name: float(v) for dim, v in zip(problem.dims, row, strict=True)}
        points.append((values, problem.function(values)))
    return points


def _finish(driver: OracleDriver, trial, problem: Problem) -> float:
    """Ends a running trial with its function value; returns the value."""
    value = problem.function(trial.hyperparameters.values)
    driver.oracle.update_trial(trial.trial_id, {"score": value})
    # keras-tuner's end_trial takes the status from the trial passed in.
    trial.status = "COMPLETED"
    driver.oracle.end_trial(trial)
    return value


def _unit(problem: Problem, values: dict[str, Any]) -> np.ndarray:
    """A configuration of a float-only problem as a point of the unit cube."""
    return np.array([(values[d.name] - d.low) / (d.high - d.low) for d in problem.dims])


def time_pending(pending: int, finished: int, repeats: int, seed: int) -> dict:
    """Seconds of one more ``create_trial`` with ``pending`` trials running.

    Args:
        pending: Trials created (distinct tuner IDs) and left running.
        finished: Finished trials injected before them.
        repeats: Timed asks; each is finished afterwards, so every timed ask
            sees ``pending`` trials running.
        seed: The oracle's seed and that of the injected points.

    Returns:
        The row: the times, the pending and finished counts each timed ask
        saw (read back from the oracle), and their summaries.
    """
    problem = FUNCTIONS[LATENCY_PROBLEM]
    driver = make_driver(TOOL, problem, seed, max_trials=10_000)
    oracle = driver.oracle
    try:
        for values, value in uniform_history(problem, finished, seed):
            driver.inject(values, value)
        start = time.perf_counter()
        running = [oracle.create_trial(f"worker-{i}") for i in range(pending)]
        build_s = time.perf_counter() - start
        if any(trial.status != "RUNNING" for trial in running):
            raise RuntimeError("The oracle stopped before all pending trials ran.")
        pending_points = np.array(
            [_unit(problem, t.hyperparameters.values) for t in running]
        )
        times, pending_seen, finished_seen, distances = [], [], [], []
        for repeat in range(repeats):
            pending_seen.append(len(oracle.ongoing_trials))
            finished_seen.append(len(oracle.completed_trials()))
            start = time.perf_counter()
            trial = oracle.create_trial(f"timed-{repeat}")
            times.append(time.perf_counter() - start)
            if trial.status != "RUNNING":
                raise RuntimeError("The oracle stopped instead of suggesting.")
            point = _unit(problem, trial.hyperparameters.values)
            distances.append(
                float(np.min(np.linalg.norm(pending_points - point, axis=1)))
            )
            _finish(driver, trial, problem)
    finally:
        driver.close()
    return {
        "problem": LATENCY_PROBLEM,
        "seed": seed,
        "pending_asked": pending,
        "finished_asked": finished,
        "pending_seen": pending_seen,
        "finished_seen": finished_seen,
        "times_s": times,
        "latency_s": spread(times),
        "pending_build_s": build_s,
        "min_distance_to_pending": distances,
        "stamp": run_stamp(),
    }


def regret_run(problem_name: str, seed: int, trials: int, in_flight: int) -> dict:
    """One search of ``trials`` trials with ``in_flight`` trials running at a time.

    ``in_flight`` workers (distinct tuner IDs) each create a trial; then the
    oldest running trial is ended with its value and its worker creates the
    next, until ``trials`` were created; the rest are then ended in order.

    Args:
        problem_name: A key of `functions.FUNCTIONS`.
        seed: The oracle's seed.
        trials: Trials proposed and evaluated.
        in_flight: Trials running at a time (1: sequential).

    Returns:
        The run: the best-so-far regret after each ended trial, and the number
        of running trials after each ``create_trial`` (from the oracle).
    """
    problem = FUNCTIONS[problem_name]
    driver = make_driver(TOOL, problem, seed, trials)
    oracle = driver.oracle
    running: deque = deque()
    free = [f"worker-{i}" for i in reversed(range(in_flight))]
    created, best, curve, seen, asking = 0, np.inf, [], [], 0.0
    try:
        while created < trials or running:
            while created < trials and len(running) < in_flight:
                worker = free.pop()
                start = time.perf_counter()
                trial = oracle.create_trial(worker)
                asking += time.perf_counter() - start
                if trial.status != "RUNNING":
                    raise RuntimeError(f"The oracle stopped after {created} trials.")
                seen.append(len(oracle.ongoing_trials))
                running.append((worker, trial))
                created += 1
            worker, trial = running.popleft()
            best = min(best, _finish(driver, trial, problem))
            curve.append(problem.regret(best))
            free.append(worker)
    finally:
        driver.close()
    return {
        "problem": problem_name,
        "seed": seed,
        "trials": trials,
        "in_flight": in_flight,
        "in_flight_seen": seen,
        "regret": curve,
        "final_regret": curve[-1],
        "seconds_per_suggestion": asking / created,
        "stamp": run_stamp(),
    }


def summarise_regret(runs: list[dict]) -> dict:
    """Final regret over seeds, by problem and by ``in_flight`` (a str)."""
    table: dict = {}
    for run in runs:
        cell = table.setdefault(run["problem"], {})
        cell.setdefault(str(run["in_flight"]), []).append(run["final_regret"])
    return {
        problem: {mode: spread(values) for mode, values in modes.items()}
        for problem, modes in table.items()
    }


def check_targets(
    latency: list[dict], summary: dict, in_flight: int, trials: int
) -> dict:
    """The two targets, judged on this run's figures.

    The latency target is judged at the largest pending count measured;
    ``at_target_size`` says whether that is the target's 128 pending with 200
    finished. For the regret, it says whether the run had 4 in flight and 50
    trials.

    Args:
        latency: The rows of `time_pending`.
        summary: `summarise_regret`'s output.
        in_flight: The parallel mode's trials in flight.
        trials: Trials per search.

    Returns:
        ``{"latency": {...}, "regret": [{...} per problem]}``.
    """
    targets: dict = {"latency": {}, "regret": []}
    if latency:
        row = max(latency, key=lambda r: r["pending_asked"])
        median = row["latency_s"]["median"]
        targets["latency"] = {
            "pending": row["pending_asked"],
            "finished": row["finished_asked"],
            "at_target_size": row["pending_asked"] == TARGET_PENDING
            and row["finished_asked"] == TARGET_FINISHED,
            "median_s": median,
            "max_s": row["latency_s"]["max"],
            "met": median < TARGET_LATENCY_S,
        }
    for problem, modes in summary.items():
        if "1" not in modes or str(in_flight) not in modes:
            continue
        sequential = modes["1"]["median"]
        parallel = modes[str(in_flight)]["median"]
        if sequential > 0:
            ratio = parallel / sequential
        else:
            ratio = 1.0 if parallel == 0 else float("inf")
        targets["regret"].append(
            {
                "problem": problem,
                "sequential_median": sequential,
                "in_flight_median": parallel,
                "ratio": ratio,
                "at_target_size": in_flight == TARGET_IN_FLIGHT
                and trials == TARGET_TRIALS,
                "met": parallel <= TARGET_REGRET_RATIO * sequential,
            }
        )
    return targets


def markdown(report: dict) -> str:
    """The report as Markdown tables."""
    stamp = report["stamp"]
    k = report["in_flight"]
    lines = [
        f"Bayesian oracle with trials in flight; written {stamp['date']} at "
        f"commit {stamp['commit']} on {report['device']} ({report['cpu']}), "
        f"load average {stamp['load_average']:.2f}; whole run "
        f"{report['wall_s']:.0f} s",
        "",
        f"**Suggestion latency** on {LATENCY_PROBLEM}: seconds of one more "
        f"`create_trial` with P trials pending (created by the oracle, distinct "
        f"tuner IDs) after {report['finished']} injected finished trials; "
        f"{report['repeats']} timed asks each (each then finished), seed "
        f"{report['latency_seed']}",
        "",
        "| P asked | P seen | finished seen | median s | min s | max s | "
        "s to create the P | min distance to pending |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["latency"]:
        s = row["latency_s"]
        seen = sorted(set(row["pending_seen"]))
        lines.append(
            f"| {row['pending_asked']} | {', '.join(map(str, seen))} | "
            f"{min(row['finished_seen'])}-{max(row['finished_seen'])} | "
            f"{s['median']:.3f} | {s['min']:.3f} | {s['max']:.3f} | "
            f"{row['pending_build_s']:.1f} | "
            f"{min(row['min_distance_to_pending']):.3f} |"
        )
    t = report["targets"]["latency"]
    if t:
        where = "" if t["at_target_size"] else " (NOT the target's size)"
        lines += [
            "",
            f"Target: median < {TARGET_LATENCY_S} s with {TARGET_PENDING} pending "
            f"and {TARGET_FINISHED} finished. This run, {t['pending']} pending "
            f"and {t['finished']} finished{where}: median {t['median_s']:.3f} s "
            f"(max {t['max_s']:.3f} s): {'met' if t['met'] else 'MISSED'}",
        ]
    lines += [
        "",
        f"**Regret with trials in flight**: simple regret (best found - known "
        f"minimum) after {report['trials']} trials, median [min, max] over seeds "
        f"{report['seeds']}; sequential (1 in flight) vs {k} in flight",
        "",
    ]
    if k != TARGET_IN_FLIGHT or report["trials"] != TARGET_TRIALS:
        lines += [
            f"(The target is defined for {TARGET_IN_FLIGHT} in flight and "
            f"{TARGET_TRIALS} trials: NOT this run's size.)",
            "",
        ]
    lines += [
        f"| problem | sequential | {k} in flight | ratio | "
        f"target (<= {TARGET_REGRET_RATIO:g}x) | s/ask seq. | s/ask {k} |",
        "|---|---|---|---|---|---|---|",
    ]
    speed = report["seconds_per_suggestion"]
    for target in report["targets"]["regret"]:
        problem = target["problem"]
        cells = report["regret_summary"][problem]
        seq, par = cells["1"], cells[str(k)]
        lines.append(
            f"| {problem} | {seq['median']:.3g} [{seq['min']:.2g}, "
            f"{seq['max']:.2g}] | {par['median']:.3g} [{par['min']:.2g}, "
            f"{par['max']:.2g}] | {target['ratio']:.2f} | "
            f"{'met' if target['met'] else 'MISSED'} | "
            f"{speed[problem]['1']:.3f} | {speed[problem][str(k)]:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Runs both measurements and writes the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--finished", type=int, default=TARGET_FINISHED)
    parser.add_argument(
        "--pending", type=int, nargs="+", default=[1, 8, 32, TARGET_PENDING]
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed asks per P")
    parser.add_argument("--latency-seed", type=int, default=1)
    parser.add_argument("--problems", nargs="+", default=["branin", "hartmann6"])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--in-flight", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="20 finished, P = 1 and 4, 2 asks; 1 seed x 12 trials",
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.finished, args.pending, args.repeats = 20, [1, 4], 2
        args.trials, args.seeds = 12, [1]
    start = time.perf_counter()
    latency = []
    for pending in args.pending:
        row = time_pending(pending, args.finished, args.repeats, args.latency_seed)
        latency.append(row)
        s = row["latency_s"]
        print(
            f"latency: {pending} pending, {args.finished} finished: median "
            f"{s['median']:.3f} s [{s['min']:.3f}, {s['max']:.3f}] "
            f"(total {time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    runs = []
    for problem in args.problems:
        for in_flight in sorted({1, args.in_flight}):
            for seed in args.seeds:
                run = regret_run(problem, seed, args.trials, in_flight)
                runs.append(run)
                print(
                    f"{problem}, {in_flight} in flight, seed {seed}: regret "
                    f"{run['final_regret']:.3g} (total "
                    f"{time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    summary = summarise_regret(runs)
    speed: dict = {}
    for run in runs:
        speed.setdefault(run["problem"], {}).setdefault(
            str(run["in_flight"]), []
        ).append(run["seconds_per_suggestion"])
    report = {
        "benchmark": "parallel_strategy",
        "tool": TOOL,
        "stamp": run_stamp(),
        "device": device(),
        "cpu": cpu_model(),
        "versions": {**versions(), **package_versions("numpy", "scipy")},
        "quick": args.quick,
        "finished": args.finished,
        "pending": args.pending,
        "repeats": args.repeats,
        "latency_seed": args.latency_seed,
        "problems": args.problems,
        "trials": args.trials,
        "in_flight": args.in_flight,
        "seeds": args.seeds,
        "latency": latency,
        "regret_summary": summary,
        "seconds_per_suggestion": {
            p: {mode: float(np.mean(v)) for mode, v in modes.items()}
            for p, modes in speed.items()
        },
        "targets": check_targets(latency, summary, args.in_flight, args.trials),
        "runs": runs,
    }
    report["wall_s"] = time.perf_counter() - start
    text = markdown(report)
    write_results(args.out, "parallel_strategy", report, text)
    print(text)


if __name__ == "__main__":
    main()
