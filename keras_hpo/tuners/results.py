"""What one trial produced, stored as JSON next to keras-tuner's trial file."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import numpy as np

from keras_hpo.files import atomic_write_json
from keras_hpo.files import check_trial_file
from keras_hpo.files import foreign_file
from keras_hpo.files import read_json

__all__ = [
    "TrialResult",
    "TrialStatus",
    "atomic_write_json",
    "cv_results",
    "n_splits",
    "ranked",
    "read_json",
    "result_from_trial",
]


class TrialStatus(str, enum.Enum):
    """How a trial ended."""

    COMPLETED = "completed"
    STOPPED_EARLY = "stopped_early"
    PRUNED = "pruned"
    FAILED = "failed"


@dataclass
class TrialResult:
    """The outcome of one trial, as our tuners record it.

    Attributes:
        trial_id: keras-tuner's trial ID.
        number: 1-based position of the trial in the search.
        values: The hyperparameter values the trial ran with.
        status: How it ended.
        score: The objective at the best epoch (``None`` if it failed).
        metrics: Every logged metric at the best epoch.
        best_epoch: 0-based index of the best epoch; with several trainings
            (``cv=`` folds, ``executions_per_trial``), the mean of theirs
            (1-based, rounded), which a refit trains for.
        epochs_run: Epochs that finished.
        seconds: Wall time of the whole trial (build, fit, checkpoint).
        fit_seconds: Wall time inside ``fit``.
        score_seconds: Wall time evaluating the validation data (inside
            ``fit_seconds``).
        seed: The random seed the trial trained with.
        history: Metric name -> value per epoch.
        error: The error and traceback of a failed trial.
        end_reason: Why training ended before its last epoch (early
            stopping, pruning, divergence), else ``None``.
        fused_with: The IDs of the trials it trained with as one fused model
            (``fuse=``), itself included, in the group's order: the group
            trained on the batches the first one would have seen alone.
            ``None``: it trained alone.
        folds: With ``cv=``, one dict per fold that trained, in order:
            ``score`` (the objective at the fold's best epoch), ``best_epoch``
            (0-based), ``epochs_run``, ``fit_seconds``, ``score_seconds``
            (the time validating the fold, inside ``fit_seconds``),
            ``metrics`` (every logged metric at the fold's best epoch) and
            ``history``. The
            trial's ``score`` and ``metrics`` are the means over these folds;
            its ``history`` is the last fold's, its ``best_epoch`` the folds'
            mean (see ``best_epoch`` above).
            ``None`` without ``cv=``.
    """

    trial_id: str
    number: int
    values: dict[str, Any]
    status: TrialStatus
    score: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    epochs_run: int = 0
    seconds: float = 0.0
    fit_seconds: float = 0.0
    score_seconds: float = 0.0
    seed: int | None = None
    history: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None
    end_reason: str | None = None
    fused_with: list[str] | None = None
    folds: list[dict[str, Any]] | None = None

    @property
    def ok(self) -> bool:
        """Whether the trial has a finite score.

        True for completed trials, trials stopped early and pruned trials.
        """
        return (
            self.status != TrialStatus.FAILED
            and self.score is not None
            and math.isfinite(self.score)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrialResult:
        """The inverse of `to_json`.

        Raises:
            TypeError: For a field of another type than `to_json` writes.
        """
        data = dict(data)
        data["status"] = TrialStatus(data["status"])
        kinds = {
            "trial_id": (str,),
            "number": (int,),
            "values": (dict,),
            "metrics": (dict,),
            "history": (dict,),
            "epochs_run": (int,),
            "score": (int, float, type(None)),
            "best_epoch": (int, type(None)),
            "seconds": (int, float),
            "fit_seconds": (int, float),
            "score_seconds": (int, float),
            "fused_with": (list, type(None)),
            "folds": (list, type(None)),
        }
        for name, kind in kinds.items():
            value = data.get(name)
            if name in data and (
                isinstance(value, bool) or not isinstance(value, kind)
            ):
                raise TypeError(f"{name} is {value!r}")
        return cls(**data)

    def save(self, path: str) -> None:
        """Writes the result atomically."""
        atomic_write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str) -> TrialResult:
        """Reads a result written by `save`.

        Raises:
            ValueError: If the file is damaged, not a trial result, or the
                result of another trial than its folder's; the message names
                the file.
        """
        fix = (
            "Delete it and run the search again: the result of a finished trial "
            "is then rebuilt from its trial.json (without its per-epoch history) "
            "and an unfinished trial runs again. Or start afresh with "
            "overwrite=True."
        )
        data = read_json(path, fix)
        try:
            result = cls.from_json(data)
        except (TypeError, ValueError, KeyError) as err:
            raise foreign_file(path, "a keras_hpo trial result", fix) from err
        check_trial_file(result.trial_id, path, "the result")
        return result


def ranked(results: list[TrialResult], direction: str) -> list[TrialResult]:
    """The results with a score, best first (ties: the earlier trial)."""
    sign = -1.0 if direction == "max" else 1.0
    done = [r for r in results if r.ok]
    return sorted(done, key=lambda r: (sign * r.score, r.number))


def cv_results(
    rows: list[TrialResult],
    ranked: list[TrialResult],
    direction: str = "max",
    score_sign: float = 1.0,
    scores: list[tuple[str, str, str]] | None = None,
) -> dict[str, list]:
    """The scikit-learn style results table: one row per trial, as columns.

    Args:
        rows: Every ended trial, in trial order.
        ranked: The trials with a score, best first.
        direction: The objective's direction (``"max"`` or ``"min"``).
        score_sign: Multiplies the objective into scikit-learn's test scores
            (``-1.0`` for a ``neg_...`` scoring, whose objective is the
            positive error).
        scores: With several ``scoring=`` scores, ``(name, logged metric,
            direction)`` of each: the test-score columns are then made per
            score, named as scikit-learn names them (``mean_test_<name>``,
            ``split<k>_test_<name>``, ``std_test_<name>``,
            ``rank_test_<name>``), each at the trial's (or fold's) best
            epoch of the ranking score.

    Returns:
        Columns of equal length. Ours: ``trial_id``, ``number``, ``score``,
        ``rank_score`` (1 is best; failed trials rank last, ties by trial
        order), ``status``, ``best_epoch`` (1-based, as the progress lines,
        ``summary`` and TensorBoard count epochs; with ``cv=`` or several
        executions, the rounded mean of theirs), ``best_epoch_index``
        (the same epoch 0-based, as ``TrialResult.best_epoch`` and
        ``result.json`` keep it),
        ``epochs_run``, ``seconds``,
        ``fit_seconds``, ``end_reason``, ``error``. scikit-learn's, with its
        meanings: ``param_<name>`` for every hyperparameter (``None`` where
        inactive), ``params``, ``split<k>_test_score`` (per ``cv=`` fold;
        without ``cv=``, the one validation split is ``split0``),
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` (ties
        share the best rank; failed trials, scored NaN, rank last),
        ``mean_fit_time``, ``std_fit_time`` (seconds per fold, validation
        included), ``mean_score_time`` and ``std_score_time`` (seconds
        validating each fold, inside its fit time).
    """
    names: list[str] = []
    for row in rows:
        names += [name for name in row.values if name not in names]
    order = [r.trial_id for r in ranked]
    order += [r.trial_id for r in rows if r.trial_id not in order]
    rank = {trial_id: i + 1 for i, trial_id in enumerate(order)}
    table: dict[str, list] = {"trial_id": [r.trial_id for r in rows]}
    table["number"] = [r.number for r in rows]
    table["mean_fit_time"] = [float(np.mean(_fit_times(r))) for r in rows]
    table["std_fit_time"] = [float(np.std(_fit_times(r))) for r in rows]
    score_times = [
        [f.get("score_seconds", 0.0) for f in r.folds] if r.folds else [r.score_seconds]
        for r in rows
    ]
    table["mean_score_time"] = [float(np.mean(t)) for t in score_times]
    table["std_score_time"] = [float(np.std(t)) for t in score_times]
    for name in names:
        table[f"param_{name}"] = [r.values.get(name) for r in rows]
    table["params"] = [dict(r.values) for r in rows]
    if scores:
        for name, logged, score_direction in scores:
            _test_columns(table, rows, name, logged, score_direction, 1.0)
    else:
        _test_columns(table, rows, "score", None, direction, score_sign)
    table["score"] = [r.score for r in rows]
    table["rank_score"] = [rank[r.trial_id] for r in rows]
    table["status"] = [r.status.value for r in rows]
    table["best_epoch"] = [
        None if r.best_epoch is None else r.best_epoch + 1 for r in rows
    ]
    table["best_epoch_index"] = [r.best_epoch for r in rows]
    table["epochs_run"] = [r.epochs_run for r in rows]
    table["seconds"] = [r.seconds for r in rows]
    table["fit_seconds"] = [r.fit_seconds for r in rows]
    table["end_reason"] = [r.end_reason for r in rows]
    table["error"] = [r.error for r in rows]
    return table


def _test_columns(
    table: dict[str, list],
    rows: list[TrialResult],
    name: str,
    logged: str | None,
    direction: str,
    sign: float,
) -> None:
    """``split<k>_test_<name>``, ``mean_``, ``std_`` and ``rank_test_<name>``."""
    splits = [[sign * s for s in _split_scores(r, logged)] for r in rows]
    for k in range(max((len(s) for s in splits), default=1)):
        table[f"split{k}_test_{name}"] = [
            s[k] if k < len(s) else math.nan for s in splits
        ]
    means = [
        float(np.mean(s)) if r.ok and s else math.nan
        for r, s in zip(rows, splits, strict=True)
    ]
    if logged is None:  # the objective: exactly the trial's score
        means = [sign * r.score if r.ok else math.nan for r in rows]
    table[f"mean_test_{name}"] = means
    table[f"std_test_{name}"] = [
        float(np.std(s)) if r.ok and s else math.nan
        for r, s in zip(rows, splits, strict=True)
    ]
    table[f"rank_test_{name}"] = _min_ranks(
        [sign * m for m in means], direction == "max"
    )


def n_splits(rows: list[TrialResult]) -> int:
    """scikit-learn's ``n_splits_``: the ``split<k>_test_*`` columns of `cv_results`.

    The ``cv=`` folds a trial trained (the most of any trial, as a pruned
    trial's later folds did not run); 1 for a search without ``cv=`` (its
    validation data), or before any trial ended.
    """
    return max((len(_split_scores(r)) for r in rows), default=1)


def _split_scores(result: TrialResult, logged: str | None = None) -> list[float]:
    """A trial's score (or ``logged`` metric) per fold; NaN where none.

    Without folds, its one validation split.
    """

    def value(metrics: dict, score: float | None) -> float:
        found = score if logged is None else metrics.get(logged)
        return math.nan if found is None else float(found)

    if result.folds is not None:
        return [value(f.get("metrics", {}), f.get("score")) for f in result.folds]
    if not result.ok:
        return [math.nan]
    return [value(result.metrics, result.score)]


def _fit_times(result: TrialResult) -> list[float]:
    if result.folds:
        return [float(f.get("fit_seconds", 0.0)) for f in result.folds]
    return [result.fit_seconds]


def _min_ranks(values: list[float], higher_is_better: bool) -> list[int]:
    """scikit-learn's ranks: 1 is best, ties share the best rank, NaN last."""
    sign = -1.0 if higher_is_better else 1.0
    keys = [math.inf if math.isnan(v) else sign * v for v in values]
    return [1 + sum(other < key for other in keys) for key in keys]


def result_from_trial(trial: Any, number: int) -> TrialResult:
    """A result made from keras-tuner's record of an ended trial (``trial.json``).

    For a trial the oracle lists as ended whose ``result.json`` is missing:
    its status, score, best metrics and values, without per-epoch history.

    Args:
        trial: A keras-tuner ``Trial``.
        number: Its 1-based number in the search.
    """
    from keras_tuner.engine import trial as kt_trial  # not when reading results

    from keras_hpo.search_space.sklearn_grid import SUBGRID

    completed = trial.status == kt_trial.TrialStatus.COMPLETED
    metrics = {
        name: float(trial.metrics.get_best_value(name))
        for name in trial.metrics.metrics
    }
    values = {k: v for k, v in trial.hyperparameters.values.items() if k != SUBGRID}
    return TrialResult(
        trial.trial_id,
        number,
        values,
        TrialStatus.COMPLETED if completed else TrialStatus.FAILED,
        score=float(trial.score) if completed and trial.score is not None else None,
        metrics=metrics,
        best_epoch=trial.best_step if completed else None,
        error=None if completed else (trial.message or "failed"),
        end_reason="recovered from keras-tuner's trial.json (no per-epoch history)",
    )
