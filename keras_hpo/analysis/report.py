"""A search's report: its plots as PNG files and one self-contained HTML page.

`write_report` draws every plot of `keras_hpo.analysis.plots`, saves each as
``<name>.png`` at `DPI` dots per inch (so each has the fixed pixel size in
`PNG_SIZES`) and writes ``index.html``: inline CSS, relative image links,
no JavaScript, nothing fetched from the network, and the trial table, best
first. ``keras-hpo report DIR`` runs it from the command line.

The report folder is marked as ours by a `MARKER` file. A folder that exists,
is not empty and has no marker is never written into; in a marked folder
only the files named here are replaced (and an earlier plot that cannot be
drawn this time is removed); anything else in it is left alone.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
from typing import Any

from keras_hpo.analysis import plots
from keras_hpo.analysis.source import INACTIVE
from keras_hpo.analysis.source import Trials
from keras_hpo.analysis.source import trials_of
from keras_hpo.errors import bad_value
from keras_hpo.files import atomic_write
from keras_hpo.tuners.results import TrialResult

__all__ = ["DPI", "MARKER", "PLOTS", "PNG_SIZES", "write_report"]

#: Dots per inch of every PNG the report writes.
DPI = 100

#: The file that marks a folder as a keras-hpo report folder.
MARKER = ".keras_hpo_report"

#: The plots of a report, in the page's order: name -> title.
PLOTS = {
    "optimization_history": "Optimization history",
    "importance": "Hyperparameter importance",
    "parallel_coordinates": "Parallel coordinates",
    "slice": "Slices",
    "learning_curves": "Learning curves of the best trials",
}

#: Each plot's PNG size in pixels (width, height).
PNG_SIZES: dict[str, tuple[int, int]] = {
    name: (round(w * DPI), round(h * DPI)) for name, (w, h) in plots.FIGSIZES.items()
}

_MARKER_TEXT = (
    "This folder holds a report written by keras-hpo (keras-hpo report or "
    "keras_hpo.analysis.report.write_report); writing a report again replaces "
    "its files.\n"
)

_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1250px;
  color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.skipped { color: #8a4b00; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f2f2f2; position: sticky; top: 0; }
tr.best td { background: #fff6cc; font-weight: bold; }
tr.failed td { color: #999; }
td.text { text-align: left; }
"""


def write_report(
    search: Any, output_dir: str | os.PathLike | None = None, *, seed: int = 0
) -> dict[str, str]:
    """Writes the plots of a search as PNG files and an ``index.html`` page.

    Each plot of `PLOTS` is saved as ``<name>.png`` of the size in
    `PNG_SIZES`; a plot that cannot be drawn (for instance importance with
    too few finished trials) is left out and the page says why. The page
    shows the plots and a table of every trial (number, status, score,
    hyperparameters, epochs, seconds), best first. The folder also gets the
    `MARKER` file.

    Args:
        search: A tuner, a `keras_hpo.load` result, a project folder or a
            `Trials` (see `keras_hpo.analysis.source.trials_of`).
        output_dir: The folder to write (created if missing). Default: the
            ``report`` folder inside the project folder.
        seed: The seed of the importance estimate.

    Returns:
        Name -> path of each file written: the plots drawn and ``index``.

    Raises:
        ValueError: If ``output_dir`` exists and is not an empty folder or a
            report folder, or is not given for a search without a project
            folder.
        ImportError: If matplotlib is not installed.

    Example:
        >>> written = write_report("keras_hpo_results/digits_bayesian")
        >>> written["index"]
        'keras_hpo_results/digits_bayesian/report/index.html'
    """
    trials = trials_of(search)
    out = _claim(trials, output_dir)
    drawers: dict[str, Callable[[Trials], Any]] = {
        "optimization_history": plots.plot_optimization_history,
        "importance": lambda t: plots.plot_importance(t, seed=seed),
        "parallel_coordinates": plots.plot_parallel_coordinates,
        "slice": plots.plot_slice,
        "learning_curves": plots.plot_learning_curves,
    }
    written: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for name in PLOTS:
        path = os.path.join(out, f"{name}.png")
        try:
            figure = drawers[name](trials)
        except ValueError as err:
            skipped[name] = str(err)
            if os.path.isfile(path):  # an older report's: ours, and now wrong
                os.remove(path)
            continue
        atomic_write(path, lambda tmp, f=figure: f.savefig(tmp, format="png", dpi=DPI))
        written[name] = path
    index = os.path.join(out, "index.html")
    page = _page(trials, written, skipped)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(page)

    atomic_write(index, write)
    written["index"] = index
    return written


def _claim(trials: Trials, output_dir: str | os.PathLike | None) -> str:
    """The report folder, created and marked; refuses a folder not ours."""
    if output_dir is None:
        if trials.project_dir is None:
            raise bad_value(
                "output_dir",
                output_dir,
                "has no default: this search has no project folder",
                "Pass output_dir='<folder>' to write the report there.",
            )
        output_dir = os.path.join(trials.project_dir, "report")
    out = os.fspath(output_dir)
    marker = os.path.join(out, MARKER)
    if os.path.lexists(out):
        if not os.path.isdir(out):
            raise bad_value(
                "output_dir",
                out,
                "exists and is not a folder",
                "Pass a new folder, or an earlier report's folder.",
            )
        if os.listdir(out) and not os.path.isfile(marker):
            raise bad_value(
                "output_dir",
                out,
                f"is a folder that is not empty and was not written by a report "
                f"(it has no {MARKER} file), so nothing in it is touched",
                "Pass a new or empty folder, or an earlier report's folder.",
            )
    os.makedirs(out, exist_ok=True)
    if not os.path.isfile(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(_MARKER_TEXT)
    return out


def _cell(value: Any) -> str:
    if value is INACTIVE or value is None:  # inactive, or no score
        return "&ndash;"
    if isinstance(value, float):
        return html.escape(f"{value:.4g}" if math.isfinite(value) else str(value))
    return html.escape(str(value))


def _rows(trials: Trials) -> list[TrialResult]:
    """Every trial, best first: the ranked ones, then the rest in trial order."""
    best = trials.ranked()
    ids = {r.trial_id for r in best}
    return best + [r for r in trials.results if r.trial_id not in ids]


def _table(trials: Trials) -> str:
    names: list[str] = []
    for result in trials.results:
        names += [n for n in result.values if n not in names]
    head = ["#", "status", html.escape(trials.objective), *map(html.escape, names)]
    head += ["epochs", "seconds"]
    lines = ["<table>", "<tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    rows = _rows(trials)
    for i, result in enumerate(rows):
        kind = "best" if i == 0 and result.ok else "" if result.ok else "failed"
        cells = [
            f"<td>{result.number}</td>",
            f'<td class="text">{_cell(result.status.value)}</td>',
            f"<td>{_cell(result.score)}</td>",
        ]
        for name in names:
            value = result.values.get(name, INACTIVE)
            text = "" if isinstance(value, (int, float)) else ' class="text"'
            shown = "None" if value is None else _cell(value)  # max_depth=None
            cells.append(f"<td{text}>{shown}</td>")
        cells += [f"<td>{result.epochs_run}</td>", f"<td>{result.seconds:.1f}</td>"]
        attr = f' class="{kind}"' if kind else ""
        lines.append(f"<tr{attr}>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _page(trials: Trials, written: dict[str, str], skipped: dict[str, str]) -> str:
    done = trials.finished()
    failed = len(trials.results) - len(done)
    where = trials.project_dir or "a search"
    best = trials.ranked()[0] if done else None
    better = "higher" if trials.direction == "max" else "lower"
    about = (
        f"Objective: <b>{html.escape(trials.objective)}</b> ({better} is better). "
        f"{len(trials.results)} trials ended: {len(done)} with a score, "
        f"{failed} failed."
    )
    if best is not None:
        about += f" Best: trial {best.number}, {_cell(best.score)}."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>keras-hpo report: {html.escape(os.path.basename(str(where)))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>keras-hpo report: {html.escape(str(where))}</h1>",
        f"<p>{about}</p>",
    ]
    for name, title in PLOTS.items():
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if name in written:
            width, height = PNG_SIZES[name]
            parts.append(
                f'<img src="{html.escape(name)}.png" alt="{html.escape(title)}" '
                f'width="{width}" height="{height}">'
            )
        else:
            reason = html.escape(skipped.get(name, "not drawn"))
            parts.append(f'<p class="skipped">Not drawn: {reason}</p>')
    parts += [
        "<h2>Trials, best first</h2>",
        "<p>&ndash;: the hyperparameter was inactive in that trial.</p>",
        _table(trials),
        "</body></html>",
        "",
    ]
    return "\n".join(parts)
