"""Progress a person can read: one line per finished trial, then the best."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

from keras_hpo.callbacks.base import SearchCallback

if TYPE_CHECKING:  # pragma: no cover
    from keras_hpo.tuners.results import TrialResult
    from keras_hpo.tuners.view import SearchView

__all__ = ["ProgressPrinter", "format_values"]


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_values(values: dict[str, Any]) -> str:
    """``name=value`` pairs, numbers to 4 significant digits."""
    return " ".join(f"{name}={_format(value)}" for name, value in values.items())


class ProgressPrinter(SearchCallback):
    """Prints each trial as it finishes, and the best trial at the end.

    A line looks like::

        [trial 3/12] val_accuracy=0.9611 best=0.9722 (trial 2) | 11 epochs,
        4.1s | units=128 ...

    (on one line).

    Args:
        stream: Where to print. Defaults to ``sys.stdout``.
    """

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream
        self._start = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.stream or sys.stdout, flush=True)

    def on_search_begin(self, search: SearchView) -> None:
        """Prints the search's plan."""
        self._start = time.perf_counter()
        total = search.expected_trials
        done = len(search.trial_results)
        plan = f"up to {total} trials" if total else "until the space is exhausted"
        resumed = f", {done} already done" if done else ""
        self._print(
            f"Searching with {search.strategy} ({plan}{resumed}); "
            f"objective {search.objective.name} "
            f"({search.objective.direction}); results in {search.project_dir}"
        )
        log_dir = search.tensorboard_dir
        if log_dir:
            self._print(f"Watch it in TensorBoard: keras-hpo tensorboard {log_dir}")

    def on_trial_end(self, search: SearchView, result: TrialResult) -> None:
        """Prints one line for the finished trial."""
        total = search.expected_trials or "?"
        name = search.objective.name
        head = f"[trial {result.number}/{total}]"
        if result.ok:
            best = search.best_result()
            outcome = f"{name}={result.score:.4f}"
            if best is not None:
                outcome += f" best={best.score:.4f} (trial {best.number})"
        else:
            last = (result.error or "").strip().splitlines()
            outcome = f"FAILED: {last[-1] if last else 'no score'}"
        timing = f"{result.epochs_run} epochs, {result.seconds:.1f}s"
        if result.folds:  # cv=: the score is a mean, the epochs are per fold
            outcome = outcome.replace(
                f"{name}={result.score:.4f}",
                f"{name}={result.score:.4f} (mean of {len(result.folds)} folds)",
                1,
            )
            epochs = "+".join(str(f["epochs_run"]) for f in result.folds)
            timing = f"{epochs} epochs, {result.seconds:.1f}s"
            if not any(f["epochs_run"] for f in result.folds):  # an estimator
                timing = f"{result.seconds:.1f}s"
        if result.ok and result.status.value != "completed":
            timing = f"{result.status.value.replace('_', ' ')} | {timing}"
        self._print(f"{head} {outcome} | {timing} | {format_values(result.values)}")

    def on_search_end(self, search: SearchView) -> None:
        """Prints the best trial."""
        best = search.best_result()
        elapsed = time.perf_counter() - self._start
        if search.stop_reason:
            self._print(f"Search stopped: {search.stop_reason}")
        if best is None:
            self._print(f"Search ended after {elapsed:.1f}s with no completed trial.")
            return
        where = "" if best.best_epoch is None else f"at epoch {best.best_epoch + 1}"
        if best.folds:
            where = f"mean of {len(best.folds)} folds"
        self._print(
            f"Best trial {best.number} (id {best.trial_id}): "
            f"{search.objective.name}={best.score:.4f} {where}; "
            f"{format_values(best.values)}; search took {elapsed:.1f}s"
        )
