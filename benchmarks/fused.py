"""Fused trials: trials per hour and quality at equal wall time, fuse=K against rivals.

Every keras_hpo tuner takes ``fuse=K`` (train up to K trials at once as one
fused Keras model; ``fuse=1`` trains them one by one) or ``fuse="auto"``
(groups of up to 32 where a cost model says fusing is faster). This script
compares, in one run, on digits (scikit-learn's, 1,078 training samples) and
on Fashion-MNIST (the first 10,000 training and 5,000 validation samples of
the fixed split, read from ``../shared/datasets``; see ``mlp.py``), for three
HyperMLP search spaces (`SPACES`):

* ``fixed64``: 2 layers of 64 units; learning rate, dropout and activation
  tuned;
* ``fixed256``: the same with 2 layers of 256 units;
* ``default``: HyperMLP's default, heterogeneous space (1-4 layers, 16-512
  units on a log scale, dropout, activation, learning rate),

these arms (`ARMS`): keras_hpo's ``RandomSearch`` and ``BayesianSearch`` with
``fuse=1, 8, 16, 32, "auto"``, keras-tuner's ``RandomSearch`` (seed + 1:
keras-tuner reads 0 as "random") and Optuna's TPE on the same HyperMLP. Every
arm trains every trial for ``--epochs`` epochs (no early stopping), HyperMLP's
default batch size (32) and Adam, and scores a trial by its best epoch's
validation accuracy. keras_hpo runs with its defaults otherwise (TensorBoard
logs and best-weights checkpoints on, ``verbose=0``), as ``mlp.py`` does.

Two parts (``--parts``):

1. **throughput**: each arm runs a fixed number of trials and its trials per
   hour is trials / search wall time x 3600. keras_hpo's arms, ``fuse=1``
   (the baseline of every ratio) included, run ``--trials`` (32) trials, so
   each ratio compares the same number of trials and the same fixed costs
   of a search; keras-tuner and Optuna run ``--serial-trials`` (8), which
   charges them a search's fixed costs over fewer trials (their rates are
   if anything a little low: compare them with care). Each of
   ``--repeats`` rounds runs every arm once, in an order rotated from round
   to round, with the round's number as seed; the report gives the median
   [min, max] over rounds of the trials per hour and of its ratio to
   ``keras_hpo random fuse=1`` in the same round.
2. **quality**: each arm gets ``--budget`` seconds per (data set, space,
   seed), seeds 0 .. ``--seeds`` - 1: keras_hpo's through ``max_time=``
   (checked between fused groups, so a group started before the budget
   finishes), keras-tuner's and Optuna's stop starting trials once it is
   spent (the running one finishes). Only trials that *ended* within the
   budget count (each arm's trial end times are recorded), so a fused group
   or a rival's last trial that ends after it adds nothing. The report
   gives the median [min, max] of that best validation accuracy, the trials
   finished (within the budget, and in all) and the wall time; the
   verdicts say how long the fused arms' searches ran, since a large group
   can run well past a short budget (make ``--budget`` several groups long).

The issue's targets, judged on each data set run, at K=32 (`TARGETS`):
``fixed64``: ``fuse=32`` random >= 10x the trials per hour of ``fuse=1``
random; ``fixed256``: >= 4x; ``default``: ``fuse="auto"`` random >= 1.5x;
``fuse="auto"`` (random and Bayesian) never slower than ``fuse=1`` of its
strategy in any space (ratio of the median rates >= 1); and in the quality part, every
``fuse=32`` and ``fuse="auto"`` arm's median best validation accuracy >= that
of every arm that is neither. Each is printed as met or MISSED; a target
whose arms did not run is printed as not judged.

Run:
    python benchmarks/fused.py --quick     # digits, fixed64, fuse=1 and 8, ~1 min
    python benchmarks/fused.py             # everything (about 7 hours on 2 cores)
    python benchmarks/fused.py --parts throughput   # 3 rounds, about 3 hours
    python benchmarks/fused.py --parts quality --datasets fashion_mnist \
        --budget 120     # 3 spaces x 3 seeds x 12 arms x 120 s: about 3.6 hours
    # a GPU machine: everything, results kept apart from the CPU's
    python benchmarks/fused.py --out benchmarks/results/gpu

On a GPU machine nothing changes: TensorFlow uses the GPU, and the device is
recorded. Writes ``benchmarks/results/fused.json``, ``fused.md`` and
``fused.png`` (trials per hour per arm, log scale, one panel per data set
and space; or under ``--out``), each run stamped with its date, commit and
machine.
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
from common import provenance_note  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from drivers import missing_tools  # noqa: E402
from keras_hpo.callbacks import SearchCallback  # noqa: E402
from mlp import load  # noqa: E402
from mlp import suggested  # noqa: E402

import keras_hpo  # noqa: E402

HERE = Path(__file__).parent

#: HyperMLP's knobs per space; what a space leaves out keeps HyperMLP's default.
SPACES: dict[str, dict] = {
    "fixed64": {
        "num_layers": 2,
        "units": 64,
        "dropout": (0.0, 0.5),
        "activation": ["relu", "tanh", "gelu"],
        "learning_rate": (1e-4, 1e-1),
    },
    "fixed256": {
        "num_layers": 2,
        "units": 256,
        "dropout": (0.0, 0.5),
        "activation": ["relu", "tanh", "gelu"],
        "learning_rate": (1e-4, 1e-1),
    },
    "default": {},
}
FUSES: tuple[int | str, ...] = (1, 8, 16, 32, "auto")


def arm_name(strategy: str, fuse: int | str) -> str:
    return f"keras_hpo {strategy} fuse={fuse}"


#: Every arm, in the order of the tables: name -> (tool, strategy, fuse).
ARMS: dict[str, tuple[str, str, int | str | None]] = {
    **{
        arm_name(strategy, fuse): ("keras_hpo", strategy, fuse)
        for strategy in ("random", "bayesian")
        for fuse in FUSES
    },
    "keras_tuner random": ("keras_tuner", "random", None),
    "optuna tpe": ("optuna", "tpe", None),
}
#: The arm every throughput ratio divides by.
BASELINE = arm_name("random", 1)
#: The arms the quality target judges (each against every arm not in here).
FUSED_TARGET_ARMS = tuple(
    arm_name(s, f) for s in ("random", "bayesian") for f in (32, "auto")
)
#: Throughput targets: (space, arm, minimum median ratio to `BASELINE`).
TARGETS = (
    ("fixed64", arm_name("random", 32), 10.0),
    ("fixed256", arm_name("random", 32), 4.0),
    ("default", arm_name("random", "auto"), 1.5),
)
DATASETS = ("digits", "fashion_mnist")
#: Fashion-MNIST: training and validation samples kept.
TRAIN_LIMIT, VAL_LIMIT = 10_000, 5_000
#: max_trials of an arm that runs until its time budget is spent.
UNBOUNDED = 100_000


def fuses(arm: str) -> bool:
    """Whether ``arm`` trains trials in fused groups."""
    return ARMS[arm][2] not in (None, 1)


def dataset(name: str):
    return load(name, TRAIN_LIMIT, VAL_LIMIT)


def hypermodel(space: str, data) -> keras_hpo.HyperMLP:
    return keras_hpo.HyperMLP(
        num_classes=data.num_classes,
        input_shape=data.x_train.shape[1:],
        **SPACES[space],
    )


def best_of(scores: list[float | None]) -> float | None:
    finite = [float(s) for s in scores if s is not None and np.isfinite(s)]
    return max(finite) if finite else None


class EndTimes(SearchCallback):
    """Records when each trial ended and its score (keras_hpo arms)."""

    def __init__(self):
        self.start = time.perf_counter()
        self.ends: list[tuple[float, float | None]] = []

    def on_trial_end(self, search, result) -> None:
        """Notes the trial's end time, from the search's start."""
        score = result.score if result.ok else None
        self.ends.append((time.perf_counter() - self.start, score))


def run_ours(arm, data, space, seed, trials, epochs, budget, directory) -> dict:
    _, strategy, fuse = ARMS[arm]
    ends = EndTimes()
    kind = keras_hpo.RandomSearch if strategy == "random" else keras_hpo.BayesianSearch
    tuner = kind(
        hypermodel(space, data),
        max_trials=trials or UNBOUNDED,
        seed=seed,
        directory=directory,
        project_name="fused",
        fuse=fuse,
        max_time=budget,
        early_stopping=None,
        verbose=0,
        search_callbacks=[ends],
        refit=False,  # keras-tuner has no refit: compare the searches
    )
    start = ends.start = time.perf_counter()
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
    )
    wall = time.perf_counter() - start
    results = tuner.results()
    finished = [r for r in results if r.ok]
    return {
        "wall_s": wall,
        "trials": len(finished),
        "failed": len(results) - len(finished),
        "epochs_trained": sum(r.epochs_run for r in results),
        "best_val_accuracy": best_of([r.score for r in finished]),
        "stop_reason": tuner.stop_reason,
        "ends": ends.ends,
    }


class BudgetRandomSearch(keras_tuner.RandomSearch):
    """keras-tuner's RandomSearch that starts no trial once ``deadline`` passed."""

    deadline: float | None = None
    start: float = 0.0

    def on_trial_end(self, trial):
        """Notes when each trial ended and its score."""
        super().on_trial_end(trial)
        ended = self.oracle.get_trial(trial.trial_id)
        score = ended.score if ended.status == "COMPLETED" else None
        self.__dict__.setdefault("ends", []).append(
            (time.perf_counter() - self.start, score)
        )

    def pre_create_trial(self):
        """Ends the search (the oracle's own stop) once the deadline passed."""
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            # The oracle's own stop: create_trial answers STOPPED.
            self.oracle.max_trials = len(self.oracle.trials)
        super().pre_create_trial()


def run_keras_tuner(arm, data, space, seed, trials, epochs, budget, directory):
    tuner = BudgetRandomSearch(
        hypermodel(space, data),
        objective="val_accuracy",
        max_trials=trials or UNBOUNDED,
        seed=seed + 1,
        directory=directory,
        project_name="fused",
        overwrite=True,
    )
    start = tuner.start = time.perf_counter()
    tuner.deadline = None if budget is None else start + budget
    wall, _ = timed_search(tuner, data, epochs)
    ended = list(tuner.oracle.trials.values())
    finished = [t for t in ended if t.status == "COMPLETED"]
    return {
        "wall_s": wall,
        "trials": len(finished),
        "failed": len(ended) - len(finished),
        "epochs_trained": len(finished) * epochs,
        "best_val_accuracy": best_of([t.score for t in finished]),
        "stop_reason": "budget" if budget is not None else "max_trials",
        "ends": tuner.__dict__.get("ends", []),
    }


def run_optuna(arm, data, space, seed, trials, epochs, budget, directory):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    model_of = hypermodel(space, data)

    def objective(trial) -> float:
        hp = suggested(trial, model_of)
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed * 1000 + trial.number)
        model = model_of.build(hp)
        history = model_of.fit(
            hp,
            model,
            data.x_train,
            data.y_train,
            validation_data=(data.x_val, data.y_val),
            epochs=epochs,
            verbose=0,
        )
        return max(history.history["val_accuracy"])

    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    start = time.perf_counter()
    ends: list[tuple[float, float | None]] = []

    def ended(study, trial) -> None:
        ends.append((time.perf_counter() - start, trial.value))

    study.optimize(
        objective, n_trials=trials or None, timeout=budget, callbacks=[ended]
    )
    wall = time.perf_counter() - start
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    return {
        "wall_s": wall,
        "trials": len(finished),
        "failed": len(study.trials) - len(finished),
        "epochs_trained": len(finished) * epochs,
        "best_val_accuracy": best_of([t.value for t in finished]),
        "stop_reason": "budget" if budget is not None else "n_trials",
        "ends": ends,
    }


RUNNERS = {"keras_hpo": run_ours, "keras_tuner": run_keras_tuner, "optuna": run_optuna}


def run_arm(arm, data, space, seed, *, trials=None, epochs, budget=None) -> dict:
    """One search of ``arm``: ``trials`` trials, or as many as ``budget`` s allow."""
    with tempfile.TemporaryDirectory() as directory:
        run = RUNNERS[ARMS[arm][0]](
            arm, data, space, seed, trials, epochs, budget, directory
        )
    run.update(arm=arm, dataset=data.name, space=space, seed=seed, stamp=run_stamp())
    if budget is not None:
        # Equal wall time: only trials that ended within the budget count
        # (a fused group, or a rival's last trial, may end after it).
        within = [score for at, score in run["ends"] if at <= budget]
        run["best_val_accuracy_any_time"] = run["best_val_accuracy"]
        run["best_val_accuracy"] = best_of(within)
        run["trials_within_budget"] = sum(s is not None for s in within)
    if trials is not None:
        run["trials_per_hour"] = run["trials"] / run["wall_s"] * 3600
    return run


def warm_up(arms: list[str], data, space: str) -> None:
    """A tiny search of each kind of arm, not counted.

    The first search of each tool in a process pays for its imports and
    TensorFlow's start, which would fall on whichever arm ran first.
    """
    tools = {ARMS[arm][0] for arm in arms}
    kinds = [arm for arm in (BASELINE, arm_name("random", 8)) if arm in arms]
    kinds += [arm for arm in ("keras_tuner random", "optuna tpe") if arm in arms]
    if "keras_hpo" in tools and not kinds:
        kinds = [BASELINE]
    for arm in kinds:
        run_arm(arm, data, space, 0, trials=2, epochs=1)


def rotated(items: list, shift: int) -> list:
    shift %= max(len(items), 1)
    return items[shift:] + items[:shift]


def throughput_part(args, arms: list[str], say) -> list[dict]:
    runs = []
    for name in args.datasets:
        data = dataset(name)
        for space in args.spaces:
            for repeat in range(args.repeats):
                for arm in rotated(arms, repeat):
                    ours = ARMS[arm][0] == "keras_hpo"
                    trials = args.trials if ours else args.serial_trials
                    run = run_arm(
                        arm, data, space, repeat, trials=trials, epochs=args.epochs
                    )
                    run["round"] = repeat
                    runs.append(run)
                    say(
                        f"throughput {name} {space} round {repeat + 1}/"
                        f"{args.repeats} {arm}: {run['trials']} trials in "
                        f"{run['wall_s']:.1f} s, {run['trials_per_hour']:.0f}/h"
                    )
    return runs


def quality_part(args, arms: list[str], say) -> list[dict]:
    runs = []
    for name in args.datasets:
        data = dataset(name)
        for space in args.spaces:
            for seed in range(args.seeds):
                for arm in rotated(arms, seed):
                    run = run_arm(
                        arm, data, space, seed, epochs=args.epochs, budget=args.budget
                    )
                    runs.append(run)
                    best = run["best_val_accuracy"]
                    say(
                        f"quality {name} {space} seed {seed} {arm}: "
                        f"{run['trials']} trials in {run['wall_s']:.1f} s, best val "
                        + ("-" if best is None else f"{best:.4f}")
                    )
    return runs


def by_cell(runs: list[dict]) -> dict:
    """Data set -> space -> arm -> its runs."""
    out: dict = {}
    for run in runs:
        cell = out.setdefault(run["dataset"], {}).setdefault(run["space"], {})
        cell.setdefault(run["arm"], []).append(run)
    return out


def summarise_throughput(runs: list[dict]) -> dict:
    out = by_cell(runs)
    for name, spaces in out.items():
        for space, arms in spaces.items():
            base = {r["round"]: r["trials_per_hour"] for r in arms.get(BASELINE, [])}
            for arm, group in arms.items():
                ratios = [
                    r["trials_per_hour"] / base[r["round"]]
                    for r in group
                    if r["round"] in base
                ]
                arms[arm] = {
                    "trials": sorted({r["trials"] for r in group}),
                    "wall_s": spread(r["wall_s"] for r in group),
                    "trials_per_hour": spread(r["trials_per_hour"] for r in group),
                    "ratio_to_fuse1": spread(ratios) if ratios else None,
                }
            out[name][space] = arms
    return out


def summarise_quality(runs: list[dict]) -> dict:
    out = by_cell(runs)
    for spaces in out.values():
        for arms in spaces.values():
            for arm, group in arms.items():
                scores = [r["best_val_accuracy"] for r in group]
                arms[arm] = {
                    "seeds": len(group),
                    # A search that finished no trial counts as 0.
                    "best_val_accuracy": spread(s or 0.0 for s in scores),
                    "trials": spread(r["trials"] for r in group),
                    "trials_within_budget": spread(
                        r.get("trials_within_budget", r["trials"]) for r in group
                    ),
                    "wall_s": spread(r["wall_s"] for r in group),
                }
    return out


def targets(report: dict) -> list[dict]:
    """Every target on every data set, met, missed or not judged (arm not run)."""
    out = []
    throughput = report["throughput"]
    for name in report["datasets"]:
        for space, arm, minimum in TARGETS:
            if space not in report["spaces"]:
                continue
            cell = throughput.get(name, {}).get(space, {})
            ratio = (cell.get(arm) or {}).get("ratio_to_fuse1")
            out.append(
                {
                    "part": "throughput",
                    "dataset": name,
                    "space": space,
                    "what": f"{arm} trials/hour >= {minimum:g}x {BASELINE}",
                    "measured": ratio["median"] if ratio else None,
                    "met": None if ratio is None else ratio["median"] >= minimum,
                }
            )
        for space in report["spaces"]:
            cell = throughput.get(name, {}).get(space, {})
            for strategy in ("random", "bayesian"):
                auto, one = arm_name(strategy, "auto"), arm_name(strategy, 1)
                runs_of = {a: cell.get(a) for a in (auto, one)}
                measured = None
                if all(runs_of.values()):
                    measured = (
                        runs_of[auto]["trials_per_hour"]["median"]
                        / runs_of[one]["trials_per_hour"]["median"]
                    )
                out.append(
                    {
                        "part": "throughput",
                        "dataset": name,
                        "space": space,
                        "what": f"{auto} never slower than {one} (ratio >= 1)",
                        "measured": measured,
                        "met": None if measured is None else measured >= 1.0,
                    }
                )
    for name, spaces in report["quality"].items():
        for space, arms in spaces.items():
            others = {a: s for a, s in arms.items() if a not in FUSED_TARGET_ARMS}
            for arm in FUSED_TARGET_ARMS:
                ours = arms.get(arm)
                best_other = max(
                    others.items(),
                    key=lambda item: item[1]["best_val_accuracy"]["median"],
                    default=None,
                )
                judged = ours is not None and best_other is not None
                mine = ours["best_val_accuracy"]["median"] if ours else None
                out.append(
                    {
                        "part": "quality",
                        "dataset": name,
                        "space": space,
                        "what": f"{arm} median best val accuracy >= every other arm's"
                        + (f" (best: {best_other[0]})" if best_other else ""),
                        "measured": mine,
                        # A fused group started before the budget finishes:
                        # how far past it this arm's searches ran.
                        "wall_s": ours["wall_s"]["median"] if ours else None,
                        "budget": report.get("budget"),
                        "threshold": (
                            best_other[1]["best_val_accuracy"]["median"]
                            if best_other
                            else None
                        ),
                        "met": (
                            mine >= best_other[1]["best_val_accuracy"]["median"]
                            if judged
                            else None
                        ),
                    }
                )
    return out


def verdict(target: dict) -> str:
    if target["met"] is None:
        return "not judged (its arms did not run)"
    measured = target["measured"]
    value = f"{measured:.4f}" if target["part"] == "quality" else f"{measured:.2f}x"
    if "threshold" in target:
        value += f" vs {target['threshold']:.4f}"
    if target.get("wall_s") is not None and target.get("budget"):
        value += (
            f" (search {target['wall_s']:.1f} s of a {target['budget']:g} s budget)"
        )
    return f"{value}: {'met' if target['met'] else 'MISSED'}"


def markdown(report: dict) -> str:
    stamp = report["stamp"]
    lines = [
        f"Fused trials: {report['epochs']} epochs per trial; written "
        f"{stamp['date']} at commit {stamp['commit']} on {stamp['machine']} "
        f"(load average {stamp['load_average']:.2f})",
        "",
        provenance_note(report["runs"]) if report["runs"] else "No runs.",
        "",
    ]
    samples = report["samples"]
    for name, spaces in report["throughput"].items():
        for space, arms in spaces.items():
            lines += [
                f"**Throughput, {name} ({samples[name][0]} train, "
                f"{samples[name][1]} validation), {space}**: median [min, max] "
                f"over {report['repeats']} rounds; keras_hpo's arms run "
                f"{report['trials']} trials, keras-tuner and Optuna "
                f"{report['serial_trials']} "
                "(trials per hour is a rate)",
                "",
                "| arm | trials | trials/hour | x fuse=1 random | search s |",
                "|---|---|---|---|---|",
            ]
            for arm in ARMS:
                if arm not in arms:
                    continue
                s = arms[arm]
                tph, ratio = s["trials_per_hour"], s["ratio_to_fuse1"]
                ratio_cell = (
                    "-"
                    if ratio is None
                    else f"{ratio['median']:.2f} [{ratio['min']:.2f}, "
                    f"{ratio['max']:.2f}]"
                )
                lines.append(
                    f"| {arm} | {', '.join(map(str, s['trials']))} | "
                    f"{tph['median']:.0f} [{tph['min']:.0f}, {tph['max']:.0f}] | "
                    f"{ratio_cell} | {s['wall_s']['median']:.1f} |"
                )
            lines.append("")
    for name, spaces in report["quality"].items():
        for space, arms in spaces.items():
            lines += [
                f"**Quality at equal wall time, {name}, {space}**: "
                f"{report['budget']:g} s per search, median [min, max] over seeds "
                f"{list(range(report['seeds']))}",
                "",
                "| arm | best val accuracy (trials ended within the budget) "
                "| trials ended within the budget | all trials | search s |",
                "|---|---|---|---|---|",
            ]
            for arm in ARMS:
                if arm not in arms:
                    continue
                s = arms[arm]
                acc, trials = s["best_val_accuracy"], s["trials"]
                within = s["trials_within_budget"]
                lines.append(
                    f"| {arm} | {acc['median']:.4f} [{acc['min']:.4f}, "
                    f"{acc['max']:.4f}] | {within['median']:g} [{within['min']:g}, "
                    f"{within['max']:g}] | {trials['median']:g} [{trials['min']:g}, "
                    f"{trials['max']:g}] | {s['wall_s']['median']:.1f} |"
                )
            lines.append("")
    for arm, reason in report["skipped"].items():
        lines += [f"Left out: {arm} ({reason}).", ""]
    lines += ["Targets:", ""]
    for target in report["targets"]:
        lines.append(
            f"- {target['dataset']}, {target['space']}, {target['what']}: "
            f"{verdict(target)}"
        )
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is in the test extra
        return
    panels = [
        (name, space, arms)
        for name, spaces in report["throughput"].items()
        for space, arms in spaces.items()
    ]
    if not panels:
        return
    figure, axes = plt.subplots(
        1, len(panels), figsize=(max(4.5, 0.45 * len(ARMS)) * len(panels), 4.6)
    )
    axes = np.atleast_1d(axes)
    for axis, (name, space, arms) in zip(axes, panels, strict=True):
        shown = [arm for arm in ARMS if arm in arms]
        rates = [arms[a]["trials_per_hour"] for a in shown]
        medians = [r["median"] for r in rates]
        low = [r["median"] - r["min"] for r in rates]
        high = [r["max"] - r["median"] for r in rates]
        colours = [
            "tab:blue"
            if ARMS[a][1] == "random" and ARMS[a][0] == "keras_hpo"
            else "tab:orange"
            if ARMS[a][0] == "keras_hpo"
            else "tab:gray"
            for a in shown
        ]
        axis.bar(range(len(shown)), medians, yerr=[low, high], color=colours)
        axis.set_yscale("log")
        # Bars on a log scale need a floor below every bar to compare heights.
        axis.set_ylim(bottom=min(r["min"] for r in rates) / 3)
        for x, arm in enumerate(shown):
            ratio = arms[arm]["ratio_to_fuse1"]
            if ratio is not None:
                axis.annotate(
                    f"{ratio['median']:.1f}x",
                    (x, medians[x]),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        axis.set_xticks(range(len(shown)))
        axis.set_xticklabels(
            [a.replace("keras_hpo ", "") for a in shown], rotation=60, ha="right"
        )
        axis.set_title(f"{name}, {space}")
        axis.set_ylabel("trials per hour (median, min-max)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--spaces", nargs="+", default=list(SPACES))
    parser.add_argument("--arms", nargs="+", default=list(ARMS))
    parser.add_argument(
        "--parts", default="throughput,quality", help="throughput,quality"
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument(
        "--trials", type=int, default=32, help="throughput: trials of arms that fuse"
    )
    parser.add_argument(
        "--serial-trials",
        type=int,
        default=8,
        help="throughput: trials of keras-tuner and Optuna",
    )
    parser.add_argument("--repeats", type=int, default=3, help="throughput rounds")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="quality: seconds per search"
    )
    parser.add_argument("--seeds", type=int, default=3, help="quality: seeds 0..N-1")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="digits, fixed64, fuse=1 and 8 random, 8 trials x 2 epochs, "
        "budget 10 s, 1 seed, 1 round",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.spaces = ["digits"], ["fixed64"]
        args.arms = [BASELINE, arm_name("random", 8)]
        args.trials = args.serial_trials = 8
        args.epochs, args.budget, args.seeds, args.repeats = 2, 10.0, 1, 1
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    for chosen, known, what in (
        (args.datasets, DATASETS, "data sets"),
        (args.spaces, SPACES, "spaces"),
        (args.arms, ARMS, "arms"),
        (parts, ("throughput", "quality"), "parts"),
    ):
        unknown = sorted(set(chosen) - set(known))
        if unknown:
            parser.error(f"unknown {what} {unknown}; choose from {list(known)}")
    skipped = missing_tools(args.arms)
    arms = [arm for arm in ARMS if arm in args.arms and arm not in skipped]
    for arm, reason in skipped.items():
        print(f"Leaving out {arm}: {reason}.", flush=True)
    start = time.perf_counter()

    def say(line: str) -> None:
        print(f"{line} (total {time.perf_counter() - start:.0f} s)", flush=True)

    samples = {}
    for name in args.datasets:
        data = dataset(name)
        samples[name] = [len(data.x_train), len(data.x_val)]
        print(f"{name}: {samples[name][0]} train, {samples[name][1]} validation")
    print(f"arms: {arms}", flush=True)
    warm_up(arms, dataset(args.datasets[0]), args.spaces[0])
    throughput = throughput_part(args, arms, say) if "throughput" in parts else []
    quality = quality_part(args, arms, say) if "quality" in parts else []
    report = {
        "benchmark": "fused",
        "stamp": run_stamp(),
        "versions": {**versions(), **package_versions("optuna")},
        "datasets": args.datasets,
        "spaces": args.spaces,
        "space_knobs": {
            s: {k: list(v) if isinstance(v, tuple) else v for k, v in knobs.items()}
            for s, knobs in SPACES.items()
            if s in args.spaces
        },
        "arms": arms,
        "parts": parts,
        "epochs": args.epochs,
        "trials": args.trials,
        "serial_trials": args.serial_trials,
        "repeats": args.repeats,
        "budget": args.budget,
        "seeds": args.seeds,
        "samples": samples,
        "tool_seeds": "keras_hpo and Optuna: seed; keras-tuner: seed + 1",
        "skipped": skipped,
        "throughput": summarise_throughput(throughput),
        "quality": summarise_quality(quality),
        "wall_s_of_this_invocation": time.perf_counter() - start,
        "runs": throughput + quality,
    }
    report["targets"] = targets(report)
    text = markdown(report)
    out = write_results(args.out, "fused", report, text)
    plot(report, out / "fused.png")
    print(text)


if __name__ == "__main__":
    main()
