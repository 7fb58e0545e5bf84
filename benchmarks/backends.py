"""One seeded digits search on each Keras backend: TensorFlow, JAX, PyTorch.

The same 12-trial random search (``benchmarks/overhead.py``'s space, seed 1,
the same configurations on every backend: checked) runs on each backend, in
a process of its own (Keras picks its backend once, at import). In each
process three arms run, interleaved as in ``overhead.py``: keras_hpo's
``RandomSearch``, keras-tuner's ``RandomSearch``, and a hand-written loop
that builds and fits the same models (the true floor). Rounds rotate the
order of the backends and of the arms.

Per backend it reports the seconds per trial, keras_hpo's whole search over
its own time in ``model.fit`` (target <= 1.10 on each backend), each search
over the hand loop, and the best validation accuracy.

Run (with the three backends installed: ``pip install -e ".[jax,torch]"``):
    python benchmarks/backends.py            # 12 trials x 5 epochs, 3 rounds
    python benchmarks/backends.py --quick    # 2 trials x 1 epoch, 1 round
    python benchmarks/backends.py --backends jax,torch   # a subset

Writes ``benchmarks/results/backends.json`` and ``backends.md`` (or under
``--out``) with the date, commit, machine and versions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
ARMS = ("keras_hpo.RandomSearch", "keras_tuner.RandomSearch", "hand-written loop")
#: keras_hpo's search wall time over its own time in model.fit, per backend.
TARGET = 1.10


def worker(args: argparse.Namespace) -> None:
    """One round on the backend this process was started with: prints JSON."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import keras  # noqa: PLC0415 - imported here: KERAS_BACKEND picks the backend
    from common import device  # noqa: PLC0415
    from common import versions  # noqa: PLC0415
    from overhead import OURS  # noqa: PLC0415
    from overhead import THEIRS  # noqa: PLC0415
    from overhead import run_loop  # noqa: PLC0415
    from overhead import run_tool  # noqa: PLC0415
    from overhead import tuner_makers  # noqa: PLC0415
    from overhead import warm_up  # noqa: PLC0415

    from keras_hpo.datasets import load_digits  # noqa: PLC0415

    data = load_digits(seed=0)

    ours, theirs = tuner_makers(args.trials, args.seed)
    warm_up(data, ours, theirs)
    values = json.loads(args.values) if args.values else None
    order = list(ARMS)
    if values is not None:  # the loop needs the values; round 1 draws them
        order = order[args.shift % 3 :] + order[: args.shift % 3]
    arms: dict = {}
    for arm in order:
        if arm == OURS:
            arms[arm] = run_tool(OURS, ours, data, args.epochs)
            values = arms[arm].pop("values")
        elif arm == THEIRS:
            arms[arm] = run_tool(THEIRS, theirs, data, args.epochs)
            arms[arm].pop("values")
        else:
            arms[arm] = run_loop(values, data, args.epochs)
    report = {
        "backend": keras.backend.backend(),
        "order": order,
        "arms": arms,
        "values": values,
        "device": device(),
        "versions": versions(),
    }
    print("RESULT " + json.dumps(report), flush=True)


def run_round(backend: str, args: argparse.Namespace, shift: int, values) -> dict:
    """Starts a worker on ``backend``; returns its report."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        f"--trials={args.trials}",
        f"--epochs={args.epochs}",
        f"--seed={args.seed}",
        f"--shift={shift}",
    ]
    if values is not None:
        command.append(f"--values={json.dumps(values)}")
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=HERE, check=False
    )
    lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{backend} worker failed:\n{done.stderr[-4000:]}")
    report = json.loads(lines[-1].removeprefix("RESULT "))
    if report["backend"] != backend:
        raise SystemExit(f"asked for {backend}, Keras ran {report['backend']}")
    return report


def summarize(rounds: list[dict], backends: list[str]) -> dict:
    """Each backend's figures: median [min, max] over the rounds."""
    from common import spread  # noqa: PLC0415

    ours, theirs, loop = ARMS
    summary: dict = {}
    for backend in backends:
        runs = [r[backend]["arms"] for r in rounds]
        summary[backend] = {
            "seconds_per_trial": spread(
                r[ours]["wall_s"] / r[ours]["trials"] for r in runs
            ),
            "loop_seconds_per_trial": spread(
                r[loop]["wall_s"] / r[loop]["trials"] for r in runs
            ),
            "search_over_fit": spread(
                r[ours]["wall_s"] / r[ours]["fit_s"] for r in runs
            ),
            "search_over_loop": spread(
                r[ours]["wall_s"] / r[loop]["wall_s"] for r in runs
            ),
            "keras_tuner_over_loop": spread(
                r[theirs]["wall_s"] / r[loop]["wall_s"] for r in runs
            ),
            "best_val_accuracy": spread(r[ours]["best_score"] for r in runs),
        }
        measured = summary[backend]["search_over_fit"]["median"]
        summary[backend]["target"] = {
            "search_over_fit": TARGET,
            "measured": measured,
            "met": measured <= TARGET,
        }
    return summary


def _range(s: dict, form: str) -> str:
    return f"{s['median']:{form}} [{s['min']:{form}}, {s['max']:{form}}]"


def table(report: dict) -> str:
    """The Markdown table of a report (benchmarks/README.md and the README)."""
    stamp = report["stamp"]
    lines = [
        f"Backends: one {report['trials']}-trial random search x {report['epochs']} "
        f"epochs on digits per backend, {report['repeats']} rounds; "
        f"{stamp['machine']}, {stamp['date']}, commit {stamp['commit']}, load "
        f"average {stamp['load_average']:.2f}",
        "",
        "| backend | s per trial | hand loop, s per trial | search / time in fit "
        "| search / hand loop | keras-tuner / hand loop | best val accuracy |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend, s in report["summary"].items():
        verdict = "met" if s["target"]["met"] else "**missed**"
        lines.append(
            f"| {backend} ({report['versions'][backend]}) "
            f"| {_range(s['seconds_per_trial'], '.2f')} "
            f"| {_range(s['loop_seconds_per_trial'], '.2f')} "
            f"| {_range(s['search_over_fit'], '.3f')} ({verdict}) "
            f"| {_range(s['search_over_loop'], '.3f')} "
            f"| {_range(s['keras_tuner_over_loop'], '.3f')} "
            f"| {_range(s['best_val_accuracy'], '.4f')} |"
        )
    lines += [
        "",
        f"Median [min, max] over the rounds. Target: keras_hpo's search / its time "
        f"in fit <= {TARGET:.2f} on each backend. Every backend drew the same "
        f"{report['trials']} configurations (seed {report['seed']}).",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--quick", action="store_true", help="2 x 1 epoch, 1 round")
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--shift", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--values", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs, args.repeats = 2, 1, 1
    if args.worker:
        worker(args)
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(
            f"--backends {args.backends!r}: name some of {', '.join(BACKENDS)}, "
            "separated by commas"
        )
    sys.path.insert(0, str(HERE))
    # The parent only stamps and writes; Keras there runs on a backend asked for.
    os.environ.setdefault("KERAS_BACKEND", backends[0])
    from common import run_stamp  # noqa: PLC0415
    from common import write_results  # noqa: PLC0415

    values = None
    rounds: list[dict] = []
    for repeat in range(args.repeats):
        order = backends[repeat % len(backends) :] + backends[: repeat % len(backends)]
        found: dict = {}
        for backend in order:
            found[backend] = run_round(backend, args, repeat, values)
            if values is None:
                values = found[backend]["values"]
            elif found[backend]["values"] != values:
                raise SystemExit(f"{backend} drew other configurations: {values}")
        rounds.append(found)
        print(
            f"round {repeat + 1}/{args.repeats} ({', '.join(order)}): "
            + ", ".join(
                f"{b} {found[b]['arms'][ARMS[0]]['wall_s']:.1f} s" for b in order
            ),
            flush=True,
        )
    last = rounds[-1]
    report = {
        "benchmark": "backends",
        "stamp": {**run_stamp(), "machine": last[backends[0]]["device"]},
        "versions": {
            **{b: last[b]["versions"][b] for b in backends},
            **{
                k: v
                for k, v in last[backends[0]]["versions"].items()
                if k not in ("backend", *BACKENDS)
            },
        },
        "seed": args.seed,
        "trials": args.trials,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "values": values,
        "rounds": rounds,
    }
    report["summary"] = summarize(rounds, backends)
    text = table(report)
    write_results(args.out, "backends", report, text)
    print(text)


if __name__ == "__main__":
    main()
