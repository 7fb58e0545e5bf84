"""The parts the plots share: axes read from the search space, ticks, colours.

`axes_of` decides how each hyperparameter is drawn (an `Axis`: linear, log
or categorical, from the search space or, without one, from the values);
the other functions size markers, thin tick labels and colour by score so
that a plot stays readable with 10 trials and with 1,000. Used by
`keras_hpo.analysis.plots`; no figure is drawn here but an empty one
(`new_figure`), and matplotlib is imported only inside the functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo.analysis.source import Trials
from keras_hpo.analysis.source import log_scaled
from keras_hpo.analysis.source import space_by_name
from keras_hpo.tuners.results import TrialResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "Axis",
    "FIGSIZES",
    "INACTIVE",
    "INSTALL_HINT",
    "MAX_LEGEND",
    "MAX_TICKS",
    "alpha_for",
    "axes_of",
    "axis_of",
    "axis_ticks",
    "better",
    "category_ticks",
    "distinct",
    "is_number",
    "left_out",
    "line_colors",
    "log_ticks",
    "marker_size",
    "new_figure",
    "same",
    "score_colors",
    "value_label",
]

#: Each plot's figure size in inches (width, height).
FIGSIZES: dict[str, tuple[float, float]] = {
    "optimization_history": (9.0, 5.0),
    "learning_curves": (9.0, 5.0),
    "parallel_coordinates": (12.0, 6.0),
    "importance": (8.0, 5.0),
    "slice": (12.0, 8.0),
}

INSTALL_HINT = 'Plots need matplotlib: pip install "keras-hpo[report]"'

MAX_TICKS = 12  # categorical tick labels shown per axis, at most
MAX_LEGEND = 10  # legend entries, at most
INACTIVE = -0.12  # parallel coordinates: where inactive values are drawn


def new_figure(name: str) -> Figure:
    """An empty figure of the plot's size, with constrained layout."""
    try:
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is in [test]
        raise ImportError(INSTALL_HINT) from err
    return Figure(figsize=FIGSIZES[name], layout="constrained")


@dataclass(frozen=True)
class Axis:
    """How one hyperparameter is drawn: ``linear``, ``log`` or ``categorical``."""

    name: str
    kind: str
    categories: tuple = ()
    integer: bool = False

    def value(self, result: TrialResult) -> float | None:
        """The trial's value on this axis (a category's index); ``None``: inactive."""
        if self.name not in result.values:
            return None
        value = result.values[self.name]
        if self.kind == "categorical":
            return float(
                next(i for i, c in enumerate(self.categories) if same(c, value))
            )
        return float(value)

    def unit(self, value: float, lo: float, hi: float) -> float:
        """``value`` scaled to [0, 1] between ``lo`` and ``hi``."""
        if self.kind == "categorical":
            lo, hi = 0.0, float(len(self.categories) - 1)
        elif self.kind == "log":
            value, lo, hi = math.log(value), math.log(lo), math.log(hi)
        return 0.5 if hi == lo else (value - lo) / (hi - lo)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a number (booleans are not)."""
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def same(a: Any, b: Any) -> bool:
    """Whether two values are one value (``1`` and ``True`` are not).

    A list and a tuple of the same items are: ``result.json`` turns a
    tuple (scikit-learn's ``hidden_layer_sizes=(50,)``) into a list.
    """
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


def distinct(values: list) -> list:
    """``values`` without repeats, in order (``1`` and ``True`` kept apart)."""
    found: list = []
    for value in values:
        if not any(same(value, seen) for seen in found):
            found.append(value)
    return found


def axis_of(name: str, hp: kt_hp.HyperParameter | None, seen: list) -> Axis:
    """How hyperparameter ``name`` is drawn, from its space entry or ``seen``."""
    numeric = all(is_number(v) for v in seen)
    if isinstance(hp, (kt_hp.Choice, kt_hp.Boolean)) or not numeric:
        known = list(getattr(hp, "values", None) or [])
        if isinstance(hp, kt_hp.Boolean):
            known = [False, True]
        # A scikit-learn grid may declare labels ("(50,)") where its trials
        # hold the values: then the values seen are the categories.
        if not all(any(same(v, k) for k in known) for v in seen):
            known = sorted(distinct(seen), key=_category_order)
        return Axis(name, "categorical", tuple(known))
    positive = min(seen) > 0
    if hp is not None:
        log = "log" in str(getattr(hp, "sampling", "linear") or "linear")
    else:
        log = log_scaled(min(seen), max(seen))
    integer = isinstance(hp, kt_hp.Int) or (
        hp is None and all(isinstance(v, (int, np.integer)) for v in seen)
    )
    return Axis(name, "log" if log and positive else "linear", integer=integer)


def _category_order(value: Any) -> tuple:
    """Categories by type, then numbers by value and the rest by text."""
    return (type(value).__name__, value if is_number(value) else 0, str(value))


def axes_of(trials: Trials, results: list[TrialResult]) -> list[Axis]:
    """The hyperparameters to draw: in the space's order, Fixed and constant out."""
    space = space_by_name(trials.space)
    names = list(space)
    for result in trials.results:
        names += [n for n in result.values if n not in names]
    axes = []
    for name in names:
        hp = space.get(name)
        if isinstance(hp, kt_hp.Fixed):
            continue
        seen = [r.values[name] for r in results if name in r.values]
        if len(distinct(seen)) >= 2:
            axes.append(axis_of(name, hp, seen))
    return axes


def value_label(value: Any) -> str:
    """A tick label: floats to 3 significant digits."""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def marker_size(n: int) -> float:
    """A marker size that shrinks with ``n`` points (6 to 40)."""
    return float(np.clip(400.0 / math.sqrt(max(n, 1)), 6.0, 40.0))


def alpha_for(n: int, low: float = 0.25) -> float:
    """An opacity that falls with ``n`` lines or points (``low`` to 0.9)."""
    return float(np.clip(10.0 / math.sqrt(max(n, 1)), low, 0.9))


def better(direction: str) -> str:
    """``"higher is better"`` or ``"lower is better"``."""
    return "higher is better" if direction == "max" else "lower is better"


def left_out(trials: Trials) -> str:
    """A title's note of the failed trials left out (empty with none)."""
    failed = len(trials.results) - len(trials.finished())
    return f"; {failed} failed left out" if failed else ""


def category_ticks(ax: Axes, categories: tuple, which: str = "x") -> None:
    """One labelled tick per category, thinned and rotated so labels never overlap."""
    labels = [value_label(c) for c in categories]
    step = math.ceil(len(labels) / MAX_TICKS)
    ticks = list(range(0, len(labels), step))
    rotate = len(ticks) > 4 or max(len(label) for label in labels) > 8
    if which == "x":
        ax.set_xticks(ticks, [labels[i] for i in ticks])
        if rotate:
            ax.tick_params(axis="x", labelrotation=35)
            for text in ax.get_xticklabels():
                text.set_horizontalalignment("right")
    else:
        ax.set_yticks(ticks, [labels[i] for i in ticks])


def line_colors(n: int) -> list:
    """``n`` distinct line colours (the default cycle up to 10, else viridis)."""
    from matplotlib import colormaps

    if n <= 10:
        return [f"C{i}" for i in range(n)]
    return list(colormaps["viridis"](np.linspace(0.0, 0.9, n)))


def score_colors(trials: Trials, scores: list[float]):
    """A colormap (the best score brightest), a norm and the colorbar's ``extend``.

    With 10 or more scores whose worst tenth spans more than half the range
    of the rest (a few diverged trials), the colours run from the 10th
    percentile (from the worse end) to the best score: the outliers share
    the darkest colour and the colorbar gets an arrow at that end.
    """
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    maximize = trials.direction == "max"
    cmap = colormaps["viridis" if maximize else "viridis_r"]
    lo, hi = min(scores), max(scores)
    extend = "neither"
    if len(scores) >= 10:
        if maximize:
            cut = float(np.percentile(scores, 10))
            if cut - lo > 0.5 * (hi - cut):
                lo, extend = cut, "min"
        else:
            cut = float(np.percentile(scores, 90))
            if hi - cut > 0.5 * (cut - lo):
                hi, extend = cut, "max"
    return cmap, Normalize(lo, hi if hi > lo else lo + 1e-12), extend


def axis_ticks(axis: Axis, lo: float, hi: float) -> list[tuple[float, str]]:
    """(position in [0, 1], label) of an axis' tick labels."""
    if axis.kind == "categorical":
        step = math.ceil(len(axis.categories) / MAX_TICKS)
        return [
            (axis.unit(i, 0, 0), value_label(c))
            for i, c in enumerate(axis.categories)
            if i % step == 0
        ]
    if lo == hi:
        return [(0.5, value_label(lo))]
    values = np.geomspace(lo, hi, 5) if axis.kind == "log" else np.linspace(lo, hi, 5)
    if axis.integer:
        whole = np.arange(lo, hi + 1) if hi - lo < 6 else np.unique(np.round(values))
        return [(axis.unit(v, lo, hi), str(int(v))) for v in whole]
    return [(axis.unit(v, lo, hi), value_label(float(v))) for v in values]


def log_ticks(ax: Axes, lo: float, hi: float) -> None:
    """A log x axis labelled with plain numbers that never overlap."""
    from matplotlib.ticker import LogLocator
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    subs = (1.0,) if hi >= 100 * lo else (1.0, 2.0, 5.0)
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(lambda x, _: value_label(float(x)))
    ax.xaxis.set_minor_formatter(NullFormatter())
