"""Real tuning: HyperMLP on digits, Fashion-MNIST and MNIST, tool against tool.

Every arm tunes the same HyperMLP search space (`SPACE`: 1-3 layers, 32-512
units on a log scale, dropout 0-0.5, relu/tanh/gelu, learning rate 1e-4 to
0.1 on a log scale, Adam, batch size 128) on the same data with the same
epochs and the same splits, for ``--trials`` trials:

* keras_hpo's ``RandomSearch``, ``BayesianSearch`` and ``GridSearch``, each
  without and with pruning (``stopper=SuccessiveHalving()``); the grid arm
  walks the 24-point `GRID` (a scikit-learn user's ``param_grid``) in order
  until the trial budget is spent (20 trials: its first 20 points);
* ``keras_hpo bayesian unwarped``, an ablation on Fashion-MNIST only: the
  Bayesian search with ``warp_outputs=False``;
* keras-tuner's ``RandomSearch`` and ``BayesianOptimization`` on the same
  HyperMLP, with keras-tuner's defaults (seed + 1: keras-tuner reads 0 as
  "random"). Its Bayesian search samples at random for its first 3 x 7 = 21
  trials (HyperMLP also declares the fixed optimizer and batch size), so
  within 20 trials it is a random search;
* Optuna's ``TPESampler`` and ``GPSampler`` (the latter needs torch, the
  ``bench`` extra; without it that arm is left out and the report says so),
  with an objective that suggests the same hyperparameters (same ranges and
  log scales) and builds the same HyperMLP from them.

No arm stops a trial early except by pruning: every trial trains ``--epochs``
epochs and scores its best epoch's validation accuracy. For each arm and seed
the script records the best validation accuracy after each trial, the test
accuracy of the best trial's best-epoch model (not retrained: keras_hpo's
``best_model()``, keras-tuner's ``get_best_models``, Optuna's kept at trial
end), the wall time and the epochs trained; the summary is the median over
seeds. The issue's target: after 20 trials on Fashion-MNIST, keras_hpo's
Bayesian search is no worse (median best validation accuracy) than
keras-tuner's BayesianOptimization, Optuna's TPE and Optuna's GP. The report
also compares ours with each of them seed by seed (seeds are paired: the
same number, the same data): how often ours is ahead, and the mean
difference with its standard error. One score's noise (0.011 on a retrained
configuration) is about the size of the differences between the arms, so
the committed target check runs 15 seeds.

Data: digits is scikit-learn's (1,078 / 359 / 360 samples); MNIST and
Fashion-MNIST are read from the offline copies in ``../shared/datasets`` when
present (or the folder ``KERAS_HPO_SHARED_DATASETS`` names), otherwise
downloaded by Keras. Their train/validation split is fixed (seed 0: 50,000 /
10,000, and the 10,000 test images). On a CPU the default keeps the first
``--train-limit`` 5,000 training and ``--val-limit`` 5,000 validation samples
(the split is already shuffled); the test set is always whole. Every arm runs
on Fashion-MNIST (``--arms``); the other data sets run `SIDE_ARMS`, every
keras_hpo and keras-tuner arm (``--side-arms``; Optuna is compared where the
target is judged): 78 runs, about 100 minutes on 2 cores.

Run:
    python benchmarks/mlp.py --quick           # digits, 1 seed, 4 trials x 2 epochs
    python benchmarks/mlp.py --jobs 2          # 3 data sets, 3 seeds, 20 x 5 epochs
    python benchmarks/mlp.py --datasets fashion_mnist --arms "keras_hpo bayesian" \
        "keras_tuner bayesian" "optuna tpe" "optuna gp" --seeds 15 --jobs 2
        # ^ the target's four arms on 15 seeds (about 50 minutes on 2 cores)
    # a GPU machine: all the data, every arm everywhere
    python benchmarks/mlp.py --train-limit 0 --val-limit 0 --side-arms all

On a GPU machine nothing changes: TensorFlow uses the GPU, and the device is
recorded. ``--jobs N`` runs N (data set, arm, seed) runs at a time in separate
processes, so wall times then include their contention. Every finished run
is saved at once in ``mlp.partial.json``; after an interruption, the same
command with ``--resume`` goes on from there. Writes
``benchmarks/results/mlp.json``, ``mlp.md`` and ``mlp.png`` (best validation
accuracy so far against trials, median and range over seeds, one panel per
data set; or under ``--out``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import cache
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from common import PartialRuns  # noqa: E402
from common import cpu_model  # noqa: E402
from common import device  # noqa: E402
from common import package_versions  # noqa: E402
from common import provenance_cell  # noqa: E402
from common import provenance_note  # noqa: E402
from common import run_stamp  # noqa: E402
from common import run_tasks  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from drivers import missing_tools  # noqa: E402
from keras_tuner.engine import hyperparameters as kt_hp  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_digits  # noqa: E402
from keras_hpo.datasets import load_fashion_mnist  # noqa: E402
from keras_hpo.datasets import load_mnist  # noqa: E402

HERE = Path(__file__).parent

#: The search space every arm tunes (HyperMLP's knobs).
SPACE = {
    "num_layers": (1, 3),
    "units": (32, 512),
    "dropout": (0.0, 0.5),
    "activation": ["relu", "tanh", "gelu"],
    "learning_rate": (1e-4, 1e-1),
    "optimizer": "adam",
    "batch_size": 128,
}
#: The grid arm's ``param_grid`` (a scikit-learn user's grid): 24 points, tried
#: in this order (the last key varies fastest) until the trial budget is spent,
#: so 20 trials leave out the four 2-layer, 256-unit points with dropout 0.25
#: or learning rate 1e-2. Activation keeps its default, relu.
GRID = {
    "num_layers": [1, 2],
    "units": [64, 256],
    "dropout": [0.0, 0.25],
    "learning_rate": [1e-3, 3e-3, 1e-2],
}
ARMS = (
    "keras_hpo random",
    "keras_hpo bayesian",
    "keras_hpo grid",
    "keras_hpo random + pruning",
    "keras_hpo bayesian + pruning",
    "keras_hpo bayesian unwarped",
    "keras_hpo grid + pruning",
    "keras_tuner random",
    "keras_tuner bayesian",
    "optuna tpe",
    "optuna gp",
)
#: An ablation, not a rival: keras_hpo's Bayesian search with
#: ``warp_outputs=False`` (the scores fitted as they are).
ABLATION = "keras_hpo bayesian unwarped"
#: The arms run on the data sets other than `TARGET_DATASET` by default (CPU
#: time): keras_hpo's and keras-tuner's.
SIDE_ARMS = tuple(
    arm for arm in ARMS if not arm.startswith("optuna") and arm != ABLATION
)
#: The arms the target compares with keras_hpo's Bayesian search.
RIVALS = ("keras_tuner bayesian", "optuna tpe", "optuna gp")
TARGET_DATASET, TARGET_TRIALS = "fashion_mnist", 20


def shared_datasets() -> Path | None:
    override = os.environ.get("KERAS_HPO_SHARED_DATASETS")
    path = Path(override) if override else HERE.parent.parent / "shared" / "datasets"
    return path if (path / "mnist-idx").is_dir() else None


@cache
def load(name: str, train_limit: int, val_limit: int):
    shared = shared_datasets()
    if name == "digits":
        return load_digits(seed=0)
    if name == "mnist":
        data = load_mnist(str(shared / "mnist-idx") if shared else None, seed=0)
    else:
        folder = (
            shared / "keras_home" / "datasets" / "fashion-mnist" if shared else None
        )
        data = load_fashion_mnist(str(folder) if folder else None, seed=0)
    data.x_train = data.x_train.reshape(len(data.x_train), -1)
    data.x_val = data.x_val.reshape(len(data.x_val), -1)
    data.x_test = data.x_test.reshape(len(data.x_test), -1)
    if val_limit:
        data.x_val, data.y_val = data.x_val[:val_limit], data.y_val[:val_limit]
    return data.limit(train_limit or None)


def hypermodel(data) -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(
        num_classes=data.num_classes, input_shape=data.x_train.shape[1:], **SPACE
    )


def test_accuracy(model: keras.Model, data) -> float:
    return float(model.evaluate(data.x_test, data.y_test, verbose=0)[1])


def run_ours(arm: str, data, seed: int, trials: int, epochs: int, directory: str):
    strategy = arm.split()[1]
    kwargs = {
        "max_trials": trials,
        "seed": seed,
        "directory": directory,
        "project_name": "mlp",
        "early_stopping": None,
        "stopper": keras_hpo.SuccessiveHalving() if "pruning" in arm else None,
        "verbose": 0,
        "refit": False,  # best_model() is the best trial's, as keras-tuner's
    }
    if strategy == "grid":
        tuner = keras_hpo.GridSearch(hypermodel(data), param_grid=GRID, **kwargs)
    elif strategy == "random":
        tuner = keras_hpo.RandomSearch(hypermodel(data), **kwargs)
    else:
        tuner = keras_hpo.BayesianSearch(
            hypermodel(data), warp_outputs=arm != ABLATION, **kwargs
        )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
    )
    results = sorted(tuner.results(), key=lambda r: r.number)
    scores = [r.score if r.ok else None for r in results]
    return (
        scores,
        sum(r.epochs_run for r in results),
        test_accuracy(tuner.best_model(), data),
    )


def run_keras_tuner(arm: str, data, seed: int, trials: int, epochs: int, directory):
    common = {
        "objective": "val_accuracy",
        "max_trials": trials,
        "seed": seed + 1,
        "directory": directory,
        "project_name": "mlp",
        "overwrite": True,
    }
    kind = (
        keras_tuner.RandomSearch
        if arm.endswith("random")
        else (keras_tuner.BayesianOptimization)
    )
    tuner = kind(hypermodel(data), **common)
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        verbose=0,
    )
    ended = sorted(tuner.oracle.trials.values(), key=lambda t: int(t.trial_id))
    scores = [t.score for t in ended]
    best = tuner.get_best_models(1)[0]
    return scores, len(ended) * epochs, test_accuracy(best, data)


def suggested(trial, model_of: keras_hpo.HyperMLP) -> keras_tuner.HyperParameters:
    """The hyperparameters an Optuna trial suggests in a HyperMLP's space."""
    hp = keras_tuner.HyperParameters()
    model_of.declare_hyperparameters(hp)
    for item in hp.space:
        if isinstance(item, kt_hp.Fixed):
            continue
        if isinstance(item, kt_hp.Choice):
            value = trial.suggest_categorical(item.name, list(item.values))
        elif isinstance(item, kt_hp.Int):
            value = trial.suggest_int(
                item.name,
                item.min_value,
                item.max_value,
                log=item.sampling == "log",
            )
        else:
            value = trial.suggest_float(
                item.name,
                item.min_value,
                item.max_value,
                log=item.sampling == "log",
            )
        hp.values[item.name] = value
    return hp


def run_optuna(arm: str, data, seed: int, trials: int, epochs: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = (
        optuna.samplers.TPESampler(seed=seed)
        if arm == "optuna tpe"
        else optuna.samplers.GPSampler(seed=seed)
    )
    model_of = hypermodel(data)
    space = keras_tuner.HyperParameters()
    model_of.declare_hyperparameters(space)
    tests: dict[int, float] = {}

    def objective(trial) -> float:
        hp = suggested(trial, model_of)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed * 1000 + trial.number)
        model = model_of.build(hp)
        keep_best = keras.callbacks.EarlyStopping(
            "val_accuracy", mode="max", patience=epochs, restore_best_weights=True
        )
        history = model_of.fit(
            hp,
            model,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=epochs,
            callbacks=[keep_best],
            verbose=0,
        )
        tests[trial.number] = test_accuracy(model, data)
        return max(history.history["val_accuracy"])

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
    scores = [t.value for t in study.trials]
    return scores, trials * epochs, tests[study.best_trial.number]


def run_arm(arm: str, data, seed: int, trials: int, epochs: int) -> dict:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        if arm.startswith("keras_hpo"):
            scores, trained, test = run_ours(arm, data, seed, trials, epochs, directory)
        elif arm.startswith("keras_tuner"):
            scores, trained, test = run_keras_tuner(
                arm, data, seed, trials, epochs, directory
            )
        else:
            scores, trained, test = run_optuna(arm, data, seed, trials, epochs)
    best, curve = -np.inf, []
    for score in scores:
        if score is not None and np.isfinite(score):
            best = max(best, float(score))
        curve.append(best if np.isfinite(best) else None)
    return {
        "arm": arm,
        "dataset": data.name,
        "seed": seed,
        "trials": len(scores),
        "best_so_far": curve,
        "best_val_accuracy": curve[-1],
        "test_accuracy": test,
        "epochs_trained": int(trained),
        "wall_s": time.perf_counter() - start,
        "stamp": run_stamp(),
    }


def summarise(runs: list[dict]) -> dict:
    table: dict = {}
    for run in runs:
        table.setdefault(run["dataset"], {}).setdefault(run["arm"], []).append(run)
    out: dict = {}
    for name, arms in table.items():
        out[name] = {}
        for arm, group in arms.items():
            vals = [r["best_val_accuracy"] for r in group]
            out[name][arm] = {
                "best_val_accuracy": statistics.median(vals),
                "best_val_accuracy_range": [min(vals), max(vals)],
                "test_accuracy": statistics.median(r["test_accuracy"] for r in group),
                "wall_s": statistics.median(r["wall_s"] for r in group),
                "epochs_trained": statistics.median(r["epochs_trained"] for r in group),
                "trials": statistics.median(r["trials"] for r in group),
            }
    return out


def check_target(summary: dict, trials: int) -> dict | None:
    arms = summary.get(TARGET_DATASET)
    if not arms or trials < TARGET_TRIALS or "keras_hpo bayesian" not in arms:
        return None
    ours = arms["keras_hpo bayesian"]["best_val_accuracy"]
    rivals = {a: arms[a]["best_val_accuracy"] for a in RIVALS if a in arms}
    return {
        "dataset": TARGET_DATASET,
        "trials": trials,
        "keras_hpo_bayesian": ours,
        "rivals": rivals,
        "met": all(ours >= v for v in rivals.values()) and len(rivals) == len(RIVALS),
    }


def paired(runs: list[dict]) -> dict:
    """keras_hpo's Bayesian search against each rival, seed by seed.

    Seeds are paired (the same data and the same seed number), so the
    per-seed differences of the best validation accuracy show how often ours
    is ahead and by how much, with a standard error: a median over few seeds
    can flip on one score's noise.

    Returns:
        ``{rival: {"seeds", "wins", "ties", "losses", "mean_difference",
        "standard_error"}}`` on `TARGET_DATASET`; empty without our arm.
    """
    best: dict[str, dict[int, float]] = {}
    for run in runs:
        if run["dataset"] == TARGET_DATASET:
            best.setdefault(run["arm"], {})[run["seed"]] = run["best_val_accuracy"]
    ours = best.get("keras_hpo bayesian", {})
    out = {}
    for rival in RIVALS:
        seeds = sorted(set(ours) & set(best.get(rival, {})))
        if not seeds:
            continue
        diff = np.array([ours[s] - best[rival][s] for s in seeds])
        out[rival] = {
            "seeds": len(seeds),
            "wins": int(np.sum(diff > 0)),
            "ties": int(np.sum(diff == 0)),
            "losses": int(np.sum(diff < 0)),
            "mean_difference": float(diff.mean()),
            "standard_error": (
                float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else None
            ),
        }
    return out


def markdown(report: dict) -> str:
    lines = [
        f"MLP tuning: {report['trials']} trials x {report['epochs']} epochs, seeds "
        f"{report['seeds']}; written {report['stamp']['date']} at commit "
        f"{report['stamp']['commit']} on {report['stamp']['machine']} "
        f"({report['runs_made_now']} of {len(report['runs'])} runs made by that "
        "invocation)",
        "",
        provenance_note(report["runs"]),
        "",
    ]
    for name, arms in report["summary"].items():
        train, val, test = report["samples"][name]
        lines += [
            f"**{name}** ({train} train, {val} validation, {test} test samples; "
            "median over seeds)",
            "",
            "| arm | best val acc [min, max] | test acc of best | epochs | wall s "
            "| runs made (date, commit) |",
            "|---|---|---|---|---|---|",
        ]

        def made(arm: str, name: str = name) -> str:
            return provenance_cell(
                r for r in report["runs"] if r["dataset"] == name and r["arm"] == arm
            )

        for arm in ARMS:
            if arm not in arms:
                continue
            s = arms[arm]
            low, high = s["best_val_accuracy_range"]
            lines.append(
                f"| {arm} | {s['best_val_accuracy']:.4f} [{low:.4f}, {high:.4f}] | "
                f"{s['test_accuracy']:.4f} | {s['epochs_trained']:.0f} | "
                f"{s['wall_s']:.1f} | {made(arm)} |"
            )
        lines.append("")
    for arm, reason in report["skipped"].items():
        lines += [f"Left out: {arm} ({reason}).", ""]
    target = report["target"]
    if target:
        rivals = ", ".join(f"{a} {v:.4f}" for a, v in target["rivals"].items())
        lines.append(
            f"Target ({target['dataset']}, {target['trials']} trials, median best "
            f"val accuracy): keras_hpo bayesian {target['keras_hpo_bayesian']:.4f} "
            f">= {rivals}: {'met' if target['met'] else 'NOT met'}"
        )
    for rival, p in report.get("paired", {}).items():
        error = "" if p["standard_error"] is None else f" +- {p['standard_error']:.4f}"
        lines += [
            "",
            f"Seed by seed against {rival}: ahead on {p['wins']}, tied on "
            f"{p['ties']}, behind on {p['losses']} of {p['seeds']} seeds; mean "
            f"difference {p['mean_difference']:+.4f}{error} (standard error)",
        ]
    return "\n".join(lines) + "\n"


def plot(report: dict, runs: list[dict], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the test extra
        return
    names = list(report["summary"])
    figure, axes = plt.subplots(1, len(names), figsize=(6 * len(names), 4.2))
    axes = np.atleast_1d(axes)
    for axis, name in zip(axes, names, strict=True):
        for arm in ARMS:
            curves = [
                r["best_so_far"]
                for r in runs
                if r["dataset"] == name and r["arm"] == arm
            ]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            grid = np.array(
                [[v if v is not None else np.nan for v in c[:length]] for c in curves]
            )
            x = np.arange(1, length + 1)
            style = "-" if arm.startswith("keras_hpo") else "--"
            axis.plot(x, np.nanmedian(grid, axis=0), style, label=arm)
            axis.fill_between(
                x, np.nanmin(grid, axis=0), np.nanmax(grid, axis=0), alpha=0.12
            )
        # The first trials span 0.1 (a diverged one) to the best: the
        # comparison is in the top few points, from the fifth trial on.
        tail = [
            v
            for r in runs
            if r["dataset"] == name
            for v in r["best_so_far"][4:]
            if v is not None
        ]
        if tail:
            axis.set_ylim(min(tail) - 0.005, max(tail) + 0.003)
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_title(name)
        axis.set_xlabel("trial")
        axis.set_ylabel("best validation accuracy so far")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def one_run(task: tuple[str, str, int], limits: tuple[int, int, int, int]) -> dict:
    name, arm, seed = task
    train_limit, val_limit, trials, epochs = limits
    data = load(name, train_limit, val_limit)
    run = run_arm(arm, data, seed, trials, epochs)
    run["samples"] = [len(data.x_train), len(data.x_val), len(data.x_test)]
    return run


def arms_for(name: str, args) -> list[str]:
    chosen = args.arms if name == TARGET_DATASET else args.side_arms
    return list(ARMS) if chosen == ["all"] else chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--datasets", nargs="+", default=["fashion_mnist", "digits", "mnist"]
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1 .. N")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--train-limit", type=int, default=5_000, help="0: all 50,000 (MNISTs)"
    )
    parser.add_argument(
        "--val-limit", type=int, default=5_000, help="0: all 10,000 (MNISTs)"
    )
    parser.add_argument(
        "--arms", nargs="+", default=["all"], help=f"on {TARGET_DATASET}"
    )
    parser.add_argument(
        "--side-arms",
        nargs="+",
        default=list(SIDE_ARMS),
        help="on the other data sets ('all': every arm)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="digits, 1 seed, 4x2, every arm"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes (one run each)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="go on from <out>/mlp.partial.json"
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    if args.quick:
        args.datasets, args.seeds, args.trials, args.epochs = ["digits"], 1, 4, 2
        args.side_arms = ["all"]
    for chosen in (args.arms, args.side_arms):
        unknown = sorted(set(chosen) - {*ARMS, "all"})
        if unknown:
            parser.error(f"unknown arms {unknown}; choose from {list(ARMS)} or all")
    wanted = sorted({a for n in args.datasets for a in arms_for(n, args)})
    skipped = missing_tools(wanted)
    for arm, reason in skipped.items():
        print(f"Leaving out {arm}: {reason}.", flush=True)
    seeds = list(range(1, args.seeds + 1))
    tasks = []
    for name in args.datasets:
        data = load(name, args.train_limit, args.val_limit)
        arms = [a for a in arms_for(name, args) if a not in skipped]
        print(
            f"{name}: {len(data.x_train)} train, {len(data.x_val)} validation, "
            f"{len(data.x_test)} test samples; arms {arms}",
            flush=True,
        )
        tasks += [(name, arm, seed) for seed in seeds for arm in arms]
    limits = (args.train_limit, args.val_limit, args.trials, args.epochs)
    # Each finished run is saved at once, so an interrupted run goes on with
    # --resume (same options) from where it stopped.
    partial = PartialRuns(
        args.out,
        "mlp",
        {"tasks": tasks, "limits": limits},
        key=lambda run: (run["dataset"], run["arm"], run["seed"]),
        resume=args.resume,
    )
    finished = partial.done()
    todo = [(task, limits) for task in tasks if task not in finished]
    start = time.perf_counter()
    for run in run_tasks(one_run, todo, args.jobs):
        partial.add(run)
        print(
            f"{run['dataset']} seed {run['seed']} {run['arm']}: best val "
            f"{run['best_val_accuracy']:.4f}, test {run['test_accuracy']:.4f}, "
            f"{run['epochs_trained']} epochs, {run['wall_s']:.1f}s "
            f"(total {time.perf_counter() - start:.0f}s)",
            flush=True,
        )
    runs = partial.ordered(tasks)
    summary = summarise(runs)
    report = {
        "benchmark": "mlp",
        "stamp": run_stamp(),
        "runs_made_now": len(todo),
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "cpu": cpu_model(),
        "versions": {**versions(), **package_versions("optuna", "torch")},
        "datasets": args.datasets,
        "arms": {n: arms_for(n, args) for n in args.datasets},
        "seeds": seeds,
        "tool_seeds": "keras_hpo and Optuna: seed; keras-tuner: seed + 1",
        "trials": args.trials,
        "epochs": args.epochs,
        "jobs": args.jobs,
        "train_limit": args.train_limit,
        "val_limit": args.val_limit,
        "samples": {
            n: next(r["samples"] for r in runs if r["dataset"] == n)
            for n in args.datasets
            if any(r["dataset"] == n for r in runs)
        },
        "space": {k: list(v) if isinstance(v, tuple) else v for k, v in SPACE.items()},
        "grid": GRID,
        "skipped": skipped,
        "summary": summary,
        "target": check_target(summary, args.trials),
        "paired": paired(runs),
        "wall_s_of_this_invocation": time.perf_counter() - start,
        "runs": runs,
    }
    text = markdown(report)
    out = write_results(args.out, "mlp", report, text)
    plot(report, runs, out / "mlp.png")
    partial.finish()
    print(text)


if __name__ == "__main__":
    main()
