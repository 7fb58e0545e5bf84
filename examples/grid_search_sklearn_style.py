"""Grid search described as in scikit-learn's ``GridSearchCV``.

``keras_hpo.GridSearch`` takes a ``param_grid``: a dict of lists (every
combination is tried once), or a list of such dicts (sub-grids tried one after
the other, e.g. a learning rate per optimizer). Knobs left out of the grid keep
`HyperMLP`'s defaults. The grid's size is known before the first trial.

The data is scikit-learn's digits (bundled, no download), split 60/20/20.

Run:
    python examples/grid_search_sklearn_style.py              # 8 combinations
    python examples/grid_search_sklearn_style.py --sub-grids  # 3 combinations
    python examples/grid_search_sklearn_style.py --epochs 2 --directory /tmp/runs

Prints ``Grid size: N``, one line per trial, ``best_params_``, ``best_score_``
and the ``cv_results_`` table, and writes them (with every grid combination)
to ``<directory>/<project-name>/example_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: One grid: 2 x 2 x 2 = 8 combinations.
PARAM_GRID: dict[str, list[Any]] = {
    "units": [32, 64],
    "dropout": [0.0, 0.2],
    "learning_rate": [1e-3, 1e-2],
}

#: A list of sub-grids: SGD with two learning rates, Adam with one (3 in all).
PARAM_SUB_GRIDS: list[dict[str, list[Any]]] = [
    {"optimizer": ["sgd"], "learning_rate": [0.1, 0.01]},
    {"optimizer": ["adam"], "learning_rate": [1e-3]},
]


def format_table(table: dict[str, list], columns: Sequence[str]) -> str:
    """Formats columns of ``cv_results_`` as a plain-text table (no pandas).

    Args:
        table: Column name -> list of values, all of one length.
        columns: The columns to show, in order.

    Returns:
        The table, one row per line, with a header line.
    """

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return "-" if value is None else str(value)

    rows = [[cell(table[c][i]) for c in columns] for i in range(len(table[columns[0]]))]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        for row in [list(columns), *rows]
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The example's command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial")
    parser.add_argument(
        "--sub-grids",
        action="store_true",
        help="search a list of sub-grids (optimizer-specific learning rates)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of split and trials")
    parser.add_argument("--directory", default="keras_hpo_examples")
    parser.add_argument(
        "--project-name",
        default=None,
        help="defaults to grid_sklearn_style, or grid_sklearn_style_sub_grids "
        "with --sub-grids (another space: its own project)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="start afresh instead of resuming"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs the grid search and reports it.

    Args:
        argv: Command-line arguments; ``None`` reads ``sys.argv``.

    Returns:
        What was written to ``example_result.json``.
    """
    args = build_parser().parse_args(argv)

    import keras_hpo
    from keras_hpo.datasets import load_digits

    data = load_digits(seed=args.seed)
    param_grid = PARAM_SUB_GRIDS if args.sub_grids else PARAM_GRID
    hypermodel = keras_hpo.HyperMLP(num_classes=data.num_classes)
    tuner = keras_hpo.GridSearch(
        hypermodel,
        param_grid=param_grid,
        seed=args.seed,
        directory=args.directory,
        project_name=args.project_name
        or ("grid_sklearn_style_sub_grids" if args.sub_grids else "grid_sklearn_style"),
        overwrite=args.overwrite,
    )
    print(f"Grid size: {len(tuner.grid)}", flush=True)

    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
    )

    print(f"best_params_: {tuner.best_params_}")
    print(f"best_score_: {tuner.best_score_:.4f}")
    results = tuner.cv_results_
    columns = ["number"]
    columns += [c for c in results if c.startswith("param_")]
    columns += ["score", "rank_score", "best_epoch", "status"]
    print(format_table(results, columns))

    summary = {
        "param_grid": param_grid,
        "grid_size": len(tuner.grid),
        "grid": list(tuner.grid),
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
