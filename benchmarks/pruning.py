"""Pruning and disk: the same random search with and without SuccessiveHalving.

For each seed, keras_hpo's RandomSearch runs the same trials (same seed, same
space, same epochs, default early stopping) twice: without a stopper and with
``SuccessiveHalving``. It reports the total epochs trained, the wall time and
the best validation accuracy of each, and their ratios (median over seeds).
Then keras-tuner's RandomSearch runs the same search once, and the bytes each
tool wrote (``wchar`` of ``/proc/self/io``: every byte passed to ``write``)
are compared per trial.

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
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_tuner  # noqa: E402
from common import device  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402

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
        )
        wall, written = timed_search(tuner, data, epochs)
        table = tuner.cv_results_
    return {
        "epochs": sum(table["epochs_run"]),
        "wall_s": wall,
        "best": tuner.best_score_,
        "pruned": table["status"].count("pruned"),
        "bytes_per_trial": written / trials,
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
    return {"wall_s": wall, "best": best, "bytes_per_trial": written / trials}


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
        runs.append({"seed": seed, "unpruned": plain, "pruned": pruned})
        print(
            f"seed {seed}: epochs {pruned['epochs']}/{plain['epochs']} "
            f"({pruned['epochs'] / plain['epochs']:.0%}), best "
            f"{pruned['best']:.4f} vs {plain['best']:.4f}, wall "
            f"{pruned['wall_s']:.0f}s vs {plain['wall_s']:.0f}s",
            flush=True,
        )
    theirs = run_keras_tuner(data, args.seeds[0], args.trials, args.epochs)

    def median(key, arm):
        return statistics.median(run[arm][key] for run in runs)

    epoch_ratio = statistics.median(
        run["pruned"]["epochs"] / run["unpruned"]["epochs"] for run in runs
    )
    gap_pp = 100 * statistics.median(
        run["unpruned"]["best"] - run["pruned"]["best"] for run in runs
    )
    ours_bytes = runs[0]["unpruned"]["bytes_per_trial"]
    disk_ratio = theirs["bytes_per_trial"] / ours_bytes
    report = {
        "benchmark": "pruning",
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "versions": versions(),
        "dataset": args.dataset,
        "limit": args.limit,
        "seeds": args.seeds,
        "trials": args.trials,
        "epochs": args.epochs,
        "stopper": repr(stopper),
        "runs": runs,
        "keras_tuner": theirs,
        "median_epoch_ratio": epoch_ratio,
        "median_best_gap_pp": gap_pp,
        "disk_ratio_keras_tuner_over_ours": disk_ratio,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "pruning.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"Pruning: RandomSearch on {args.dataset}, {args.trials} trials x "
        f"{args.epochs} epochs, seeds {args.seeds}; {report['device']}, "
        f"{report['date']}",
        "",
        "| arm | epochs (median) | wall s (median) | best val_accuracy (median) |",
        "|---|---|---|---|",
    ]
    for arm in ("unpruned", "pruned"):
        lines.append(
            f"| keras_hpo {arm} | {median('epochs', arm):.0f} | "
            f"{median('wall_s', arm):.1f} | {median('best', arm):.4f} |"
        )
    lines.append(
        f"| keras_tuner.RandomSearch (seed {args.seeds[0]}) | - | "
        f"{theirs['wall_s']:.1f} | {theirs['best']:.4f} |"
    )
    lines += [
        "",
        f"Pruned / unpruned epochs: {epoch_ratio:.1%} (target <= 40%)",
        f"Best accuracy lost to pruning: {gap_pp:.2f} percentage points "
        "(target <= 0.5)",
        f"Bytes written per trial: keras_hpo {ours_bytes / 1e3:.0f} kB, "
        f"keras-tuner {theirs['bytes_per_trial'] / 1e3:.0f} kB: "
        f"{disk_ratio:.1f}x less (target >= 10x)",
    ]
    (out / "pruning.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
