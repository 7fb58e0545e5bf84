"""Random search described as in scikit-learn's ``RandomizedSearchCV``.

``keras_hpo.RandomSearch`` takes ``param_distributions`` (lists, and frozen
``scipy.stats`` ``loguniform`` / ``randint`` / ``uniform`` distributions) and
``n_iter``, the number of trials. The same ``seed`` gives the same sequence of
configurations. Knobs left out keep `HyperMLP`'s defaults.

The data is scikit-learn's digits (bundled, no download), split 60/20/20.

Run:
    python examples/random_search_sklearn_style.py             # n_iter=10
    python examples/random_search_sklearn_style.py --n-iter 4 --epochs 2 \
        --seed 1 --directory /tmp/runs

Prints one line per trial, ``best_params_`` and ``best_score_``, and writes
the sampled configurations in trial order (with the distributions' bounds) to
``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def param_distributions() -> dict[str, Any]:
    """The search space, in ``RandomizedSearchCV``'s terms.

    Returns:
        Hyperparameter name -> list of values or frozen scipy distribution.
    """
    from scipy.stats import loguniform
    from scipy.stats import randint
    from scipy.stats import uniform

    return {
        "learning_rate": loguniform(1e-4, 1e-1),  # log-uniform on [1e-4, 1e-1]
        "units": randint(16, 129),  # integers 16..128 (upper bound excluded)
        "dropout": uniform(0.0, 0.5),  # uniform on [0.0, 0.5] (loc, scale)
        "num_layers": [1, 2],
        "activation": ["relu", "tanh"],
    }


def bounds(distributions: dict[str, Any]) -> dict[str, Any]:
    """Describes each entry's support, for checking the sampled values.

    Args:
        distributions: As returned by `param_distributions`.

    Returns:
        Name -> ``{"low": .., "high": ..}`` (inclusive, ``randint``'s upper
        bound made inclusive) or ``{"choices": [...]}``.
    """
    out: dict[str, Any] = {}
    for name, spec in distributions.items():
        if isinstance(spec, list):
            out[name] = {"choices": list(spec)}
        else:
            low, high = (float(v) for v in spec.support())
            out[name] = {"low": low, "high": high}
    return out


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=10, help="number of trials")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search")
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="random_sklearn_style")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the random search and reports it.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)

    import keras_hpo
    from keras_hpo.datasets import load_digits

    data = load_digits(seed=0)  # the split stays fixed; --seed drives the search
    distributions = param_distributions()
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=data.num_classes),
        param_distributions=distributions,
        n_iter=args.n_iter,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
    )

    print(f"best_params_: {tuner.best_params_}")
    print(f"best_score_: {tuner.best_score_:.4f}")
    results = tuner.cv_results_
    summary = {
        "n_iter": args.n_iter,
        "seed": args.seed,
        "bounds": bounds(distributions),
        "trials": [
            {"number": n, "params": p, "score": s}
            for n, p, s in zip(
                results["number"], results["params"], results["score"], strict=True
            )
        ],
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "objective": tuner.oracle.objective.name,
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


if __name__ == "__main__":
    main()
