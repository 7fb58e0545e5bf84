"""After the search: which hyperparameters mattered, and an ensemble of the best.

A random search of `HyperMLP` on scikit-learn's digits (bundled, no
download, split 60/20/20), then:

* ``tuner.importance()``: each hyperparameter's share of the validation
  accuracy's variance (fANOVA on a random forest of the trials);
* ``tuner.ensemble(k=3)``: one Keras model averaging the three best trials'
  probabilities, scored against the best single trial on the test split,
  then saved and loaded back with ``keras.models.load_model``;
* ``tuner.feature_importance(x_test, y_test)``: the pixels the refit model
  relies on most (permutation importance);
* ``keras_hpo.analysis.write_report``: the plots and the HTML page (as
  ``keras-hpo report DIR``), when matplotlib is installed.

Run:
    python examples/after_the_search.py
    python examples/after_the_search.py --trials 6 --epochs 3 --seed 1 \
        --directory /tmp/runs

Prints the importance, both test accuracies and the top pixels, and writes
them to ``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12, help="number of trials")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument("--k", type=int, default=3, help="trials in the ensemble")
    parser.add_argument("--seed", type=int, default=0, help="seed of the search")
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="after_the_search")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    parser.add_argument(
        "--no-report", action="store_true", help="skip the plots and the HTML page"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the search, then the analyses; returns what it writes.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)

    import importlib.util

    import keras
    import numpy as np

    import keras_hpo
    from keras_hpo.datasets import load_digits

    data = load_digits(seed=0)  # the split stays fixed; --seed drives the search
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=data.num_classes),
        max_trials=args.trials,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
        keep_top_k=max(3, args.k),
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
    )

    shares = tuner.importance(seed=0)
    print("importance: " + ", ".join(f"{n} {s:.0%}" for n, s in shares.items()))

    ensemble = tuner.ensemble(k=args.k)
    best = tuner.best_model()

    def accuracy(model: keras.Model) -> float:
        return float(
            np.mean(model.predict(data.x_test, verbose=0).argmax(-1) == data.y_test)
        )

    path = os.path.join(tuner.project_dir, "ensemble.keras")
    ensemble.save(path)
    loaded = keras.models.load_model(path)
    scores = {
        "ensemble_test_accuracy": accuracy(ensemble),
        "best_trial_test_accuracy": accuracy(best),
        "loaded_ensemble_test_accuracy": accuracy(loaded),
    }
    record = tuner.ensemble_record_
    print(
        f"ensemble of trials {record['members']}: validation {record['score']:.4f} "
        f"(best trial {record['best_trial_score']:.4f}); test "
        f"{scores['ensemble_test_accuracy']:.4f} (best trial "
        f"{scores['best_trial_test_accuracy']:.4f}); saved to {path}"
    )

    pixels = tuner.feature_importance(data.x_test, data.y_test, n_repeats=2)
    top = list(pixels.items())[:5]
    print(
        "pixels the refit model relies on most (accuracy lost when shuffled): "
        + ", ".join(f"{name} ({v['mean']:.3f})" for name, v in top)
    )

    report = None
    if not args.no_report and importlib.util.find_spec("matplotlib"):
        from keras_hpo.analysis import write_report

        report = write_report(tuner)["index"]
        print(f"report: {report}")

    summary = {
        "importance": shares,
        "ensemble": record,
        **scores,
        "top_features": [name for name, _ in top],
        "report": report,
    }
    with open(os.path.join(tuner.project_dir, "example_result.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary


if __name__ == "__main__":
    main()
