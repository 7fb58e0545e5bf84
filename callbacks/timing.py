"""How long a search has run and has left, and a live line during a trial.

`remaining_seconds` estimates the time left from the trials that ended in
this run and the budget (``max_trials``, ``max_time``); `format_duration`
writes it for people; `LiveStatus` is the Keras callback that rewrites one
terminal line after each epoch ("[trial 3/12] epoch 4/15 ..."). Used by
`ProgressPrinter`; they read nothing but their arguments.
"""

from __future__ import annotations

import math
import sys
from typing import Any
from typing import TextIO

import keras

__all__ = [
    "CLEAR_LINE",
    "LiveStatus",
    "format_duration",
    "format_score",
    "remaining_seconds",
]

#: Back to the start of the line and erase it (a terminal's ANSI codes).
CLEAR_LINE = "\r\033[K"


def format_duration(seconds: float) -> str:
    """``"42s"``, ``"3m05s"`` or ``"1h02m"`` (rounded); ``"?"`` if not finite."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0.0, seconds)
    if seconds < 59.5:
        return f"{seconds:.0f}s" if seconds >= 9.5 else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours}h{minutes:02d}m"


def format_score(value: float) -> str:
    """A score to 4 decimals (``0.9611``), or 4 significant digits if smaller.

    An error of ``3.2e-05`` would read ``0.0000``, like every other trial's.
    """
    value = float(value)
    if value == 0 or not math.isfinite(value) or abs(value) >= 1e-3:
        return f"{value:.4f}"
    return f"{value:.4g}"


def remaining_seconds(
    *,
    elapsed: float,
    ended: int,
    done: int,
    total: int | None,
    max_time: float | None = None,
    time_used: float | None = None,
    per_trial: float | None = None,
) -> float | None:
    """The time the search has left, estimated from the trials so far.

    Each trial is assumed to take ``per_trial`` seconds when given (the
    progress printer measures it after the run's first trial, which pays
    for start-up and compiling), else the mean wall time of the trials that
    ended in this run (``elapsed / ended``, measured from the first trial's
    start). Both are wall time between trial ends, so they count what runs
    between trials too and suit fused groups and parallel workers alike,
    which end several trials per interval.

    Args:
        elapsed: Seconds since the first trial of this run started.
        ended: Trials that ended in this run.
        done: Trials that have ended in all, resumed ones included.
        total: The most trials the search runs (``None``: unknown).
        max_time: The search's ``max_time`` (no trial starts after it).
        time_used: Seconds of ``max_time`` used (defaults to ``elapsed``).
        per_trial: Seconds per trial, measured by the caller.

    Returns:
        Seconds, or ``None`` when nothing bounds the search or no trial
        has ended yet.
    """
    if ended < 1 or (total is None and max_time is None):
        return None
    if per_trial is None:
        per_trial = elapsed / ended
    estimates = []
    if total is not None:
        estimates.append(max(0, total - done) * per_trial)
    if max_time is not None:
        used = elapsed if time_used is None else time_used
        left = max(0.0, max_time - used)
        # Trials start until the time is up; the last one then finishes.
        starts = math.ceil(left / per_trial) if per_trial > 0 else 0
        estimates.append(starts * per_trial)
    return min(estimates)


class LiveStatus(keras.callbacks.Callback):
    """Rewrites one terminal line after each epoch of a trial.

    Args:
        stream: The terminal.
        head: What starts the line, e.g. ``"[trial 3/12]"``.
        objective: The metric to show, if logged.
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(self, stream: TextIO, head: str, objective: str):
        super().__init__()
        self.stream = stream
        self.head = head
        self.objective = objective

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (``isolate_trials=True``): the standard streams by name."""
        state = dict(self.__dict__)
        names = {id(sys.stdout): "stdout", id(sys.stderr): "stderr"}
        state["stream"] = names.get(id(self.stream))  # another: not in a child
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Resolves the stream's name in the process that unpickles it."""
        self.__dict__.update(state)
        self.stream = getattr(sys, state["stream"]) if state["stream"] else None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Writes ``[trial t/n] epoch i/N objective=value`` over the last line."""
        if self.stream is None:
            return
        epochs = (self.params or {}).get("epochs")
        line = f"{self.head} epoch {epoch + 1}" + (f"/{epochs}" if epochs else "")
        value = (logs or {}).get(self.objective)
        if value is not None:
            line += f" {self.objective}={format_score(value)}"
        self.stream.write(CLEAR_LINE + line)
        self.stream.flush()
