"""The options shared by every tuner, validated once, before anything runs."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import keras
import keras_tuner
import numpy as np

from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.stopping.base import Stopper

__all__ = [
    "CHECKPOINT_POLICIES",
    "DEFAULT_PATIENCE",
    "SearchLimits",
    "check_checkpoint",
    "check_flags",
    "check_search_callbacks",
    "check_stopper",
    "make_early_stopping",
]

#: Patience (epochs) of the early stopping every trial gets by default.
DEFAULT_PATIENCE = 5

#: ``"best"``: the best epoch's weights of the ``keep_top_k`` best trials;
#: ``"every_epoch"``: also the last epoch's weights after every epoch;
#: ``"none"``: no weights at all.
CHECKPOINT_POLICIES = ("best", "every_epoch", "none")


def _number(
    argument: str,
    value: Any,
    minimum: float,
    integer: bool = False,
    none: bool = True,
    example: float = 10,
):
    """``value`` if it is a finite number of at least ``minimum``.

    ``none`` says whether the argument also takes ``None`` (checked by the
    caller), so that the error lists what it really takes; ``example`` is
    the value the message suggests.
    """
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = ("an int" if integer else "a number") + (" or None" if none else "")
        raise bad_type(argument, value, kind, f"E.g. {argument}={example:g}.")
    if not math.isfinite(value) or value < minimum:
        raise bad_value(
            argument,
            value,
            f"must be at least {minimum:g}",
            f"E.g. {argument}={example:g}.",
        )
    return value


def make_early_stopping(
    spec: Any, objective: keras_tuner.Objective
) -> keras.callbacks.EarlyStopping | None:
    """Turns the ``early_stopping=`` argument into a Keras callback.

    Args:
        spec: ``"default"`` (patience `DEFAULT_PATIENCE` on the objective),
            ``None`` (off), an int patience, a ``(patience, min_delta)`` tuple,
            a dict of ``EarlyStopping`` arguments (the objective and
            patience `DEFAULT_PATIENCE` unless it says otherwise), or a
            ``keras.callbacks.EarlyStopping`` (used as given, one copy per
            trial).
        objective: The search's objective; monitored unless the user's own
            callback says otherwise.

    Returns:
        The callback, or ``None``.

    Raises:
        ValueError, TypeError: For a malformed specification.
    """
    if spec is None:
        return None
    if isinstance(spec, keras.callbacks.EarlyStopping):
        return spec
    options: dict[str, Any]
    if isinstance(spec, str) and spec == "default":
        options = {"patience": DEFAULT_PATIENCE}
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        options = {"patience": int(_number("early_stopping", spec, 1, integer=True))}
    elif isinstance(spec, tuple) and len(spec) == 2:
        options = {
            "patience": int(
                _number("early_stopping[0]", spec[0], 1, integer=True, none=False)
            ),
            "min_delta": float(
                _number("early_stopping[1]", spec[1], 0, none=False, example=0.001)
            ),
        }
    elif isinstance(spec, dict):
        # Keras' arguments over ours: the objective, patience DEFAULT_PATIENCE.
        options = {"patience": DEFAULT_PATIENCE, **spec}
        options["patience"] = int(
            _number(
                "early_stopping['patience']",
                options["patience"],
                0,
                integer=True,
                none=False,
                example=DEFAULT_PATIENCE,
            )
        )
        if "min_delta" in options:
            options["min_delta"] = float(
                _number(
                    "early_stopping['min_delta']",
                    options["min_delta"],
                    0,
                    none=False,
                    example=0.001,
                )
            )
    else:
        raise bad_type(
            "early_stopping",
            spec,
            "a patience (int), a (patience, min_delta) tuple, a dict, a "
            "keras.callbacks.EarlyStopping or None",
            "E.g. early_stopping=5, or None to turn it off.",
        )
    options.setdefault("monitor", objective.name)
    options.setdefault("mode", objective.direction)
    try:
        return keras.callbacks.EarlyStopping(**options)
    except (TypeError, ValueError) as err:
        raise bad_value(
            "early_stopping",
            spec,
            f"keras.callbacks.EarlyStopping refused it ({err})",
            "Use patience=, min_delta=, monitor= or mode=.",
        ) from err


def check_checkpoint(checkpoint: Any, keep_top_k: Any) -> tuple[str, int]:
    """Validates ``checkpoint=`` and ``keep_top_k=``."""
    if checkpoint not in CHECKPOINT_POLICIES:
        raise bad_value(
            "checkpoint",
            checkpoint,
            "unknown checkpoint policy",
            f"Use one of: {', '.join(repr(p) for p in CHECKPOINT_POLICIES)}.",
        )
    keep = int(_number("keep_top_k", keep_top_k, 1, integer=True, none=False))
    return checkpoint, keep


def check_stopper(stopper: Any) -> Stopper | None:
    """Validates ``stopper=``: a `keras_hpo.stopping.Stopper` or ``None``."""
    if stopper is not None and not isinstance(stopper, Stopper):
        raise bad_type(
            "stopper",
            stopper,
            "a keras_hpo.stopping.Stopper or None",
            "E.g. stopper=keras_hpo.stopping.SuccessiveHalving().",
        )
    return stopper


@dataclass
class SearchLimits:
    """When a search stops before the oracle runs out of trials.

    Args:
        max_time: Seconds; no trial starts after this much time has passed
            (the running trial finishes).
        patience_trials: Stop after this many trials in a row that do not
            improve the best score.
        target: Stop once the best score reaches this value (at least it,
            for an objective to maximise; at most, to minimise).
    """

    max_time: float | None = None
    patience_trials: int | None = None
    target: float | None = None

    def __post_init__(self):
        if self.max_time is not None:
            self.max_time = float(_number("max_time", self.max_time, 0))
        if self.patience_trials is not None:
            self.patience_trials = int(
                _number("patience_trials", self.patience_trials, 1, integer=True)
            )
        if self.target is not None:
            self.target = float(_number("target", self.target, -math.inf))
        self.started = time.monotonic()

    def start(self) -> None:
        """Starts the clock of ``max_time``."""
        self.started = time.monotonic()

    def reason(self, scores: list[float | None], direction: str) -> str | None:
        """Why the search must stop now, or ``None`` to go on.

        Args:
            scores: Score of each finished trial in order (``None`` if failed).
            direction: ``"min"`` or ``"max"``.
        """
        elapsed = time.monotonic() - self.started
        if self.max_time is not None and elapsed >= self.max_time:
            return f"max_time: {elapsed:.1f}s of {self.max_time:g}s used"
        sign = 1.0 if direction == "min" else -1.0
        finite = [(sign * s, i) for i, s in enumerate(scores) if s is not None]
        if not finite:
            return None
        best, best_index = min(finite)
        if self.target is not None and best <= sign * self.target:
            return f"target: best score {sign * best:g} reached {self.target:g}"
        since = len(scores) - 1 - best_index
        if self.patience_trials is not None and since >= self.patience_trials:
            return f"patience_trials: no improvement in the last {since} trials"
        return None


def check_flags(verbose: Any, trials_per_step: Any, isolate_trials: Any) -> None:
    """Refuses a bad ``verbose``, ``trials_per_step`` or ``isolate_trials``."""
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise bad_value("verbose", verbose, "must be 0, 1 or 2", "E.g. verbose=1.")
    if (
        isinstance(trials_per_step, bool)
        or not isinstance(trials_per_step, (int, np.integer))
        or trials_per_step < 1
    ):
        raise bad_value(
            "trials_per_step", trials_per_step, "must be an int >= 1", "E.g. 1."
        )
    if not isinstance(isolate_trials, bool):
        raise bad_type("isolate_trials", isolate_trials, "True or False", "E.g. True.")


def check_search_callbacks(callbacks: Any, kind: type) -> list:
    """``search_callbacks=`` as a list, each one a ``kind`` (`SearchCallback`)."""
    callbacks = list(callbacks or [])
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, kind):
            raise bad_type(
                f"search_callbacks[{index}]",
                callback,
                "a keras_hpo.callbacks.SearchCallback",
                "Keras callbacks go to search(callbacks=[...]) instead.",
            )
    return callbacks
