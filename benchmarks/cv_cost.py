"""What ``cv=`` costs: k-fold searches against one holdout and a hand loop.

Two parts, each in one process with its arms interleaved (every round runs
every arm once, in an order rotated from round to round) and reported as
median [min, max] over the rounds:

* **HyperMLP on digits** (no download): the same grid of ``--trials``
  configurations, ``--epochs`` epochs each, no early stopping, trained by
  ``GridSearch`` with a 20% holdout (``validation_split=0.2``), with
  ``cv=3`` and with ``cv=5``, on the same 1,437 samples (digits' training
  and validation split joined), and by a hand-written loop that builds and
  fits each configuration on each of the 5 folds with nothing around it
  (the floor of ``cv=5``). A fold trains on (k-1)/k of the rows, the holdout
  on 0.8, so ``cv=k`` should cost about k x (k-1)/k / 0.8 holdout searches:
  2.5 for k=3, 5.0 for k=5 (the "expected" column). Folds train one by
  one, except in the ``cv=5, fuse=auto`` arm, where the configurations'
  folds train as one fused model (one slice per configuration and fold,
  each on its own rows): the line under the table gives it over ``cv=5``
  one by one.
* **A scikit-learn estimator on iris**: the seed's random forest grid
  (27 configurations, ``cv=5``, ``scoring="accuracy"``) by our
  ``GridSearch``, by ``sklearn.model_selection.GridSearchCV`` (``n_jobs=None``)
  and by a hand loop of ``clone``/``set_params``/``fit``/score: the framework
  cost of each, as wall time / hand-loop wall time.

Run:
    python benchmarks/cv_cost.py            # 4 configurations x 5 epochs, 3 rounds
    python benchmarks/cv_cost.py --quick    # 2 x 1 epoch, a small forest grid, 1 round

Writes ``benchmarks/results/cv_cost.json`` and ``cv_cost.md`` (or under
``--out``) with the date, commit, machine and versions.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from common import package_versions  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.metrics import get_scorer  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.model_selection import ParameterGrid  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_digits  # noqa: E402

HOLDOUT = "holdout 20%"
FUSED = "cv=5, fuse=auto"
MLP_ARMS = (HOLDOUT, "cv=3", "cv=5", FUSED, "hand loop, 5 folds")
FOREST_ARMS = ("keras_hpo.GridSearch", "sklearn GridSearchCV", "hand loop")
FOREST_GRID = {
    "n_estimators": [50, 100, 150],
    "max_depth": [None, 10, 20],
    "min_samples_split": [2, 5, 10],
}
QUICK_FOREST_GRID = {"n_estimators": [5, 10], "max_depth": [None, 3]}


def mlp_grid(trials: int) -> dict:
    """A grid of exactly ``trials`` configurations (units x learning rate)."""
    units = [32, 64, 128, 256][: max(1, (trials + 1) // 2)]
    grid = {"units": units, "learning_rate": [1e-3, 3e-3][: 1 if trials == 1 else 2]}
    assert len(ParameterGrid(grid)) == trials, "use 1, 2, 4, 6 or 8 trials"
    return grid


def hypermodel() -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(num_classes=10, input_shape=(64,), num_layers=1)


def run_mlp_arm(arm: str, grid: dict, x, y, epochs: int) -> float:
    """Seconds for one arm of the MLP part."""
    if arm.startswith("hand loop"):
        return hand_mlp_loop(grid, x, y, epochs)
    cv = None if arm == HOLDOUT else int(arm.split(",")[0].split("=")[1])
    with tempfile.TemporaryDirectory() as directory:
        tuner = keras_hpo.GridSearch(
            hypermodel(),
            param_grid=grid,
            cv=cv,
            fuse="auto" if arm == FUSED else 1,
            early_stopping=None,
            refit=False,
            directory=directory,
            verbose=0,
        )
        split = {"validation_split": 0.2} if cv is None else {}
        start = time.perf_counter()
        tuner.search(x, y, epochs=epochs, verbose=0, **split)
        seconds = time.perf_counter() - start
        assert len(tuner.results()) == len(ParameterGrid(grid))
        assert arm != FUSED or all(r.fused_with for r in tuner.results())
    return seconds


def hand_mlp_loop(grid: dict, x, y, epochs: int) -> float:
    """Builds and fits every configuration on each of 5 stratified folds."""
    builder = hypermodel()
    folds = list(StratifiedKFold(5).split(x, y))
    start = time.perf_counter()
    for values in ParameterGrid(grid):
        for train, test in folds:
            hp = keras_tuner.HyperParameters()
            builder.declare_hyperparameters(hp)
            hp.values.update(values)
            keras.backend.clear_session(free_memory=False)
            model = builder.build(hp)
            builder.fit(
                hp,
                model,
                x[train],
                y[train],
                validation_data=(x[test], y[test]),
                epochs=epochs,
                verbose=0,
            )
    return time.perf_counter() - start


def run_forest_arm(arm: str, grid: dict, x, y) -> float:
    """Seconds for one arm of the estimator part."""
    forest = RandomForestClassifier(random_state=0)
    start = time.perf_counter()
    if arm == FOREST_ARMS[0]:
        with tempfile.TemporaryDirectory() as directory:
            tuner = keras_hpo.GridSearch(
                forest,
                param_grid=grid,
                cv=5,
                scoring="accuracy",
                directory=directory,
                verbose=0,
            )
            tuner.search(x, y)
    elif arm == FOREST_ARMS[1]:
        GridSearchCV(forest, grid, cv=5, scoring="accuracy").fit(x, y)
    else:
        scorer = get_scorer("accuracy")
        folds = list(StratifiedKFold(5).split(x, y))
        scores = []
        for values in ParameterGrid(grid):
            for train, test in folds:
                model = clone(forest).set_params(**values).fit(x[train], y[train])
                scores.append(scorer(model, x[test], y[test]))
        best = int(np.argmax(np.reshape(scores, (-1, 5)).mean(axis=1)))
        clone(forest).set_params(**list(ParameterGrid(grid))[best]).fit(x, y)
    return time.perf_counter() - start


def summarize(rounds: list[dict]) -> dict:
    mlp = {
        arm: spread(r["mlp"][arm] / r["mlp"][HOLDOUT] for r in rounds)
        for arm in MLP_ARMS
    }
    floor = FOREST_ARMS[2]
    forest = {
        arm: spread(r["forest"][arm] / r["forest"][floor] for r in rounds)
        for arm in FOREST_ARMS
    }
    cv5_over_loop = spread(
        r["mlp"]["cv=5"] / r["mlp"]["hand loop, 5 folds"] for r in rounds
    )
    fused_over_cv5 = spread(r["mlp"][FUSED] / r["mlp"]["cv=5"] for r in rounds)
    return {
        "mlp_over_holdout": mlp,
        "mlp_fused_cv5_over_cv5": fused_over_cv5,
        "mlp_expected_over_holdout": {"cv=3": 2.5, "cv=5": 5.0},
        "mlp_cv5_over_hand_loop": cv5_over_loop,
        "mlp_seconds": {a: spread(r["mlp"][a] for r in rounds) for a in MLP_ARMS},
        "forest_over_hand_loop": forest,
        "forest_seconds": {
            a: spread(r["forest"][a] for r in rounds) for a in FOREST_ARMS
        },
    }


def _cell(s: dict) -> str:
    return f"{s['median']:.2f} [{s['min']:.2f}, {s['max']:.2f}]"


def table(report: dict) -> str:
    s, stamp = report["summary"], report["stamp"]
    lines = [
        f"cv= cost: {report['trials']} HyperMLP configurations x {report['epochs']} "
        f"epochs on digits ({report['samples']} samples), and a "
        f"{report['forest_configurations']}-configuration random forest grid on "
        f"iris (cv=5); {report['repeats']} interleaved round(s); {stamp['machine']}, "
        f"{stamp['date']}, commit {stamp['commit']}, load average "
        f"{stamp['load_average']:.2f}",
        "",
        "| HyperMLP search | seconds | / holdout search, median [min, max] | "
        "expected |",
        "|---|---|---|---|",
    ]
    expected = s["mlp_expected_over_holdout"]
    for arm in MLP_ARMS:
        guess = expected.get(arm, 5.0 if arm.startswith("hand") else 1.0)
        guess = "< 5.0" if arm == FUSED else f"{guess:.1f}"
        lines.append(
            f"| {arm} | {s['mlp_seconds'][arm]['median']:.1f} | "
            f"{_cell(s['mlp_over_holdout'][arm])} | {guess} |"
        )
    lines += [
        "",
        "Fused folds: the cv=5, fuse=auto search / the cv=5 search one by one: "
        f"{_cell(s['mlp_fused_cv5_over_cv5'])}.",
        "",
        "keras_hpo's cv=5 search / the hand loop of the same 5-fold trainings: "
        f"{_cell(s['mlp_cv5_over_hand_loop'])}.",
        "",
        "| random forest on iris, cv=5 | seconds | / hand loop, median [min, max] |",
        "|---|---|---|",
    ]
    for arm in FOREST_ARMS:
        lines.append(
            f"| {arm} | {s['forest_seconds'][arm]['median']:.2f} | "
            f"{_cell(s['forest_over_hand_loop'][arm])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.trials, args.epochs, args.repeats = 2, 1, 1
    forest_grid = QUICK_FOREST_GRID if args.quick else FOREST_GRID
    data = load_digits(seed=0)
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    x_iris, y_iris = load_iris(return_X_y=True)
    grid = mlp_grid(args.trials)
    rounds = []
    for index in range(args.repeats):
        shift = index % len(MLP_ARMS)
        mlp_order = MLP_ARMS[shift:] + MLP_ARMS[:shift]
        forest_order = FOREST_ARMS[index % 3 :] + FOREST_ARMS[: index % 3]
        rounds.append(
            {
                "mlp": {a: run_mlp_arm(a, grid, x, y, args.epochs) for a in mlp_order},
                "forest": {
                    a: run_forest_arm(a, forest_grid, x_iris, y_iris)
                    for a in forest_order
                },
            }
        )
        print(f"round {index + 1}/{args.repeats}: {rounds[-1]}", flush=True)
    report = {
        "benchmark": "cv_cost",
        "trials": args.trials,
        "epochs": args.epochs,
        "samples": int(len(x)),
        "forest_configurations": len(ParameterGrid(forest_grid)),
        "repeats": args.repeats,
        "rounds": rounds,
        "summary": summarize(rounds),
        "stamp": run_stamp(),
        "versions": {**versions(), **package_versions("scikit-learn")},
    }
    text = table(report)
    write_results(args.out, "cv_cost", report, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
