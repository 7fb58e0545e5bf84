"""Bayesian optimisation of an MLP on Fashion-MNIST.

``keras_hpo.BayesianSearch`` fits a Gaussian process to the finished trials
and proposes the configuration with the highest expected improvement. The
data comes from ``keras.datasets.fashion_mnist.load_data()`` (through
``keras_hpo.datasets.load_fashion_mnist``), which downloads the four files
once into the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``, by default
``~/.keras``); ``--data-dir DIR`` reads the same files from a folder instead.
The training set is split 50,000 / 10,000 into train and validation; the
official 10,000 test images score the best model.

Run:
    python examples/bayesian_fashion_mnist.py                  # 12 trials
    python examples/bayesian_fashion_mnist.py --limit 2000 --max-trials 4 \
        --epochs 2 --directory /tmp/runs                       # about a minute

Prints one line per trial, ``best_params_``, ``best_score_`` (validation
accuracy) and the best model's test accuracy, and writes them to
``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-trials", type=int, default=12, help="trials")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="train on the first N training samples only (default: all 50,000)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0, help="seed of split and search")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="read the four idx files from this folder instead of Keras' cache",
    )
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="fashion_mnist_bayesian")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the Bayesian search and reports it.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)

    import keras_hpo
    from keras_hpo.datasets import load_fashion_mnist

    data = load_fashion_mnist(data_dir=args.data_dir, seed=args.seed)
    data.limit(args.limit)
    print(
        f"Fashion-MNIST: {len(data.x_train)} train, {len(data.x_val)} validation, "
        f"{len(data.x_test)} test images",
        flush=True,
    )
    hypermodel = keras_hpo.HyperMLP(
        num_classes=data.num_classes,  # 28x28 images are flattened by HyperMLP
        num_layers=(1, 3),
        units=[64, 128, 256, 512],
        dropout=(0.0, 0.4),
        activation=["relu", "gelu"],
        learning_rate=(1e-4, 1e-2),
        batch_size=args.batch_size,
    )
    tuner = keras_hpo.BayesianSearch(
        hypermodel,
        max_trials=args.max_trials,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
    )
    seconds = time.perf_counter() - start

    best = tuner.best_model()  # the best trial's weights: no retraining
    test = best.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
    print(f"best_params_: {tuner.best_params_}")
    print(f"best_score_ (val_accuracy): {tuner.best_score_:.4f}")
    print(f"test_accuracy: {test['accuracy']:.4f}")
    summary = {
        "train_samples": len(data.x_train),
        "max_trials": args.max_trials,
        "epochs": args.epochs,
        "trials": [
            {"number": r.number, "params": r.values, "score": r.score}
            for r in tuner.results()
        ],
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "objective": tuner.oracle.objective.name,
        "test_accuracy": float(test["accuracy"]),
        "seconds": seconds,
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


if __name__ == "__main__":
    main()
