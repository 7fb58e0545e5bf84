"""Pruning and disk: the same random search with and without SuccessiveHalving.

For each seed, keras_hpo's RandomSearch runs the same trials (same seed, same
space, same epochs, default early stopping) twice: without a stopper and with
``SuccessiveHalving``. It reports the total epochs trained, the wall time and
the best validation accuracy of each, and their ratios (median over seeds).
Then keras-tuner's RandomSearch runs the same search with the same seed (it
has no early stopping: every trial trains all its epochs), and the bytes each
tool wrote (``wchar`` of ``/proc/self/io``: every byte passed to ``write``)
are compared per trial. Every run records its date, commit and machine.

Targets (issue 3): pruned epochs <= 40% of unpruned, best accuracy within 0.5
percentage points (median of 3 seeds); keras_hpo writes >= 10x fewer bytes per
trial than keras-tuner.

Run:
    python benchmarks/pruning.py              # digits, 3 seeds x 20 trials x 27 epochs
    python benchmarks/pruning.py --quick      # 1 seed x 6 trials x 9 epochs
    python benchmarks/pruning.py --dataset fashion_mnist --limit 10000

Writes ``benchmarks/results/pruning.json`` and ``pruning.md`` (or under
``--out``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner  # noqa: E402
from common import provenance_note  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_dataset  # noqa: E402
from keras_hpo.stopping import SuccessiveHalving  # noqa: E402


def hypermodel(data) -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(
        num_classes=data.num_classes, input_shape=data.x_train.shape[1:]
    )


def run_ours(data, seed, trials, epochs, stopper) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        tuner = keras_hpo.RandomSearch(
            hypermodel(data),
            max_trials=trials,
            seed=seed,
            stopper=stopper,
            directory=directory,
            verbose=0,
            refit=False,  # the search's epochs; keras-tuner has no refit
        )
        wall, written = timed_search(tuner, data, epochs)
        table = tuner.cv_results_
    return {
        "epochs": sum(table["epochs_run"]),
        "wall_s": wall,
        "best": tuner.best_score_,
        "pruned": table["status"].count("pruned"),
        "bytes_per_trial": written / trials,
        "stamp": run_stamp(),
    }


def run_keras_tuner(data, seed, trials, epochs) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        tuner = keras_tuner.RandomSearch(
            hypermodel(data),
            objective="val_accuracy",
            max_trials=trials,
            seed=seed,
            directory=directory,
        )
        wall, written = timed_search(tuner, data, epochs)
        best = tuner.oracle.get_best_trials(1)[0].score
    return {
        "epochs": trials * epochs,
        "wall_s": wall,
        "best": best,
        "bytes_per_trial": written / trials,
        "stamp": run_stamp(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dataset", default="digits", choices=("digits", "fashion_mnist")
    )
    parser.add_argument("--limit", type=int, default=None, help="training samples")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=27)
    parser.add_argument(
        "--quick", action="store_true", help="1 seed x 6 trials x 9 epochs"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.trials, args.epochs = [1], 6, 9
    data = load_dataset(args.dataset).limit(args.limit)
    stopper = SuccessiveHalving()  # the default: min_epochs=1, reduction_factor=2

    runs = []
    for seed in args.seeds:
        plain = run_ours(data, seed, args.trials, args.epochs, None)
        pruned = run_ours(data, seed, args.trials, args.epochs, stopper)
        theirs = run_keras_tuner(data, seed, args.trials, args.epochs)
        runs.append(
            {"seed": seed, "unpruned": plain, "pruned": pruned, "keras_tuner": theirs}
        )
        print(
            f"seed {seed}: epochs {pruned['epochs']}/{plain['epochs']} "
            f"({pruned['epochs'] / plain['epochs']:.0%}), best "
            f"{pruned['best']:.4f} vs {plain['best']:.4f} (keras-tuner "
            f"{theirs['best']:.4f}), wall {pruned['wall_s']:.0f}s vs "
            f"{plain['wall_s']:.0f}s (keras-tuner {theirs['wall_s']:.0f}s)",
            flush=True,
        )
    report = {
        "benchmark": "pruning",
        "versions": versions(),
        "dataset": args.dataset,
        "limit": args.limit,
        "seeds": args.seeds,
        "trials": args.trials,
        "epochs": args.epochs,
        "stopper": repr(stopper),
        "runs": runs,
    }
    report["summary"] = summarize(runs)
    text = table(report)
    write_results(args.out, "pruning", report, text)
    print(text)


ARMS = ("unpruned", "pruned", "keras_tuner")


def summarize(runs: list[dict]) -> dict:
    """Medians and ranges over the seeds, the ratios and the targets."""
    summary: dict = {
        arm: {key: spread(r[arm][key] for r in runs) for key in ("epochs", "wall_s")}
        | {"best": spread(r[arm]["best"] for r in runs)}
        for arm in ARMS
    }
    summary["epoch_ratio"] = spread(
        r["pruned"]["epochs"] / r["unpruned"]["epochs"] for r in runs
    )
    summary["best_gap_pp"] = spread(
        100 * (r["unpruned"]["best"] - r["pruned"]["best"]) for r in runs
    )
    summary["disk_ratio"] = spread(
        r["keras_tuner"]["bytes_per_trial"] / r["unpruned"]["bytes_per_trial"]
        for r in runs
    )
    summary["bytes_per_trial"] = {
        arm: spread(r[arm]["bytes_per_trial"] for r in runs)
        for arm in ("unpruned", "keras_tuner")
    }
    summary["targets"] = {
        "epoch_ratio <= 0.40": summary["epoch_ratio"]["median"] <= 0.40,
        "best_gap_pp <= 0.5": summary["best_gap_pp"]["median"] <= 0.5,
        "disk_ratio >= 10": summary["disk_ratio"]["median"] >= 10,
    }
    return summary


def _range(s: dict, form: str) -> str:
    return f"{s['median']:{form}} [{s['min']:{form}}, {s['max']:{form}}]"


def table(report: dict) -> str:
    """The report as Markdown: medians over the seeds with their ranges."""
    s, runs = report["summary"], report["runs"]
    names = {
        "unpruned": "keras_hpo, no stopper",
        "pruned": f"keras_hpo, {report['stopper']}",
        "keras_tuner": "keras_tuner.RandomSearch (no early stopping)",
    }
    lines = [
        f"Pruning: RandomSearch on {report['dataset']}, {report['trials']} trials "
        f"x {report['epochs']} epochs, seeds {report['seeds']}; median [min, max] "
        "over the seeds",
        "",
        provenance_note(r[arm] for r in runs for arm in ARMS),
        "",
        "| arm | epochs | wall s | best val_accuracy |",
        "|---|---|---|---|",
    ]
    for arm in ARMS:
        lines.append(
            f"| {names[arm]} | {_range(s[arm]['epochs'], '.0f')} | "
            f"{_range(s[arm]['wall_s'], '.1f')} | {_range(s[arm]['best'], '.4f')} |"
        )
    met = {True: "met", False: "MISSED"}
    t = s["targets"]
    lines += [
        "",
        f"Pruned / unpruned epochs: {_range(s['epoch_ratio'], '.1%')} "
        f"(target <= 40%: {met[t['epoch_ratio <= 0.40']]})",
        f"Best accuracy lost to pruning: {_range(s['best_gap_pp'], '.2f')} "
        f"percentage points (target <= 0.5: {met[t['best_gap_pp <= 0.5']]})",
        f"Bytes written per trial: keras_hpo "
        f"{s['bytes_per_trial']['unpruned']['median'] / 1e3:.0f} kB, keras-tuner "
        f"{s['bytes_per_trial']['keras_tuner']['median'] / 1e3:.0f} kB: "
        f"{_range(s['disk_ratio'], '.1f')}x less (target >= 10x: "
        f"{met[t['disk_ratio >= 10']]})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
