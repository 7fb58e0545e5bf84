"""Many workers, one search: trials per hour, and how many workers a chief serves.

Two measurements, in one run:

1. **Trials per hour with 1, 2 and 4 workers** on this machine. The
   README's default job, ``keras-hpo tune`` (digits, a Bayesian search of
   12 trials of 15 epochs, HyperMLP's default space), is run as one process
   (no workers, the baseline a user has today) and with ``--workers N``:
   the chief serves, N worker processes train, each with an equal share of
   the cores for TensorFlow's thread pools. Two wall times, ``--repeats``
   times each, interleaved so that load changes hit every setting alike:
   the search's, from its start (the chief serving, the workers' start-up
   included) to its end as the command prints it, and the whole command's,
   from start to exit (process start, TensorFlow import, data loading, the
   refit and the test evaluation included); trials per hour = trials /
   wall time. The random strategy (``--strategy
   random``) runs the same 12 configurations whatever the number of
   workers; the Bayesian strategy's configurations depend on which trials
   were pending when each was proposed, so their cost differs a little
   between settings (the best score is shown too).
2. **The chief's capacity.** A `ChiefServer` with the random strategy on
   HyperMLP's default space (no trial limit) serves W light fake workers
   (W = 8, 32, 128 threads in another process, no training): each loops
   over the calls a real worker makes per trial: ask for a trial (its
   number comes with it), report its metrics, end it, read the verdict.
   Over ``--seconds`` seconds: trials per second (one ask plus its reports
   each) and the latency of the ask (median, 99th percentile). The
   suggestion latency of the Bayesian strategy with 1, 8, 32 and 128
   trials pending is measured by ``parallel_strategy.py`` (same oracle,
   without the wire).

Targets: 2 workers give at least 1.6x the trials per hour of 1 worker on 2
cores for the default search; the chief answers at least 100 trial
requests plus their reports per second. A target that is missed is
reported as missed.

Run:
    python benchmarks/workers.py            # 3 repeats, 12 trials x 15 epochs
    python benchmarks/workers.py --quick    # 1 repeat, 2 trials x 1 epoch

Writes ``benchmarks/results/workers.json`` and ``workers.md`` (or under
``--out``), with the date, commit and machine of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cpu_model  # noqa: E402
from common import device  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402

__all__ = [
    "TARGET_CHIEF_RATE",
    "TARGET_SPEEDUP",
    "capacity_settings",
    "check_targets",
    "chief_capacity",
    "fake_workers",
    "main",
    "markdown",
    "throughput",
]

#: Target: trials per hour of 2 workers over 1 worker, on 2 cores.
TARGET_SPEEDUP = 1.6
#: Target: trials (an ask plus its reports) per second the chief serves.
TARGET_CHIEF_RATE = 100.0


# -- 1. trials per hour --------------------------------------------------------------
def _tune(workers: int, args: argparse.Namespace, directory: str) -> dict:
    """One ``keras-hpo tune`` run: its wall time and what it reports."""
    command = [
        sys.executable,
        "-m",
        "keras_hpo.cli",
        "tune",
        "--strategy",
        args.strategy,
        "--max-trials",
        str(args.trials),
        "--epochs",
        str(args.epochs),
        "--seed",
        "1",
        "--directory",
        directory,
        "--project-name",
        f"w{workers}",
        "--overwrite",
    ]
    if workers:
        command += ["--workers", str(workers)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        tail = run.stdout[-2000:] + run.stderr[-2000:]
        raise RuntimeError(f"{command} failed:\n{tail}")
    summary = json.loads((Path(directory) / f"w{workers}" / "summary.json").read_text())
    # The chief's own (untagged) last line: "... search took 31.2s".
    ends = [
        line
        for line in run.stdout.splitlines()
        if line.startswith("Best trial ") and "search took " in line
    ]
    search_s = float(ends[-1].rsplit("search took ", 1)[1].rstrip("s"))
    return {
        "workers": workers,
        "wall_s": wall,
        "search_s": search_s,
        "trials": summary["trials"],
        "trials_per_hour": summary["trials"] / wall * 3600,
        "search_trials_per_hour": summary["trials"] / search_s * 3600,
        "best_score": summary["best_score"],
    }


def throughput(args: argparse.Namespace) -> list[dict]:
    """Every run of every setting, interleaved (see the module docstring)."""
    runs = []
    with tempfile.TemporaryDirectory() as directory:
        for repeat in range(args.repeats):
            for workers in args.workers:
                run = _tune(workers, args, directory)
                run["repeat"] = repeat
                run["stamp"] = run_stamp()
                runs.append(run)
                print(
                    f"{workers or 'no'} workers, repeat {repeat}: "
                    f"{run['wall_s']:.1f}s ({run['search_s']:.1f}s searching), "
                    f"{run['trials']} trials, {run['trials_per_hour']:.0f} trials/h "
                    f"({run['search_trials_per_hour']:.0f} while searching)",
                    flush=True,
                )
    return runs


# -- 2. the chief's capacity ---------------------------------------------------------
def _space():
    import keras_tuner

    import keras_hpo

    hp = keras_tuner.HyperParameters()
    keras_hpo.HyperMLP(num_classes=10).declare_hyperparameters(hp)
    return hp


def fake_workers(port: int, count: int, seconds: float, token: str) -> dict:
    """``count`` light workers against the chief at ``port`` (no training).

    Returns:
        Trials ended, the asks' latencies (seconds) and the wall time.
    """
    import keras_tuner

    from keras_hpo.distributed import Cluster
    from keras_hpo.distributed import WorkerOracle
    from keras_hpo.oracles import RandomOracle

    local = RandomOracle(
        objective=keras_tuner.Objective("score", "min"), hyperparameters=_space()
    )
    latencies: list[float] = []
    ended = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def work(name: str) -> None:
        oracle = WorkerOracle(local, Cluster(name, "127.0.0.1", port, token=token))
        while time.perf_counter() < deadline:
            asked = time.perf_counter()
            trial = oracle.create_trial(name)
            took = time.perf_counter() - asked
            oracle.update_trial(trial.trial_id, {"score": 0.5})
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            # As a worker reads the verdict (since 2026-12-07 it comes with
            # EndTrial's answer, without a call of its own).
            oracle.get_trial(trial.trial_id)
            with lock:
                latencies.append(took)
                ended[0] += 1
        oracle.close()

    threads = [threading.Thread(target=work, args=(f"fake-{i}",)) for i in range(count)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "ended": ended[0],
        "latencies": latencies,
        "wall_s": time.perf_counter() - start,
    }


def chief_capacity(counts: list[int], seconds: float, rounds: int = 1) -> list[dict]:
    """The chief in this process, the fake workers in another, per count.

    Each round measures every count once (rounds interleaved, so a slow
    spell of the machine does not fall on one count).
    """
    import keras_tuner

    from keras_hpo.distributed import ChiefServer
    from keras_hpo.oracles import RandomOracle

    rows = []
    for round_, count in ((r, c) for r in range(rounds) for c in counts):
        with tempfile.TemporaryDirectory() as directory:
            oracle = RandomOracle(
                objective=keras_tuner.Objective("score", "min"),
                hyperparameters=_space(),
                seed=1,
            )
            oracle._set_project_dir(directory, "chief")
            oracle.verbose = 0
            server = ChiefServer(oracle, token="bench", log=lambda line: None)
            port = server.start()
            cpu = time.process_time()
            run = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--fake-workers",
                    str(count),
                    "--port",
                    str(port),
                    "--seconds",
                    str(seconds),
                ],
                capture_output=True,
                text=True,
            )
            chief_cpu = time.process_time() - cpu
            server.stop(0)
            if run.returncode != 0:
                raise RuntimeError(run.stderr[-3000:])
            result = json.loads(run.stdout.strip().splitlines()[-1])
            latencies = sorted(result["latencies"])
            rate = result["ended"] / result["wall_s"]
            row = {
                "fake_workers": count,
                "round": round_,
                "trials": result["ended"],
                "trials_ended_by_oracle": len(oracle.end_order),
                "seconds": result["wall_s"],
                "trials_per_s": rate,
                "ask_median_s": statistics.median(latencies),
                "ask_p99_s": latencies[int(0.99 * (len(latencies) - 1))],
                "chief_cpu_s": chief_cpu,
                "stamp": run_stamp(),
            }
            rows.append(row)
            print(
                f"{count} fake workers: {rate:.0f} trials/s, ask median "
                f"{row['ask_median_s'] * 1000:.1f} ms, p99 "
                f"{row['ask_p99_s'] * 1000:.1f} ms",
                flush=True,
            )
    return rows


# -- the report ----------------------------------------------------------------------
def capacity_settings(rows: list[dict]) -> dict[int, dict]:
    """Per fake-worker count: the spread of each measure over the rounds."""
    counts: dict[int, list[dict]] = {}
    for row in rows:
        counts.setdefault(row["fake_workers"], []).append(row)
    return {
        count: {
            key: spread(row[key] for row in mine)
            for key in ("trials_per_s", "ask_median_s", "ask_p99_s", "chief_cpu_s")
        }
        for count, mine in sorted(counts.items())
    }


def _per_setting(runs: list[dict]) -> dict[int, dict]:
    settings: dict[int, dict] = {}
    for workers in sorted({r["workers"] for r in runs}):
        mine = [r for r in runs if r["workers"] == workers]
        settings[workers] = {
            "trials_per_hour": spread(r["trials_per_hour"] for r in mine),
            "search_trials_per_hour": spread(r["search_trials_per_hour"] for r in mine),
            "wall_s": spread(r["wall_s"] for r in mine),
            "search_s": spread(r["search_s"] for r in mine),
            "best_score": spread(r["best_score"] for r in mine),
            "trials": sorted({r["trials"] for r in mine}),
        }
    return settings


def check_targets(settings: dict[int, dict], capacity: list[dict], quick: bool):
    """Each target: its value this run and whether it was met."""
    targets = []
    if 1 in settings and 2 in settings:
        for key, what in (
            ("search_trials_per_hour", "while searching"),
            ("trials_per_hour", "whole command"),
        ):
            ratio = settings[2][key]["median"] / settings[1][key]["median"]
            targets.append(
                {
                    "target": f"2 workers >= {TARGET_SPEEDUP}x the trials/h of 1 "
                    f"worker ({what})",
                    "value": ratio,
                    "met": ratio >= TARGET_SPEEDUP,
                    "judged": not quick,
                }
            )
    if capacity:
        per_count = capacity_settings(capacity).values()
        worst = min(c["trials_per_s"]["median"] for c in per_count)
        targets.append(
            {
                "target": f"chief serves >= {TARGET_CHIEF_RATE:g} trials/s "
                "(ask + reports), every fake-worker count (median of the rounds)",
                "value": worst,
                "met": worst >= TARGET_CHIEF_RATE,
                "judged": not quick,
            }
        )
    return targets


def markdown(report: dict) -> str:
    """The tables of a report."""
    s = report["stamp"]
    lines = [
        f"Many workers, one search; written {s['date']} at commit {s['commit']} "
        f"on {s['machine']} ({report['cpu']}), load average "
        f"{s['load_average']:.2f}; whole run {report['wall_s']:.0f} s",
        "",
        f"**Trials per hour**: `keras-hpo tune --strategy {report['strategy']}` "
        f"on digits, {report['trials']} trials x {report['epochs']} epochs, "
        f"median [min, max] of {report['repeats']} interleaved runs. *While "
        "searching*: from the search's start (the chief serving; the workers' "
        "start-up included) to its end, as the command prints it; *whole "
        "command*: from start to exit (process start, data loading, the refit "
        "and the test evaluation included)",
        "",
        "| workers | trials/h while searching | vs 1 worker | vs one process "
        "| trials/h whole command | vs 1 worker | vs one process | best score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    settings = {int(k): v for k, v in report["settings"].items()}

    def cells(workers: int, key: str) -> str:
        t = settings[workers][key]
        text = f"{t['median']:.0f} [{t['min']:.0f}, {t['max']:.0f}]"
        for base in (1, 0):
            if base in settings:
                text += f" | {t['median'] / settings[base][key]['median']:.2f}x"
            else:
                text += " | -"
        return text

    for workers, row in settings.items():
        b = row["best_score"]
        lines.append(
            f"| {workers or 'none (one process)'} | "
            f"{cells(workers, 'search_trials_per_hour')} | "
            f"{cells(workers, 'trials_per_hour')} | "
            f"{b['median']:.4f} [{b['min']:.4f}, {b['max']:.4f}] |"
        )
    lines += [
        "",
        f"**The chief's capacity**: random strategy, HyperMLP's default space, "
        f"W fake workers (threads of one other process) each looping ask, report, "
        f"end, read the verdict for {report['seconds']:g} s; median [min, max] of "
        f"{report.get('chief_rounds', 1)} interleaved round(s)",
        "",
        "| fake workers | trials/s | ask median ms | ask p99 ms | chief CPU s |",
        "|---|---|---|---|---|",
    ]
    for count, c in capacity_settings(report["capacity"]).items():
        rate = c["trials_per_s"]
        lines.append(
            f"| {count} | {rate['median']:.0f} [{rate['min']:.0f}, "
            f"{rate['max']:.0f}] | {c['ask_median_s']['median'] * 1000:.1f} | "
            f"{c['ask_p99_s']['median'] * 1000:.1f} | "
            f"{c['chief_cpu_s']['median']:.1f} |"
        )
    lines += ["", "Targets:"]
    for target in report["targets"]:
        verdict = "met" if target["met"] else "MISSED"
        if not target["judged"]:
            verdict = "not judged (quick run)"
        lines.append(f"- {target['target']}: {target['value']:.2f}, {verdict}")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Runs the benchmark (or, with ``--fake-workers``, the fake workers)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategy", default="bayesian")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2, 4])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chief-workers", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--chief-rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    hidden = argparse.SUPPRESS  # the fake workers' process
    parser.add_argument("--fake-workers", type=int, default=None, help=hidden)
    parser.add_argument("--port", type=int, default=None, help=hidden)
    args = parser.parse_args()
    if args.fake_workers is not None:
        result = fake_workers(args.port, args.fake_workers, args.seconds, "bench")
        print(json.dumps(result))
        return
    if args.quick:
        args.trials, args.epochs, args.repeats = 2, 1, 1
        args.workers, args.chief_workers, args.seconds = [1, 2], [4], 1.0
        args.chief_rounds = 1
    start = time.perf_counter()
    runs = throughput(args)
    capacity = chief_capacity(args.chief_workers, args.seconds, args.chief_rounds)
    settings = _per_setting(runs)
    report = {
        "benchmark": "workers",
        "stamp": run_stamp(),
        "device": device(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "versions": versions(),
        "quick": args.quick,
        "strategy": args.strategy,
        "trials": args.trials,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "seconds": args.seconds,
        "chief_rounds": args.chief_rounds,
        "settings": settings,
        "runs": runs,
        "capacity": capacity,
        "targets": check_targets(settings, capacity, args.quick),
    }
    report["wall_s"] = time.perf_counter() - start
    table = markdown(report)
    folder = write_results(args.out, "workers", report, table)
    print(table)
    print(f"written to {folder}")


if __name__ == "__main__":
    main()
