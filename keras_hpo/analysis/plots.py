"""Figures of a finished search, drawn without pyplot.

Every function takes a ``search`` (anything `keras_hpo.analysis.source.trials_of`
accepts: a tuner, a `keras_hpo.load` result, a project folder's path or a
`Trials`) and returns a `matplotlib.figure.Figure` of the size in `FIGSIZES`.
The figures are built with `matplotlib.figure.Figure` directly, so no
backend or global pyplot state is touched: save one with
``fig.savefig("plot.png")``, or show it in a notebook by leaving it as a
cell's value.

Hyperparameters are read from the search space where it is known: ``Fixed``
ones are left out, ``Float``/``Int`` ones sampled on a log scale get a log
axis, ``Choice`` and ``Boolean`` ones get one evenly spaced, labelled tick
per value. Without a space, strings and booleans are categories and numbers
are numeric (on a log axis when all are positive and span a factor of 100 or
more). A hyperparameter with a single value in the finished trials is left
out. Failed trials have no score: they are left out of every plot but the
optimization history, which marks them, and the figure's title says how
many were left out.

matplotlib is an optional dependency: ``pip install "keras-hpo[report]"``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from typing import Any

import numpy as np

from keras_hpo.analysis.plot_parts import FIGSIZES
from keras_hpo.analysis.plot_parts import INACTIVE
from keras_hpo.analysis.plot_parts import MAX_LEGEND
from keras_hpo.analysis.plot_parts import Axis
from keras_hpo.analysis.plot_parts import alpha_for
from keras_hpo.analysis.plot_parts import axes_of
from keras_hpo.analysis.plot_parts import axis_ticks
from keras_hpo.analysis.plot_parts import better
from keras_hpo.analysis.plot_parts import category_ticks
from keras_hpo.analysis.plot_parts import left_out
from keras_hpo.analysis.plot_parts import line_colors
from keras_hpo.analysis.plot_parts import log_ticks
from keras_hpo.analysis.plot_parts import marker_size
from keras_hpo.analysis.plot_parts import new_figure
from keras_hpo.analysis.plot_parts import score_colors
from keras_hpo.analysis.source import require_finished
from keras_hpo.analysis.source import trials_of
from keras_hpo.errors import bad_value

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FIGSIZES",
    "plot_importance",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_parallel_coordinates",
    "plot_slice",
]


def plot_optimization_history(search: Any) -> Figure:
    """The score of every trial, by trial number, and the best so far.

    Finished trials are points; the best score so far is a step line
    (the highest for a ``max`` objective, the lowest for ``min``). Failed
    trials have no score: they are marked with an ``x`` on the bottom edge.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials` (see `keras_hpo.analysis.source.trials_of`).

    Returns:
        A figure with one axes.

    Raises:
        ValueError: If no trial has a score.
        ImportError: If matplotlib is not installed.
    """
    trials = trials_of(search)
    done = require_finished(trials, 1, "An optimization history")
    fig = new_figure("optimization_history")
    ax = fig.add_subplot()
    numbers = np.array([r.number for r in done])
    scores = np.array([r.score for r in done], dtype=float)
    best = (np.maximum if trials.direction == "max" else np.minimum).accumulate(scores)
    n = len(trials.results)
    ax.scatter(
        numbers,
        scores,
        s=marker_size(n),
        alpha=alpha_for(n),
        color="C0",
        edgecolors="none",
        label="trial score",
        zorder=2,
    )
    last = max(r.number for r in trials.results)
    ax.step(
        [*numbers, last],
        [*best, best[-1]],
        where="post",
        color="C3",
        lw=2.0,
        label="best so far",
        zorder=3,
    )
    failed = [r.number for r in trials.results if not r.ok]
    if failed:
        ax.scatter(
            failed,
            [0.02] * len(failed),
            transform=ax.get_xaxis_transform(),
            marker="x",
            s=marker_size(n) * 0.8,
            color="0.35",
            alpha=max(alpha_for(n), 0.5),
            label=f"failed ({len(failed)}, no score)",
            zorder=2,
        )
    ax.set_xlabel("trial")
    ax.set_ylabel(f"{trials.objective} ({better(trials.direction)})")
    ax.set_title(f"Optimization history: {n} trials")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if trials.direction == "max" else "upper right")
    return fig


def plot_learning_curves(
    search: Any, top: int = 5, metric: str | None = None
) -> Figure:
    """The per-epoch curve of the best trials, one line each.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials`.
        top: How many of the best trials to draw (those with a per-epoch
            history of ``metric``); the legend names at most 10 of them.
        metric: The logged metric to draw (default: the objective, e.g.
            ``val_accuracy``). Each trial's best epoch is marked.

    Returns:
        A figure with one axes; the legend reads ``trial N: score``.

    Raises:
        ValueError: If ``top`` is not a positive integer, or no finished
            trial logged ``metric`` per epoch.
        ImportError: If matplotlib is not installed.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise bad_value("top", top, "must be a positive integer", "Pass e.g. top=5.")
    trials = trials_of(search)
    metric = metric or trials.objective
    require_finished(trials, 1, "Learning curves")
    best = [r for r in trials.ranked() if r.history.get(metric)][:top]
    if not best:
        logged = sorted({m for r in trials.finished() for m in r.history})
        raise ValueError(
            f"No finished trial logged {metric!r} per epoch (logged: "
            f"{', '.join(logged) or 'nothing'}). Pass metric= one of those; trials "
            "rebuilt from trial.json have no per-epoch history."
        )
    fig = new_figure("learning_curves")
    ax = fig.add_subplot()
    colors = line_colors(len(best))
    width = float(np.clip(2.2 / len(best) ** 0.25, 0.7, 2.0))
    for i, (result, color) in enumerate(zip(best, colors, strict=True)):
        curve = result.history[metric]
        epochs = np.arange(1, len(curve) + 1)
        label = f"trial {result.number}: {result.score:.4g}" if i < MAX_LEGEND else None
        ax.plot(epochs, curve, color=color, lw=width, alpha=0.9, label=label)
        # The drawn curve is the last training's (a cv= trial's last fold).
        best_epoch = (result.folds or [{}])[-1].get("best_epoch", result.best_epoch)
        if best_epoch is not None and best_epoch < len(curve):
            ax.plot(best_epoch + 1, curve[best_epoch], "o", color=color, ms=4)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    more = f" (legend: the best {MAX_LEGEND})" if len(best) > MAX_LEGEND else ""
    ax.set_title(f"{metric} per epoch: the {len(best)} best trials{more}")
    ax.grid(alpha=0.3)
    ax.legend(title=f"trial: {trials.objective}", fontsize="small")
    return fig


def plot_parallel_coordinates(search: Any) -> Figure:
    """One vertical axis per hyperparameter and a last one for the score.

    Each finished trial is a line through its values, coloured by its score
    (the best brightest, drawn on top). Numeric axes run from the smallest
    to the largest value tried, on a log scale for log-sampled
    hyperparameters; categorical axes have one evenly spaced, labelled tick
    per value. A trial where a (conditional) hyperparameter was inactive
    crosses that axis at a separate ``inactive`` mark below it. When a few
    trials scored far worse than the rest, the colours start at the 10th
    percentile (those few share the darkest colour; the colorbar has an
    arrow at that end), so the good trials stay distinguishable.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials`.

    Returns:
        A figure with two axes: the plot and its colorbar.

    Raises:
        ValueError: If no trial has a score.
        ImportError: If matplotlib is not installed.
    """
    trials = trials_of(search)
    done = require_finished(trials, 1, "A parallel coordinates plot")
    axes = axes_of(trials, done)
    scores = [float(r.score) for r in done]
    fig = new_figure("parallel_coordinates")
    ax = fig.add_subplot()
    cmap, norm, extend = score_colors(trials, scores)
    score_axis = Axis(trials.objective, "linear")
    columns = []  # (axis, lo, hi, values)
    for axis in [*axes, score_axis]:
        values = (
            [axis.value(r) for r in done] if axis is not score_axis else list(scores)
        )
        present = [v for v in values if v is not None]
        columns.append((axis, min(present), max(present), values))
    lines = np.empty((len(done), len(columns), 2))
    inactive = [False] * len(columns)
    for j, (axis, lo, hi, values) in enumerate(columns):
        for i, value in enumerate(values):
            y = INACTIVE if value is None else axis.unit(value, lo, hi)
            inactive[j] = inactive[j] or value is None
            lines[i, j] = (j, y)
    from matplotlib.collections import LineCollection

    order = np.argsort(scores if trials.direction == "max" else -np.array(scores))
    n = len(done)
    collection = LineCollection(
        lines[order],
        cmap=cmap,
        norm=norm,
        linewidths=float(np.clip(2.5 / n**0.25, 0.4, 2.0)),
        alpha=alpha_for(n, low=0.2),
    )
    collection.set_array(np.array(scores)[order])
    ax.add_collection(collection)
    for j, (axis, lo, hi, _) in enumerate(columns):
        ax.axvline(j, color="0.25", lw=1.0, zorder=3)
        ticks = axis_ticks(axis, lo, hi)
        if inactive[j]:
            ticks.append((INACTIVE, "inactive"))
        for y, label in ticks:
            ax.annotate(
                label,
                (j, y),
                xytext=(-4, 0),
                textcoords="offset points",
                ha="right",
                va="center",
                fontsize=8,
                zorder=4,
                bbox={
                    "boxstyle": "round,pad=0.1",
                    "fc": "white",
                    "ec": "none",
                    "alpha": 0.7,
                },
            )
            ax.plot([j - 0.02, j], [y, y], color="0.25", lw=1.0, zorder=3)
    names = [a.name + (" (log)" if a.kind == "log" else "") for a, *_ in columns]
    ax.set_xticks(range(len(columns)), names)
    if len(columns) > 6 or max(len(name) for name in names) > 14:
        ax.tick_params(axis="x", labelrotation=20)
        for text in ax.get_xticklabels():
            text.set_horizontalalignment("right")
    ax.set_xlim(-0.45, len(columns) - 1 + 0.15)
    ax.set_ylim(INACTIVE - 0.06 if any(inactive) else -0.05, 1.05)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_title(f"Parallel coordinates: {n} trials{left_out(trials)}")
    bar = fig.colorbar(
        collection, ax=ax, pad=0.01, label=trials.objective, extend=extend
    )
    bar.solids.set_alpha(1.0)
    return fig


def plot_importance(
    search: Any, importance: dict[str, float] | None = None, seed: int = 0
) -> Figure:
    """Each hyperparameter's share of the importance, the most important on top.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials`.
        importance: Hyperparameter name -> share (as
            `keras_hpo.analysis.importance.hyperparameter_importance` returns);
            computed from ``search`` with ``seed`` when ``None``.
        seed: The seed of the importance estimate, when it is computed here.

    Returns:
        A figure with one axes of horizontal bars, each labelled with its
        share in percent.

    Raises:
        ValueError: If ``importance`` is empty, or (when computed) the
            search has too few finished trials.
        ImportError: If matplotlib is not installed.
    """
    if importance is None:
        from keras_hpo.analysis.importance import hyperparameter_importance

        importance = hyperparameter_importance(search, seed=seed)
    if not importance:
        raise bad_value(
            "importance",
            importance,
            "is empty",
            "Pass hyperparameter name -> share, or None to compute it.",
        )
    items = sorted(importance.items(), key=lambda kv: (-kv[1], kv[0]))[::-1]
    fig = new_figure("importance")
    ax = fig.add_subplot()
    shares = [float(share) for _, share in items]
    positions = np.arange(len(items))
    ax.barh(positions, shares, color="C0", height=0.7)
    font = "medium" if len(items) <= 15 else "x-small"
    ax.set_yticks(positions, [name for name, _ in items], fontsize=font)
    for y, share in zip(positions, shares, strict=True):
        ax.annotate(
            f"{share:.0%}" if share >= 0.01 else f"{share:.1%}",
            (share, y),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=font,
        )
    ax.set_xlim(0, max(max(shares), 1e-9) * 1.15)
    ax.xaxis.set_major_formatter(lambda x, _: f"{x:.0%}")
    ax.set_xlabel("share of importance")
    ax.set_title("Hyperparameter importance")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_slice(search: Any) -> Figure:
    """The score against each hyperparameter's value, one subplot each.

    Points are finished trials coloured by trial number (see the colorbar):
    log x axes for log-sampled hyperparameters, one labelled tick per value
    (points spread a little around it) for categorical ones. Trials where a
    hyperparameter was inactive are left out of its subplot; its title says
    how many.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials`.

    Returns:
        A figure with one axes per hyperparameter (in a grid) and a colorbar.

    Raises:
        ValueError: If no trial has a score or no hyperparameter took two
            values.
        ImportError: If matplotlib is not installed.
    """
    trials = trials_of(search)
    done = require_finished(trials, 1, "A slice plot")
    axes = axes_of(trials, done)
    if not axes:
        raise ValueError(
            "A slice plot needs a hyperparameter that took at least two values in "
            "the finished trials; this search has none."
        )
    fig = new_figure("slice")
    columns = math.ceil(math.sqrt(len(axes)))
    rows = math.ceil(len(axes) / columns)
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    numbers = [r.number for r in trials.results]
    norm = Normalize(min(numbers), max(max(numbers), min(numbers) + 1))
    n = len(done)
    rng = np.random.default_rng(0)
    first = None
    drawn = None
    for k, axis in enumerate(axes):
        ax = fig.add_subplot(rows, columns, k + 1, sharey=first)
        first = first or ax
        pairs = [(axis.value(r), r) for r in done]
        pairs = [(x, r) for x, r in pairs if x is not None]
        x = np.array([p[0] for p in pairs], dtype=float)
        if axis.kind == "categorical":
            x = x + rng.uniform(-0.12, 0.12, len(x))
        drawn = ax.scatter(
            x,
            [float(r.score) for _, r in pairs],
            c=[r.number for _, r in pairs],
            cmap=colormaps["viridis"],
            norm=norm,
            s=marker_size(n),
            alpha=alpha_for(n),
            edgecolors="none",
        )
        if axis.kind == "categorical":
            category_ticks(ax, axis.categories)
            ax.set_xlim(-0.5, len(axis.categories) - 0.5)
        elif axis.kind == "log":
            log_ticks(ax, float(x.min()), float(x.max()))
        elif axis.integer:
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        missing = n - len(pairs)
        ax.set_title(
            axis.name + (f" ({missing} inactive, left out)" if missing else "")
        )
        if k % columns == 0:
            ax.set_ylabel(trials.objective)
        else:
            ax.tick_params(axis="y", labelleft=False)
        ax.grid(alpha=0.3)
    bar = fig.colorbar(drawn, ax=fig.axes, label="trial number", shrink=0.9)
    bar.solids.set_alpha(1.0)
    fig.suptitle(
        f"Slices: {trials.objective} ({better(trials.direction)}) against each "
        f"hyperparameter, {n} trials{left_out(trials)}"
    )
    return fig
