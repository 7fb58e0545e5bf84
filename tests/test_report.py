"""Plots of a finished search and `keras-hpo report`, checked on what they draw.

Synthetic searches of 10 and 1,000 trials (a log-sampled learning rate, an
Int, Choices, a conditional hyperparameter and failed trials) are drawn and
written; a tiny real digits search is reported through the command line.
"""

from __future__ import annotations

import dataclasses
import os
import re
import struct

import numpy as np
import pytest
from keras_tuner.engine import hyperparameters as kt_hp
from matplotlib.figure import Figure

from keras_hpo import cli
from keras_hpo.analysis import plots
from keras_hpo.analysis.importance import hyperparameter_importance
from keras_hpo.analysis.report import MARKER
from keras_hpo.analysis.report import PLOTS
from keras_hpo.analysis.report import PNG_SIZES
from keras_hpo.analysis.report import write_report
from keras_hpo.analysis.source import Trials
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus

#: The hyperparameters that vary (``batch_size`` is Fixed), in the space's order.
VARYING = [
    "learning_rate",
    "units",
    "num_layers",
    "activation",
    "optimizer",
    "momentum",
]

SPACE = [
    kt_hp.Float("learning_rate", 1e-4, 1e-1, sampling="log"),
    kt_hp.Int("units", 16, 512, sampling="log"),
    kt_hp.Int("num_layers", 1, 4),
    kt_hp.Choice("activation", ["relu", "tanh", "gelu"]),
    kt_hp.Choice("optimizer", ["adam", "sgd"]),
    kt_hp.Float("momentum", 0.0, 0.99),  # only with optimizer=sgd
    kt_hp.Fixed("batch_size", 32),
]


def synthetic(n: int, *, direction: str = "max", space=SPACE, seed: int = 0) -> Trials:
    """``n`` trials with random values; every 7th (from the 4th) failed."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        lr = float(10 ** rng.uniform(-4, -1))
        values = {
            "learning_rate": lr,
            "units": int(2 ** rng.integers(4, 10)),
            "num_layers": int(rng.integers(1, 5)),
            "activation": str(rng.choice(["relu", "tanh", "gelu"])),
            "optimizer": str(rng.choice(["adam", "sgd"])),
            "batch_size": 32,
        }
        if values["optimizer"] == "sgd":
            values["momentum"] = float(rng.uniform(0.0, 0.99))
        failed = i % 7 == 3
        epochs = int(rng.integers(2, 8))
        peak = 0.95 - 0.1 * abs(np.log10(lr) + 2.5)
        curve = [
            float(peak - 0.3 * 0.5**e + rng.normal(0, 0.01)) for e in range(epochs)
        ]
        if direction == "min":
            curve = [1.0 - c for c in curve]
        best = int(np.argmax(curve) if direction == "max" else np.argmin(curve))
        results.append(
            TrialResult(
                trial_id=f"{i:04d}",
                number=i + 1,
                values=values,
                status=TrialStatus.FAILED if failed else TrialStatus.COMPLETED,
                score=None if failed else curve[best],
                best_epoch=None if failed else best,
                epochs_run=0 if failed else epochs,
                seconds=float(rng.uniform(1, 20)),
                history={} if failed else {"val_score": curve, "score": curve},
                error="boom" if failed else None,
            )
        )
    return Trials(results, objective="val_score", direction=direction, space=space)


@pytest.fixture(scope="module", params=[10, 1000], ids=["10_trials", "1000_trials"])
def trials(request) -> Trials:
    return synthetic(request.param)


def png_size(path: str) -> tuple[int, int]:
    """A PNG's (width, height), read from its IHDR chunk."""
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    assert head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


# -- (a) the plots ------------------------------------------------------------------


def test_optimization_history_draws_scores_best_so_far_and_failures(trials):
    fig = plots.plot_optimization_history(trials)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    done = trials.finished()
    points, failed = ax.collections
    assert points.get_offsets().tolist() == [[r.number, r.score] for r in done]
    assert len(failed.get_offsets()) == len(trials.results) - len(done)
    best = np.maximum.accumulate([r.score for r in done])
    step = ax.lines[0]
    assert list(step.get_ydata()) == [*best, best[-1]]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    failures = len(trials.results) - len(done)
    assert labels == ["trial score", "best so far", f"failed ({failures}, no score)"]
    assert "higher is better" in ax.get_ylabel()


def test_optimization_history_of_a_min_objective_keeps_the_lowest():
    trials = synthetic(10, direction="min")
    ax = plots.plot_optimization_history(trials).axes[0]
    best = np.minimum.accumulate([r.score for r in trials.finished()])
    assert list(ax.lines[0].get_ydata()) == [*best, best[-1]]
    assert "lower is better" in ax.get_ylabel()


def test_learning_curves_of_the_top_trials(trials):
    fig = plots.plot_learning_curves(trials, top=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    top = trials.ranked()[:5]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"trial {r.number}: {r.score:.4g}" for r in top]
    curves = [line for line in ax.lines if line.get_label() in legend]
    for line, result in zip(curves, top, strict=True):
        assert list(line.get_ydata()) == result.history["val_score"]
        assert list(line.get_xdata()) == list(range(1, result.epochs_run + 1))


def test_learning_curves_bound_the_legend_and_name_a_missing_metric():
    trials = synthetic(1000)
    ax = plots.plot_learning_curves(trials, top=40).axes[0]
    assert len(ax.get_legend().get_texts()) == 10
    assert len([line for line in ax.lines if len(line.get_xdata()) > 1]) == 40
    with pytest.raises(ValueError, match="'val_loss'.*logged: score, val_score"):
        plots.plot_learning_curves(trials, metric="val_loss")
    with pytest.raises(ValueError, match="`top`.*Received: top=0"):
        plots.plot_learning_curves(trials, top=0)


def test_parallel_coordinates_has_an_axis_per_hyperparameter_and_the_score(trials):
    fig = plots.plot_parallel_coordinates(trials)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the plot and its colorbar
    ax, bar = fig.axes
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == [
        "learning_rate (log)",
        "units (log)",
        "num_layers",
        "activation",
        "optimizer",
        "momentum",
        "val_score",
    ]
    (lines,) = ax.collections
    segments = lines.get_segments()
    done = trials.finished()
    assert len(segments) == len(done)
    # Inactive momentum (optimizer=adam) crosses its axis at the inactive mark.
    inactive = sum(1 for r in done if "momentum" not in r.values)
    assert sum(1 for s in segments if s[5][1] == pytest.approx(-0.12)) == inactive
    labels = {t.get_text() for t in ax.texts}
    assert {"inactive", "relu", "tanh", "gelu", "adam", "sgd"} <= labels
    assert bar.get_ylabel() == "val_score"


def test_a_few_far_worse_trials_do_not_wash_out_the_colours():
    trials = synthetic(20)
    trials.results[0].score = 0.0  # diverged: far below every other score
    (lines,) = plots.plot_parallel_coordinates(trials).axes[0].collections
    scores = [r.score for r in trials.finished()]
    assert lines.norm.vmin == pytest.approx(np.percentile(scores, 10))
    assert lines.norm.vmax == max(scores)
    assert lines.colorbar.extend == "min"
    even = synthetic(20)
    (lines,) = plots.plot_parallel_coordinates(even).axes[0].collections
    assert lines.norm.vmin == min(r.score for r in even.finished())
    assert lines.colorbar.extend == "neither"


def test_slice_has_a_subplot_per_varying_hyperparameter(trials):
    fig = plots.plot_slice(trials)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(VARYING) + 1  # and the colorbar
    subplots = fig.axes[:-1]
    inactive = sum(1 for r in trials.finished() if "momentum" not in r.values)
    titles = [ax.get_title() for ax in subplots]
    assert titles == [*VARYING[:-1], f"momentum ({inactive} inactive, left out)"]
    scales = [ax.get_xscale() for ax in subplots]
    assert scales == ["log", "log", "linear", "linear", "linear", "linear"]
    activation = subplots[3]
    assert [t.get_text() for t in activation.get_xticklabels()] == [
        "relu",
        "tanh",
        "gelu",
    ]
    assert len(subplots[0].collections[0].get_offsets()) == len(trials.finished())
    assert fig.axes[-1].get_ylabel() == "trial number"


def test_importance_bars_most_important_on_top(trials):
    shares = {"units": 0.2, "learning_rate": 0.7, "activation": 0.1}
    fig = plots.plot_importance(trials, importance=shares)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    # barh draws from the bottom: the most important is the last tick.
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "activation",
        "units",
        "learning_rate",
    ]
    assert [p.get_width() for p in ax.patches] == [0.1, 0.2, 0.7]
    assert [t.get_text() for t in ax.texts] == ["10%", "20%", "70%"]


def test_importance_is_computed_when_not_given():
    ax = plots.plot_importance(synthetic(60), seed=0).axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[-1] == "learning_rate"  # the score depends on it alone
    assert sum(p.get_width() for p in ax.patches) == pytest.approx(1.0)


def test_without_a_space_kinds_are_inferred_from_the_values():
    fig = plots.plot_slice(synthetic(30, space=None))
    subplots = fig.axes[:-1]
    # batch_size is constant, so it is left out even without the space.
    assert [ax.get_title().split(" ")[0] for ax in subplots] == VARYING
    # learning_rate spans 1e-4..1e-1: log; units spans 16..512, less than 100x.
    scales = [ax.get_xscale() for ax in subplots]
    assert scales == ["log", "linear", "linear", "linear", "linear", "linear"]
    assert [t.get_text() for t in subplots[4].get_xticklabels()] == ["adam", "sgd"]


# -- (a) the report -----------------------------------------------------------------


def test_write_report_writes_every_png_and_lists_every_trial(trials, tmp_path):
    written = write_report(trials, tmp_path / "report")
    assert list(written) == [*PLOTS, "index"]
    for name in PLOTS:
        assert written[name] == str(tmp_path / "report" / f"{name}.png")
        assert png_size(written[name]) == PNG_SIZES[name]
        assert os.path.getsize(written[name]) > 10_000
    assert PNG_SIZES["optimization_history"] == (900, 500)
    assert (tmp_path / "report" / MARKER).is_file()
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<script" not in page and "http" not in page
    for name in PLOTS:
        assert f'<img src="{name}.png"' in page
    rows = re.findall(r"<tr(?: class=\"\w+\")?><td>(\d+)</td>", page)
    assert len(rows) == len(trials.results)
    assert sorted(map(int, rows)) == [r.number for r in trials.results]
    assert int(rows[0]) == trials.ranked()[0].number  # best first
    failed = [r.number for r in trials.results if not r.ok]
    assert [int(n) for n in rows[-len(failed) :]] == failed  # failed last


def one_finished() -> Trials:
    """Trial 3 finished, trial 4 failed: too few for importance or slices."""
    four = synthetic(4)
    return dataclasses.replace(four, results=four.results[2:])


def test_write_report_escapes_values_and_explains_plots_it_cannot_draw(tmp_path):
    trials = one_finished()
    trials.results[0].values["activation"] = "<b>&amp"
    written = write_report(trials, tmp_path / "out")
    assert set(written) == {
        "optimization_history",
        "parallel_coordinates",
        "learning_curves",
        "index",
    }
    page = (tmp_path / "out" / "index.html").read_text()
    assert "&lt;b&gt;&amp;amp" in page and "<b>&amp" not in page
    assert "Not drawn: Hyperparameter importance needs at least 2 finished" in page
    assert "Not drawn: A slice plot needs a hyperparameter that took" in page
    assert sorted(os.listdir(tmp_path / "out")) == sorted(
        [MARKER, "index.html", *(f"{n}.png" for n in written if n != "index")]
    )


def test_a_report_folder_is_written_again(tmp_path):
    out = tmp_path / "out"
    out.mkdir()  # an empty folder is fine
    write_report(synthetic(10), out)
    (out / "mine.txt").write_text("kept")
    again = write_report(one_finished(), out)
    assert list(again) == [
        "optimization_history",
        "parallel_coordinates",
        "learning_curves",
        "index",
    ]
    # The older importance and slice plots (ours) went; the user's file stays.
    assert sorted(os.listdir(out)) == sorted(
        [MARKER, "mine.txt", *(os.path.basename(p) for p in again.values())]
    )
    assert (out / "mine.txt").read_text() == "kept"


# -- (b) a folder that is not ours --------------------------------------------------


def test_a_foreign_folder_is_refused_and_left_untouched(tmp_path):
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "index.html").write_text("my page")
    (foreign / "slice.png").write_bytes(b"not a plot")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in foreign.iterdir()}
    with pytest.raises(ValueError) as caught:
        write_report(synthetic(10), foreign)
    message = str(caught.value)
    assert message.startswith("`output_dir`: is a folder that is not empty")
    assert f"output_dir='{foreign}'" in message
    assert "Pass a new or empty folder, or an earlier report's folder." in message
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in foreign.iterdir()}
    assert after == before
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    with pytest.raises(ValueError, match="`output_dir`: exists and is not a folder"):
        write_report(synthetic(10), a_file)
    assert a_file.read_text() == "x"


def test_a_search_without_a_project_needs_an_output_dir():
    with pytest.raises(ValueError, match="`output_dir`: has no default"):
        write_report(synthetic(10))


# -- (c) keras-hpo report on a real search ------------------------------------------


@pytest.fixture(scope="module")
def digits_project(finished_digits_search) -> str:
    """A finished 12-trial random search of HyperMLP on digits (conftest)."""
    return finished_digits_search[0].project_dir


def test_keras_hpo_report_writes_the_report_into_the_project(digits_project, capsys):
    assert cli.main(["report", digits_project]) == 0
    printed = capsys.readouterr().out.split()
    out = os.path.join(digits_project, "report")
    assert printed == [
        *(os.path.join(out, f"{name}.png") for name in PLOTS),
        os.path.join(out, "index.html"),
    ]
    for name in PLOTS:
        assert png_size(os.path.join(out, f"{name}.png")) == PNG_SIZES[name]
    page = open(os.path.join(out, "index.html"), encoding="utf-8").read()
    assert "Objective: <b>val_accuracy</b> (higher is better). 12 trials ended" in page
    assert len(re.findall(r"<tr(?: class=\"\w+\")?><td>\d+</td>", page)) == 12


def test_keras_hpo_report_errors_are_one_line(digits_project, tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-hpo report: error: `directory`: is not a search's")
    assert err.count("\n") == 1
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "a.txt").write_text("a")
    assert cli.main(["report", digits_project, "--output", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("keras-hpo report: error: `--output`: is a folder that")
    assert f"--output '{foreign}'" in err
    assert os.listdir(foreign) == ["a.txt"]


# -- values of scikit-learn grids and lists of grids ----------------------------------


def sklearn_like(n: int = 12) -> Trials:
    """An MLPClassifier-like search as ``result.json`` gives it back: tuples
    as lists, ``max_depth=None`` a value, the space declaring labels."""
    results = []
    for i in range(n):
        depth = [None, 10, 20][i % 3]
        values = {
            "hidden_layer_sizes": [[50], [100, 50]][i % 2],
            "max_depth": depth,
        }
        score = 0.9 if depth is None else 0.6 + 0.001 * i
        results.append(
            TrialResult(f"{i:04d}", i + 1, values, TrialStatus.COMPLETED, score=score)
        )
    space = [
        kt_hp.Choice("hidden_layer_sizes", ["(50,)", "(100, 50)"]),
        kt_hp.Choice("max_depth", ["None", "10", "20"]),
    ]
    return Trials(results, objective="score", direction="max", space=space)


def test_tuples_and_none_of_a_scikit_learn_grid_are_values(tmp_path):
    # Lists crashed the report and importance (unhashable); None was drawn
    # and counted as "inactive", and a grid of [None, 10] lost its axis.
    trials = sklearn_like()
    shares = hyperparameter_importance(trials)
    assert list(shares) == ["max_depth", "hidden_layer_sizes"]
    assert shares["max_depth"] > 0.9
    fig = plots.plot_slice(trials)
    titles = [ax.get_title() for ax in fig.axes[:-1]]
    assert titles == ["hidden_layer_sizes", "max_depth"]  # none "inactive"
    labels = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert labels == ["None", "10", "20"]
    written = write_report(trials, tmp_path / "report")
    assert list(written) == [p for p in PLOTS if p != "learning_curves"] + ["index"]
    page = (tmp_path / "report" / "index.html").read_text()
    assert '<td class="text">None</td>' in page and '">&ndash;</td>' not in page
    two = dataclasses.replace(
        trials, results=[r for r in trials.results if r.values["max_depth"] != 20]
    )
    assert "max_depth" in [ax.get_title() for ax in plots.plot_slice(two).axes]


def test_a_list_of_grids_merges_the_entries_of_one_name():
    # Each sub-grid declares learning_rate: the last entry (a Fixed, or
    # another range) was taken for all, which dropped learning_rate from
    # the plots and encoded one sub-grid's values off its range.
    space = [
        kt_hp.Choice("param_grid_index", [0, 1]),
        kt_hp.Float("learning_rate", 1e-5, 1e-3, sampling="log"),
        kt_hp.Fixed("optimizer", "sgd"),
        kt_hp.Float("learning_rate", 1e-2, 1e-1, sampling="log"),
        kt_hp.Fixed("optimizer", "adam"),
    ]
    rng = np.random.default_rng(0)
    results = []
    for i in range(60):
        grid = i % 2
        low = -5 if grid == 0 else -2
        lr = float(10 ** rng.uniform(low, low + (2 if grid == 0 else 1)))
        score = (np.log10(lr) + 5) / 4 + rng.normal(0, 0.01)
        values = {"learning_rate": lr, "optimizer": ["sgd", "adam"][grid]}
        results.append(
            TrialResult(f"{i:04d}", i + 1, values, TrialStatus.COMPLETED, score=score)
        )
    trials = Trials(results, objective="score", direction="max", space=space)
    shares = hyperparameter_importance(trials)
    assert list(shares)[0] == "learning_rate" and shares["learning_rate"] > 0.6
    fig = plots.plot_slice(trials)
    assert [ax.get_title() for ax in fig.axes[:-1]] == ["learning_rate", "optimizer"]
    assert fig.axes[0].get_xscale() == "log"


def test_importance_does_not_depend_on_the_scores_scale():
    # A spread of 1e-6 was taken for constant trees: every share 0.0.
    base = synthetic(80)
    for scale in (1.0, 1e-6):
        results = [
            dataclasses.replace(
                r, score=None if r.score is None else 0.5 + scale * r.score
            )
            for r in base.results
        ]
        shares = hyperparameter_importance(dataclasses.replace(base, results=results))
        assert list(shares)[0] == "learning_rate"
        assert sum(shares.values()) == pytest.approx(1.0)
