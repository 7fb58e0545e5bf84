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

   **The floor**: after each repeat, a hand-written loop (`floor`: no
   tuner, no chief, no files, no callbacks) trains again the trials that
   repeat's 1-worker search trained, each with its values, seed and the
   epochs it ran, in 1 process with all cores' threads and in 2 processes
   with one core's threads each (each taking the next trial, as workers
   do). Against it, what a second worker gains on this machine is set
   apart from what a second process gains: two processes share its caches
   and memory, and each pays its own start-up.
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
    "FLOOR_PROCESSES",
    "TARGET_CHIEF_RATE",
    "TARGET_SPEEDUP",
    "capacity_settings",
    "check_targets",
    "chief_capacity",
    "fake_workers",
    "floor",
    "floor_settings",
    "floor_trials",
    "main",
    "markdown",
    "throughput",
]

#: Target: trials per hour of 2 workers over 1 worker, on 2 cores.
TARGET_SPEEDUP = 1.6
#: Target: trials (an ask plus its reports) per second the chief serves.
TARGET_CHIEF_RATE = 100.0
#: Process counts of the hand-written loop (against 1 and 2 workers).
FLOOR_PROCESSES = (1, 2)


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


def throughput(args: argparse.Namespace) -> tuple[list[dict], list[dict]]:
    """Every run of every setting, interleaved (see the module docstring).

    Returns:
        ``(runs, floors)``: the ``keras-hpo tune`` runs, and the hand-written
        loop's runs (1 and 2 processes, each repeat training again the
        trials that repeat's 1-worker search trained; none without a
        1-worker setting).
    """
    runs, floors = [], []

    def keep(run: dict, repeat: int, into: list[dict], line: str) -> None:
        run["repeat"] = repeat
        run["stamp"] = run_stamp()
        into.append(run)
        print(f"{line}, repeat {repeat}", flush=True)

    with tempfile.TemporaryDirectory() as directory:
        for repeat in range(args.repeats):
            for workers in args.workers:
                run = _tune(workers, args, directory)
                keep(
                    run,
                    repeat,
                    runs,
                    f"{workers or 'no'} workers: "
                    f"{run['wall_s']:.1f}s ({run['search_s']:.1f}s searching), "
                    f"{run['trials']} trials, {run['trials_per_hour']:.0f} trials/h "
                    f"({run['search_trials_per_hour']:.0f} while searching)",
                )
            if 1 not in args.workers:
                continue
            trials = floor_trials(Path(directory) / "w1")
            for processes in FLOOR_PROCESSES:
                run = floor(trials, processes, directory)
                keep(
                    run,
                    repeat,
                    floors,
                    f"hand-written loop, {processes} process(es): "
                    f"{run['wall_s']:.1f}s ({run['train_s']:.1f}s training), "
                    f"{run['trials_per_hour']:.0f} trials/h",
                )
    return runs, floors


def floor_settings(floors: list[dict]) -> dict[int, dict]:
    """Per process count of the hand-written loop: the spread of its measures."""
    return {
        processes: {
            key: spread(r[key] for r in floors if r["processes"] == processes)
            for key in ("trials_per_hour", "wall_s", "train_s", "start_up_s")
        }
        for processes in sorted({r["processes"] for r in floors})
    }


def floor_trials(project: Path) -> list[dict]:
    """The trials a finished search trained, to train again by hand.

    Returns:
        Per trial, in trial order: its hyperparameter values, the epochs it
        ran (early stopping included) and its seed, read from its
        ``result.json``.
    """
    trials = []
    for path in sorted(project.glob("trial_*/result.json")):
        result = json.loads(path.read_text())
        trials.append(
            {
                "values": result["values"],
                "epochs": result["epochs_run"],
                "seed": result["seed"],
            }
        )
    return trials


def _floor_child(configs: str, counter: str) -> dict:
    """Trains trials of ``configs`` by hand until none is left (``counter``).

    The processes of one floor run share the trials as workers share a
    search's: each takes the next one not taken (a counter in a locked file).
    """
    import fcntl

    import keras
    import keras_tuner

    import keras_hpo
    from keras_hpo.datasets import load_dataset

    data = load_dataset("digits", seed=1)
    trials = json.loads(Path(configs).read_text())
    hypermodel = keras_hpo.HyperMLP(data.task, num_classes=data.num_classes)
    hypermodel.adapt(data.x_train)
    ready, fits = time.time(), []
    while True:
        with open(counter, "r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            index = int(handle.read() or 0)
            handle.seek(0)
            handle.truncate()
            handle.write(str(index + 1))
        if index >= len(trials):
            break
        trial = trials[index]
        hp = keras_tuner.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hp.values.update(trial["values"])
        keras.utils.set_random_seed(trial["seed"])
        start = time.perf_counter()
        model = hypermodel.build(hp)
        model.fit(
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=trial["epochs"],
            batch_size=trial["values"].get("batch_size", 32),
            verbose=0,
        )
        fits.append(time.perf_counter() - start)
        keras.backend.clear_session()
    return {"ready": ready, "end": time.time(), "fits": fits}


def floor(trials: list[dict], processes: int, directory: str) -> dict:
    """The hand-written loop: ``trials`` trained by ``processes`` processes.

    Each process has an equal share of the cores for TensorFlow's thread
    pools (set as ``keras-hpo launch`` sets a worker's) and takes the next
    trial not taken; no tuner, no chief, no files, no callbacks: Keras'
    ``build`` and ``fit`` as a user writes them by hand (without what
    keras_hpo's runner saves per trial, such as the second trace of the
    first training step, `keras_hpo.tuners.building.prepare_to_fit`).

    Returns:
        The wall time from the processes' start to the last one's exit
        (Python, TensorFlow and the data included, as for a worker), the
        training wall time (from the first process ready to the last one
        done) and each trial's build-and-fit seconds.
    """
    configs = Path(directory) / f"floor_{processes}.json"
    configs.write_text(json.dumps(trials))
    counter = Path(directory) / f"floor_{processes}.counter"
    counter.write_text("0")
    threads = str(max(1, (os.cpu_count() or 1) // processes))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    env.update(
        TF_NUM_INTRAOP_THREADS=threads,
        OMP_NUM_THREADS=threads,
        TF_NUM_INTEROP_THREADS="1",
    )
    command = [
        sys.executable,
        __file__,
        "--floor-configs",
        str(configs),
        "--floor-counter",
        str(counter),
    ]
    start, started = time.perf_counter(), time.time()
    children = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(processes)
    ]
    outputs = [child.communicate() for child in children]
    wall = time.perf_counter() - start
    for child, (_, err) in zip(children, outputs, strict=True):
        if child.returncode != 0:
            raise RuntimeError(f"a floor process failed:\n{err[-3000:]}")
    done = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    fits = [fit for d in done for fit in d["fits"]]
    if len(fits) != len(trials):
        raise RuntimeError(f"the floor trained {len(fits)} of {len(trials)} trials")
    return {
        "processes": processes,
        "threads": int(threads),
        "wall_s": wall,
        "train_s": max(d["end"] for d in done) - min(d["ready"] for d in done),
        "start_up_s": min(d["ready"] for d in done) - started,
        "fits_s": fits,
        "trials": len(trials),
        "trials_per_hour": len(trials) / wall * 3600,
    }


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


def _floor_lines(report: dict, settings: dict[int, dict]) -> list[str]:
    """The hand-written loop's table, and keras_hpo's workers against it."""
    floors = {int(k): v for k, v in report.get("floor", {}).items()}
    if not floors:
        return []
    lines = [
        "",
        "**The floor**: a hand-written Keras loop (build, fit; no tuner, chief, "
        "files or callbacks) trains again the trials of each repeat's 1-worker "
        "search, each with its values and seed for the epochs it ran, in 1 "
        "process (all cores' threads) and in 2 processes (one core's threads "
        "each, taking the next trial as workers do); wall time from the "
        "processes' start (Python, TensorFlow, the data) to the last one's "
        "exit, as a worker's share of *while searching*; median [min, max]",
        "",
        "| hand-written loop | trials/h | vs 1 process | training s | start-up s |",
        "|---|---|---|---|---|",
    ]
    for processes, row in floors.items():
        rate = row["trials_per_hour"]
        ratio = rate["median"] / floors[1]["trials_per_hour"]["median"]
        lines.append(
            f"| {processes} process{'es' if processes > 1 else ''} | "
            f"{rate['median']:.0f} [{rate['min']:.0f}, {rate['max']:.0f}] | "
            f"{ratio:.2f}x | {row['train_s']['median']:.1f} | "
            f"{row['start_up_s']['median']:.1f} |"
        )
    key = "search_trials_per_hour"
    if {1, 2} <= set(floors) and {1, 2} <= set(settings):

        def rate(table: dict, count: int) -> float:
            return table[count]["trials_per_hour"]["median"]

        ours = {n: settings[n][key]["median"] for n in (1, 2)}
        lines += [
            "",
            f"The loop gained {rate(floors, 2) / rate(floors, 1):.2f}x from a "
            f"second process, keras_hpo {ours[2] / ours[1]:.2f}x from a second "
            f"worker (while searching); keras_hpo's 1 worker ran "
            f"{ours[1] / rate(floors, 1):.2f}x the trials per hour of the "
            f"loop's 1 process, its 2 workers {ours[2] / rate(floors, 2):.2f}x "
            "those of the loop's 2 processes.",
        ]
    return lines


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
    lines += _floor_lines(report, settings)
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
    # the hand-written loop's processes
    parser.add_argument("--floor-configs", default=None, help=hidden)
    parser.add_argument("--floor-counter", default=None, help=hidden)
    args = parser.parse_args()
    if args.fake_workers is not None:
        result = fake_workers(args.port, args.fake_workers, args.seconds, "bench")
        print(json.dumps(result))
        return
    if args.floor_configs is not None:
        print(json.dumps(_floor_child(args.floor_configs, args.floor_counter)))
        return
    if args.quick:
        args.trials, args.epochs, args.repeats = 2, 1, 1
        args.workers, args.chief_workers, args.seconds = [1, 2], [4], 1.0
        args.chief_rounds = 1
    start = time.perf_counter()
    runs, floors = throughput(args)
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
        "floor": floor_settings(floors),
        "floor_runs": floors,
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
