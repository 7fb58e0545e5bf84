"""Regression: the search finds that ``y = x + 10`` wants a linear activation.

A regression `HyperMLP` (``task="regression"``: linear output, mean squared
error, objective ``val_loss``) with ``standardize=True`` learns ``y = x + 10``
from one feature drawn uniformly in ``[-50, 50]``; the inputs are standardised
by a ``Normalization`` layer adapted on the training data. A grid search tries
each hidden activation once, with the architecture and optimiser fixed small.
A target that is exactly linear is fitted best by a ``"linear"`` hidden layer:
the network is then itself linear.

``--taught`` runs it as the classic exercise is taught: train on the
integers 0-99 and test on 100-199, outside anything seen (extrapolation).
Only a linear network extrapolates a line, so the grid must pick
``"linear"``, and its refit model (``predict``) must hit the test targets to
a root mean squared error below 1e-3. A linear target is fitted exactly, so
every sample's gradient vanishes at the solution: small batches (8) with
Adam and ``ReduceLROnPlateau`` converge to float32 precision instead of
jittering around it.

Run:
    python examples/regression_linear.py
    python examples/regression_linear.py --epochs 15 --directory /tmp/runs
    python examples/regression_linear.py --taught

Prints one line per trial, ``best_params_``, ``best_score_`` and the best
model's mean absolute error on new ``x`` (with ``--taught``: the refit
model's test RMSE), and writes them to
``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: The activations the grid tries, one trial each.
ACTIVATIONS = ["relu", "tanh", "linear"]


def make_data(samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``x`` uniformly in ``[-50, 50]`` and returns ``(x, x + 10)``.

    Args:
        samples: Number of samples.
        seed: Seed of the generator.

    Returns:
        ``x`` of shape ``(samples, 1)`` and ``y`` of the same shape.
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-50.0, 50.0, size=(samples, 1)).astype("float32")
    return x, x + 10.0


def taught_data() -> tuple[np.ndarray, ...]:
    """The exercise as taught: ``x`` = 0..99 to train, 100..199 to test."""
    x = np.arange(0, 100, dtype="float32").reshape(-1, 1)
    x_test = np.arange(100, 200, dtype="float32").reshape(-1, 1)
    return x, x + 10.0, x_test, x_test + 10.0


def run_taught(args: argparse.Namespace) -> dict[str, Any]:
    """Train on 0-99, test on 100-199: linear must win, test RMSE < 1e-3."""
    import keras

    import keras_hpo

    x, y, x_test, y_test = taught_data()
    hypermodel = keras_hpo.HyperMLP(
        "regression",
        standardize=True,
        num_layers=1,
        units=8,
        dropout=0.0,
        activation=ACTIVATIONS,
        learning_rate=0.01,
        batch_size=8,
    )
    tuner = keras_hpo.GridSearch(
        hypermodel,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    # validation_split takes the last 20% (x = 80..99): the trials are judged
    # on the top of the range, the refit trains on all of 0..99.
    tuner.search(
        x,
        y,
        validation_split=0.2,
        epochs=args.epochs,
        callbacks=[keras.callbacks.ReduceLROnPlateau("loss", 0.5, 5, min_lr=1e-6)],
    )
    predictions = tuner.predict(x_test)
    rmse = float(np.sqrt(np.mean((predictions - y_test[:, 0]) ** 2)))
    print(f"best_params_: {tuner.best_params_}")
    print(f"test RMSE on x = 100..199: {rmse:.3e}")
    for probe in (100.0, 150.0, 199.0):
        value = float(tuner.predict(np.array([[probe]], dtype="float32"))[0])
        print(f"  f({probe:g}) = {value:.4f} (want {probe + 10:g})")
    summary = {
        "taught": True,
        "activations": ACTIVATIONS,
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "objective": tuner.oracle.objective.name,
        "test_rmse": rmse,
        "scores": dict(
            zip(
                [p["activation"] for p in tuner.cv_results_["params"]],
                tuner.cv_results_["score"],
                strict=True,
            )
        ),
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs per trial")
    parser.add_argument("--samples", type=int, default=1000, help="training samples")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and trials")
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="regression_linear")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    parser.add_argument(
        "--taught",
        action="store_true",
        help="train on 0..99, test on 100..199 (default epochs then 60)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the grid search over activations and checks the best model.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)
    if args.epochs is None:
        args.epochs = 60 if args.taught else 20
    if args.taught:
        return run_taught(args)

    import keras_hpo

    x_train, y_train = make_data(args.samples, args.seed)
    x_val, y_val = make_data(max(args.samples // 4, 1), args.seed + 1)
    x_new, y_new = make_data(500, args.seed + 2)

    hypermodel = keras_hpo.HyperMLP(
        "regression",
        standardize=True,  # inputs become (x - mean) / std inside the model
        num_layers=1,
        units=16,
        dropout=0.0,
        activation=ACTIVATIONS,
        learning_rate=0.02,
        batch_size=32,
    )
    tuner = keras_hpo.GridSearch(
        hypermodel,  # objective: val_loss (mean squared error)
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    tuner.search(x_train, y_train, validation_data=(x_val, y_val), epochs=args.epochs)

    best = tuner.best_model()
    predictions = best.predict(x_new, verbose=0)
    mae = float(np.mean(np.abs(predictions - y_new)))
    probe = np.array([[-40.0], [0.0], [25.0]], dtype="float32")
    probe_predictions = best.predict(probe, verbose=0)[:, 0].tolist()
    print(f"best_params_: {tuner.best_params_}")
    print(f"best_score_ (val_loss): {tuner.best_score_:.3e}")
    print(f"mean absolute error on new x: {mae:.4f}")
    for x, y in zip(probe[:, 0], probe_predictions, strict=True):
        print(f"  f({x:g}) = {y:.3f} (want {x + 10:g})")
    results = tuner.cv_results_
    summary = {
        "activations": ACTIVATIONS,
        "trials": [
            {"number": n, "params": p, "score": s}
            for n, p, s in zip(
                results["number"], results["params"], results["score"], strict=True
            )
        ],
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "objective": tuner.oracle.objective.name,
        "mae_new_x": mae,
        "probe_x": probe[:, 0].tolist(),
        "probe_predictions": probe_predictions,
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


if __name__ == "__main__":
    main()
