"""Progress a person can read: one line per finished trial, then the best."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING
from typing import Any
from typing import TextIO

import keras
from keras_hpo.callbacks.base import SearchCallback
from keras_hpo.callbacks.timing import CLEAR_LINE
from keras_hpo.callbacks.timing import LiveStatus
from keras_hpo.callbacks.timing import format_duration
from keras_hpo.callbacks.timing import format_score
from keras_hpo.callbacks.timing import remaining_seconds

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
        4.1s | 13s elapsed, ~39s left | units=128 ...

    (on one line): the time since the search started and an estimate of
    the time left, from the mean time per trial of this run and the budget
    (``max_trials``, or the grid's size, and ``max_time``; see
    `keras_hpo.callbacks.timing.remaining_seconds`). When the output is a
    terminal, one live line during each trial is rewritten after every
    epoch (``[trial 3/12] epoch 4/15 val_accuracy=0.9611``) and replaced by
    the trial's line; printed to a file or a pipe, only the trial lines.
    In a worker of a multi-worker search it prints the trials it trains,
    and at the end how many, not the plan nor the best trial: the chief
    prints those, once.

    Args:
        stream: Where to print. Defaults to ``sys.stdout``.
        live: Whether to show the live line: ``None`` (default) when the
            stream is a terminal.
    """

    def __init__(self, stream: TextIO | None = None, live: bool | None = None):
        self.stream = stream
        self.live = live
        self._start = 0.0
        self._first_trial: float | None = None
        #: Trials this printer reported (a worker: the ones it trained).
        self._ended = 0
        #: Trials that had ended when the search began (a resumed search's).
        self._done_at_begin = 0
        #: (perf_counter seconds, trials ended in this run) at each report.
        self._ends: list[tuple[float, int]] = []
        self._live_shown = False

    @property
    def _out(self) -> TextIO:
        return self.stream or sys.stdout

    def _print(self, text: str) -> None:
        if self._live_shown:
            text, self._live_shown = CLEAR_LINE + text, False
        try:
            print(text, file=self._out, flush=True)
        except UnicodeEncodeError:  # a value in λ to an ASCII or cp1252 stream
            encoding = getattr(self._out, "encoding", None) or "ascii"
            text = text.encode(encoding, "backslashreplace").decode(encoding)
            print(text, file=self._out, flush=True)

    def _is_live(self) -> bool:
        if self.live is not None:
            return self.live
        isatty = getattr(self._out, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # a closed stream
            return False

    def on_trial_begin(self, search: SearchView, trial: Any) -> None:
        """Starts the clock of the time per trial at the run's first trial."""
        if self._first_trial is None:
            self._first_trial = time.perf_counter()

    def trial_callbacks(
        self, search: SearchView, trial: Any, execution: int
    ) -> list[keras.callbacks.Callback]:
        """The live line's Keras callback, on a terminal."""
        if not self._is_live():
            return []
        self._live_shown = True
        number = search.trial_number(trial.trial_id)
        head = f"[trial {number}/{search.expected_trials or '?'}]"
        return [LiveStatus(self._out, head, search.objective.name)]

    @staticmethod
    def _done(search: SearchView, result: TrialResult) -> int:
        """Trials ended in all, the rest of ``result``'s fused group included.

        A fused group's trials end together but are reported one at a time:
        counting them all at the first keeps the rate from looking a group's
        size too slow. A worker's results hold every worker's trials.
        """
        group = result.fused_with or []
        return len(search.trial_results) + sum(
            trial_id not in search.trial_results for trial_id in group
        )

    def _clock(self, search: SearchView, done: int) -> str:
        """``13s elapsed, ~39s left`` (no estimate before a bound is known)."""
        now = time.perf_counter()
        elapsed = now - self._start
        left = remaining_seconds(
            elapsed=now - (self._first_trial or self._start),
            ended=max(done - self._done_at_begin, 1),
            done=done,
            total=search.expected_trials,
            max_time=search.max_time,
            time_used=elapsed,
            per_trial=self._per_trial(now, search.is_worker),
        )
        text = f"{format_duration(elapsed)} elapsed"
        return text if left is None else f"{text}, ~{format_duration(left)} left"

    def _per_trial(self, now: float, is_worker: bool) -> float | None:
        """Seconds per trial, the run's first trial (or group) left out.

        The first trial pays for what later ones reuse (the backend's
        start-up, tracing and compiling), so after it the rate is measured
        from its end: the time since then over the trials that ended since
        (in every worker, with several). The trials of the first fused
        group count with it, and in a worker so do the other workers' that
        end soon after it (within a tenth of its time): they trained
        alongside it. ``None`` until a later trial ended (the mean over the
        run is used then).
        """
        if not self._ends:
            return None
        first_time, first_count = self._ends[0]
        if is_worker:
            cutoff = first_time + 0.1 * (first_time - (self._first_trial or 0.0))
            batch = [end for end in self._ends if end[0] <= cutoff]
        else:
            batch = [end for end in self._ends if end[1] == first_count]
        base_time, base_count = batch[-1]
        later = self._ends[-1][1] - base_count
        return (now - base_time) / later if later > 0 else None

    def on_search_begin(self, search: SearchView) -> None:
        """Prints the search's plan."""
        self._start = time.perf_counter()
        self._first_trial, self._ended, self._ends = None, 0, []
        total = search.expected_trials
        done = self._done_at_begin = len(search.trial_results)
        plan = f"up to {total} trials" if total else "until the space is exhausted"
        resumed = f", {done} already done" if done else ""
        if search.is_worker:  # the chief prints the plan and the TensorBoard line
            self._print(
                f"Training trials of the chief's search ({search.strategy}, "
                f"{plan}{resumed}); results in {search.project_dir}"
            )
            return
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
            outcome = f"{name}={format_score(result.score)}"
            if best is not None:
                outcome += f" best={format_score(best.score)} (trial {best.number})"
        else:
            last = (result.error or "").strip().splitlines()
            outcome = f"FAILED: {last[-1] if last else 'no score'}"
        timing = f"{result.epochs_run} epochs, {result.seconds:.1f}s"
        if result.folds and result.ok:  # cv=: the score is a mean of the folds
            score = f"{name}={format_score(result.score)}"
            folds = f"(mean of {len(result.folds)} folds)"
            outcome = outcome.replace(score, f"{score} {folds}", 1)
        if result.folds:  # the epochs are per fold
            epochs = "+".join(str(f["epochs_run"]) for f in result.folds)
            timing = f"{epochs} epochs, {result.seconds:.1f}s"
            if not any(f["epochs_run"] for f in result.folds):  # an estimator
                timing = f"{result.seconds:.1f}s"
        if result.ok and result.status.value != "completed":
            timing = f"{result.status.value.replace('_', ' ')} | {timing}"
        self._ended += 1
        done = self._done(search, result)
        self._ends.append((time.perf_counter(), done - self._done_at_begin))
        timing = f"{timing} | {self._clock(search, done)}"
        self._print(f"{head} {outcome} | {timing} | {format_values(result.values)}")

    def on_search_end(self, search: SearchView) -> None:
        """Prints the best trial (a worker: the trials it trained)."""
        best = search.best_result()
        elapsed = time.perf_counter() - self._start
        if search.stop_reason:
            self._print(f"Search stopped: {search.stop_reason}")
        if search.is_worker:  # the chief prints the best trial, once
            trials = "trial" if self._ended == 1 else "trials"
            self._print(
                f"This worker trained {self._ended} {trials} in {elapsed:.1f}s; "
                "the chief prints the best trial"
            )
            return
        if best is None:
            self._print(f"Search ended after {elapsed:.1f}s with no completed trial.")
            return
        where = "" if best.best_epoch is None else f"at epoch {best.best_epoch + 1}"
        if best.folds:
            where = f"mean of {len(best.folds)} folds"
        self._print(
            f"Best trial {best.number} (id {best.trial_id}): "
            f"{search.objective.name}={format_score(best.score)} {where}; "
            f"{format_values(best.values)}; search took {elapsed:.1f}s"
        )
