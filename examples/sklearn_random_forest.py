"""A random forest on iris, tuned by keras_hpo and by scikit-learn side by side.

The seed's workflow: ``RandomForestClassifier`` on iris with
``param_grid={"n_estimators": [50, 100, 150], "max_depth": [None, 10, 20],
"min_samples_split": [2, 5, 10]}``, ``cv=5`` and ``scoring="accuracy"``.
``keras_hpo.GridSearch`` runs it (each trial's line printed as it ends,
results under ``<directory>/<project-name>``, resumable, TensorBoard's
HParams table) and ``sklearn.model_selection.GridSearchCV`` runs it too: the
example prints both ``best_params_`` and ``best_score_`` and whether they
agree. Then ``keras_hpo.RandomSearch`` draws ``n_iter=10`` configurations
from distributions, with a seed, and the refit forest predicts a held-out
test split.

Run:
    python examples/sklearn_random_forest.py
    python examples/sklearn_random_forest.py --quick   # small forests, seconds

Writes ``example_result.json`` in the grid search's project folder.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: The seed's grid.
GRID = {
    "n_estimators": [50, 100, 150],
    "max_depth": [None, 10, 20],
    "min_samples_split": [2, 5, 10],
}


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="n_estimators 5, 10, 20 instead"
    )
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument("--project-name", default="iris_random_forest")
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs both grid searches and the random search; returns the summary.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.
    """
    args = build_parser().parse_args(argv)
    import scipy.stats
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GridSearchCV
    from sklearn.model_selection import train_test_split

    import keras_hpo

    grid = dict(GRID, n_estimators=[5, 10, 20]) if args.quick else GRID
    x, y = load_iris(return_X_y=True)
    forest = RandomForestClassifier(random_state=0)

    tuner = keras_hpo.GridSearch(
        forest,
        param_grid=grid,
        cv=5,
        scoring="accuracy",
        directory=args.directory,
        project_name=args.project_name,
        overwrite=args.overwrite,
    )
    tuner.search(x, y)
    reference = GridSearchCV(forest, grid, cv=5, scoring="accuracy").fit(x, y)
    same = bool(
        tuner.best_params_ == reference.best_params_
        and abs(tuner.best_score_ - reference.best_score_) <= 1e-12
    )
    print(f"keras_hpo.GridSearch: {tuner.best_params_} {tuner.best_score_:.6f}")
    print(f"sklearn GridSearchCV: {reference.best_params_} {reference.best_score_:.6f}")
    print(f"same best_params_ and best_score_ (to 1e-12): {same}")

    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.3, stratify=y, random_state=0
    )
    randomized = keras_hpo.RandomSearch(
        forest,
        param_distributions={
            "n_estimators": scipy.stats.randint(5, 60 if args.quick else 200),
            "max_depth": [None, 2, 4, 8],
            "min_samples_split": scipy.stats.randint(2, 11),
        },
        n_iter=10,
        seed=0,
        cv=5,
        scoring="accuracy",
        directory=args.directory,
        project_name=f"{args.project_name}_random",
        overwrite=args.overwrite,
        verbose=0,
    )
    randomized.search(x_train, y_train)
    test_accuracy = randomized.score(x_test, y_test)
    print(
        f"RandomSearch, n_iter=10: {randomized.best_params_}, cv accuracy "
        f"{randomized.best_score_:.4f}, test accuracy {test_accuracy:.4f}"
    )
    summary = {
        "grid": {k: list(v) for k, v in grid.items()},
        "best_params": tuner.best_params_,
        "best_score": tuner.best_score_,
        "sklearn_best_params": reference.best_params_,
        "sklearn_best_score": float(reference.best_score_),
        "same_as_sklearn": same,
        "grid_trials": len(tuner.results()),
        "random_params": randomized.cv_results_["params"],
        "random_best_params": randomized.best_params_,
        "random_test_accuracy": float(test_accuracy),
    }
    path = os.path.join(tuner.project_dir, "example_result.json")
    with open(path, "w") as handle:
        json.dump(summary, handle, indent=1)
    print(f"Wrote {path}")
    return summary


if __name__ == "__main__":
    main()
