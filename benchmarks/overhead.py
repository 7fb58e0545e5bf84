"""Framework cost of a search: wall time against a hand-written loop's.

For the same random search on scikit-learn's digits (no download), each tool's
whole-search wall time is divided by the wall time of a hand-written loop that
builds and fits the same models (the same hyperparameter values, data, epochs
and batch size) with nothing around them: the true floor. That ratio is the
headline; everything a tool does per trial or per epoch (its Keras callbacks,
TensorBoard logging, state files, checkpoints) is inside it.

The three arms run in one process, interleaved: each of ``--repeats``
rounds runs every arm once, in an order rotated from round to round, so a
slow minute of the machine hits every arm alike. The report gives each
ratio's median with its minimum and maximum over the rounds.

Two breakdowns, for reading the headline:

* seconds inside each of keras_hpo's per-epoch Keras callbacks (recording,
  TensorBoard, best weights, the search's control, early stopping), timed
  around every hook they implement, per epoch;
* time outside ``model.fit`` per trial, per tool.

Run:
    python benchmarks/overhead.py             # 12 trials x 5 epochs, 5 rounds
    python benchmarks/overhead.py --quick     # 2 trials x 2 epochs, 2 rounds

Writes ``benchmarks/results/overhead.json`` and ``overhead.md`` (or under
``--out``) with the date, commit, machine, versions and seed.
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
from common import run_stamp  # noqa: E402
from common import spread  # noqa: E402
from common import time_callbacks  # noqa: E402
from common import timed_search  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402

import keras_hpo  # noqa: E402
from keras_hpo.datasets import load_digits  # noqa: E402

#: Target for keras_hpo's search wall / hand-loop wall (median of the rounds).
TARGET = 1.10

OURS = "keras_hpo.RandomSearch"
THEIRS = "keras_tuner.RandomSearch"
LOOP = "hand-written loop"


class TimedHyperMLP(keras_hpo.HyperMLP):
    """HyperMLP that times ``model.fit`` and the Keras callbacks it is given."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fit_seconds = 0.0
        self.epochs = 0
        #: Seconds inside each callback class's hooks.
        self.callback_seconds: dict[str, float] = {}

    def fit(self, hp, model, *args, **kwargs):
        """Fits as HyperMLP does, timing the call and each callback's hooks."""
        time_callbacks(kwargs.get("callbacks") or [], self.callback_seconds)
        start = time.perf_counter()
        try:
            history = super().fit(hp, model, *args, **kwargs)
        finally:
            self.fit_seconds += time.perf_counter() - start
        self.epochs += len(history.epoch)
        return history


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
        trials = list(tuner.oracle.trials.values())
        best_score = tuner.oracle.get_best_trials(1)[0].score
    return {
        "tool": name,
        "trials": len(trials),
        "epochs": model.epochs,
        "wall_s": wall,
        "fit_s": model.fit_seconds,
        "outside_fit_per_trial_s": (wall - model.fit_seconds) / len(trials),
        "callback_s": model.callback_seconds,
        "best_score": best_score,
        "values": [t.hyperparameters.values for t in trials],
    }


def run_loop(values: list[dict], data, epochs: int) -> dict:
    """Builds and fits the models of ``values`` by hand: the floor."""
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
        "tool": LOOP,
        "trials": len(values),
        "epochs": model_builder.epochs,
        "wall_s": wall,
        "fit_s": model_builder.fit_seconds,
        "outside_fit_per_trial_s": (wall - model_builder.fit_seconds) / len(values),
        "callback_s": {},
    }


def tuner_makers(trials: int, seed: int):
    """``(ours, theirs)``: each makes its tool's seeded random search."""

    def ours(model, directory, trials=trials):
        return keras_hpo.RandomSearch(
            model,
            max_trials=trials,
            seed=seed,
            directory=directory,
            verbose=0,
            refit=False,  # the search's cost; keras-tuner has no refit
        )

    def theirs(model, directory, trials=trials):
        return keras_tuner.RandomSearch(
            model,
            objective="val_accuracy",
            max_trials=trials,
            seed=seed,
            directory=directory,
        )

    return ours, theirs


def warm_up(data, ours, theirs) -> None:
    """One model and one search per tool, not counted.

    The first model and the first search of a process pay for initialising
    the backend and the tools' code, which would fall on whichever arm ran
    first.
    """
    run_loop([{}], data, 1)
    for make in (ours, theirs):
        run_tool("warm-up", functools.partial(make, trials=1), data, 1)


def summarize(rounds: list[dict]) -> dict:
    """Per-round ratios to the hand loop, and their spread over the rounds."""
    summary: dict = {"wall_over_loop": {}, "outside_fit_per_trial_s": {}}
    for tool in (OURS, THEIRS, LOOP):
        summary["wall_over_loop"][tool] = spread(
            r[tool]["wall_s"] / r[LOOP]["wall_s"] for r in rounds
        )
        summary["outside_fit_per_trial_s"][tool] = spread(
            r[tool]["outside_fit_per_trial_s"] for r in rounds
        )
    names = sorted({name for r in rounds for name in r[OURS]["callback_s"]})
    summary["callback_ms_per_epoch"] = {
        name: spread(
            1000 * r[OURS]["callback_s"].get(name, 0.0) / r[OURS]["epochs"]
            for r in rounds
        )
        for name in names
    }
    summary["callback_ms_per_epoch_total"] = spread(
        1000 * sum(r[OURS]["callback_s"].values()) / r[OURS]["epochs"] for r in rounds
    )
    summary["loop_ms_per_epoch"] = spread(
        1000 * r[LOOP]["wall_s"] / r[LOOP]["epochs"] for r in rounds
    )
    ours = summary["wall_over_loop"][OURS]["median"]
    summary["target"] = {
        "wall_over_loop": TARGET,
        "measured": ours,
        "met": ours <= TARGET,
    }
    return summary


def table(report: dict) -> str:
    s = report["summary"]
    stamp = report["stamp"]
    lines = [
        f"Overhead: {report['trials']} trials x {report['epochs']} epochs on "
        f"digits, {report['repeats']} interleaved rounds; {stamp['machine']}, "
        f"{stamp['date']}, commit {stamp['commit']}, load average "
        f"{stamp['load_average']:.2f}",
        "",
        "| tool | search wall / hand-loop wall, median [min, max] | "
        "s outside fit per trial, median |",
        "|---|---|---|",
    ]
    for tool in (OURS, THEIRS, LOOP):
        ratio = s["wall_over_loop"][tool]
        outside = s["outside_fit_per_trial_s"][tool]
        lines.append(
            f"| {tool} | {ratio['median']:.3f} [{ratio['min']:.3f}, "
            f"{ratio['max']:.3f}] | {outside['median']:.3f} |"
        )
    target = s["target"]
    verdict = "met" if target["met"] else "MISSED"
    lines += [
        "",
        f"Target: keras_hpo's search wall / hand-loop wall <= {TARGET:.2f}: "
        f"{target['measured']:.3f}, {verdict}.",
        "",
        f"Per epoch, the hand loop takes {s['loop_ms_per_epoch']['median']:.1f} ms; "
        "keras_hpo's Keras callbacks take (ms per epoch, median [min, max]):",
        "",
        "| callback | ms per epoch |",
        "|---|---|",
    ]
    for name, ms in [
        *s["callback_ms_per_epoch"].items(),
        ("all of them", s["callback_ms_per_epoch_total"]),
    ]:
        lines.append(
            f"| {name} | {ms['median']:.2f} [{ms['min']:.2f}, {ms['max']:.2f}] |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="2 trials x 2 epochs, 2 rounds"
    )
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.trials, args.epochs, args.repeats = 2, 2, 2
    data = load_digits(seed=0)

    ours, theirs = tuner_makers(args.trials, args.seed)
    warm_up(data, ours, theirs)
    values: list[dict] | None = None
    rounds = []
    for repeat in range(args.repeats):
        order = [OURS, THEIRS, LOOP]
        if values is not None:
            order = order[repeat % 3 :] + order[: repeat % 3]
        results: dict = {}
        for tool in order:
            if tool == OURS:
                results[tool] = run_tool(OURS, ours, data, args.epochs)
                found = results[tool].pop("values")
                if values is not None and found != values:
                    raise SystemExit(f"round {repeat}: another seeded search drew")
                values = found
            elif tool == THEIRS:
                results[tool] = run_tool(THEIRS, theirs, data, args.epochs)
                results[tool].pop("values")
            else:
                results[tool] = run_loop(values, data, args.epochs)
        results["order"] = order
        rounds.append(results)
        print(
            f"round {repeat + 1}/{args.repeats} ({', '.join(order)}): "
            + ", ".join(f"{t} {results[t]['wall_s']:.2f} s" for t in order)
        )
    report = {
        "benchmark": "overhead",
        "stamp": run_stamp(),
        "versions": versions(),
        "seed": args.seed,
        "trials": args.trials,
        "epochs": args.epochs,
        "repeats": args.repeats,
        "rounds": rounds,
    }
    report["summary"] = summarize(rounds)
    text = table(report)
    write_results(args.out, "overhead", report, text)
    print(text)


if __name__ == "__main__":
    main()
