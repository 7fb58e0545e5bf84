"""Framework cost per trial: keras_hpo against keras-tuner, and a plain loop.

For the same random search on scikit-learn's digits (no download), each tool's
whole-search wall time is divided by the time spent inside ``model.fit``; a
ratio of 1.0 means no overhead. A hand-written loop that builds and fits the
same models is the floor. All three run in this one process, one after the
other, with the same hypermodel, data, epochs and number of trials.

Run:
    python benchmarks/overhead.py             # 12 trials of 5 epochs
    python benchmarks/overhead.py --quick     # 4 trials of 2 epochs
    python benchmarks/overhead.py --trials 40 --epochs 1

Writes ``benchmarks/results/overhead.json`` and ``overhead.md`` (or under
``--out``) with the device, the versions and the seed.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
from common import device  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_digits  # noqa: E402


class TimedHyperMLP(keras_hpo.HyperMLP):
    """HyperMLP that adds up the wall time spent inside ``model.fit``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fit_seconds = 0.0

    def fit(self, hp, model, *args, **kwargs):
        """Fits as HyperMLP does, timing the call."""
        start = time.perf_counter()
        try:
            return super().fit(hp, model, *args, **kwargs)
        finally:
            self.fit_seconds += time.perf_counter() - start


def hypermodel() -> TimedHyperMLP:
    return TimedHyperMLP(
        num_classes=10,
        input_shape=(64,),
        num_layers=(1, 3),
        units=[32, 64, 128, 256],
        dropout=[0.0, 0.2],
        activation=["relu", "tanh"],
        learning_rate=[1e-3, 3e-3, 1e-2],
    )


def run_tool(name: str, make_tuner, data, epochs: int) -> dict:
    model = hypermodel()
    with tempfile.TemporaryDirectory() as directory:
        tuner = make_tuner(model, directory)
        wall, _ = timed_search(tuner, data, epochs)
        trials = len(tuner.oracle.trials)
        values = [t.hyperparameters.values for t in tuner.oracle.trials.values()]
    return {
        "tool": name,
        "trials": trials,
        "wall_s": wall,
        "fit_s": model.fit_seconds,
        "ratio": wall / model.fit_seconds,
        "outside_fit_per_trial_s": (wall - model.fit_seconds) / trials,
        "values": values,
    }


def run_loop(values: list[dict], data, epochs: int) -> dict:
    model_builder = hypermodel()
    start = time.perf_counter()
    for trial_values in values:
        hp = keras_tuner.HyperParameters()
        model_builder.declare_hyperparameters(hp)
        hp.values.update(trial_values)
        keras.backend.clear_session(free_memory=False)
        model = model_builder.build(hp)
        model_builder.fit(
            hp,
            model,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=epochs,
            verbose=0,
        )
    wall = time.perf_counter() - start
    return {
        "tool": "hand-written loop",
        "trials": len(values),
        "wall_s": wall,
        "fit_s": model_builder.fit_seconds,
        "ratio": wall / model_builder.fit_seconds,
        "outside_fit_per_trial_s": (wall - model_builder.fit_seconds) / len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="4 trials of 2 epochs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs = 4, 2
    data = load_digits(seed=0)

    def ours(model, directory):
        return keras_hpo.RandomSearch(
            model,
            max_trials=args.trials,
            seed=args.seed,
            directory=directory,
            verbose=0,
        )

    def theirs(model, directory):
        return keras_tuner.RandomSearch(
            model,
            objective="val_accuracy",
            max_trials=args.trials,
            seed=args.seed,
            directory=directory,
        )

    rows = [
        run_tool("keras_hpo.RandomSearch", ours, data, args.epochs),
        run_tool("keras_tuner.RandomSearch", theirs, data, args.epochs),
    ]
    rows.append(run_loop(rows[0].pop("values"), data, args.epochs))
    rows[1].pop("values")
    report = {
        "benchmark": "overhead",
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "versions": versions(),
        "seed": args.seed,
        "trials": args.trials,
        "epochs": args.epochs,
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "overhead.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"Overhead: {args.trials} trials x {args.epochs} epochs on digits, "
        f"{report['device']}, {report['date']}",
        "",
        "| tool | trials | wall s | in-fit s | wall / fit | outside fit per trial s |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['tool']} | {row['trials']} | {row['wall_s']:.1f} | "
            f"{row['fit_s']:.1f} | {row['ratio']:.3f} | "
            f"{row['outside_fit_per_trial_s']:.3f} |"
        )
    ratio = rows[1]["ratio"] / rows[0]["ratio"]
    lines += ["", f"keras-tuner's ratio / keras_hpo's ratio: {ratio:.2f}"]
    (out / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
