"""``scoring=``: what ranks the trials, with scikit-learn's names and meanings.

A scoring is one or several named scores. Each is one of:

* a metric the model already logs (``"accuracy"`` of a classifying
  `HyperMLP`): read from Keras' logs as ``val_<name>``;
* a scikit-learn scorer name (``"neg_root_mean_squared_error"``, ``"r2"``,
  ``"f1_macro"``, ``"roc_auc"``...; see ``sklearn.metrics.get_scorer_names``)
  or a scorer callable ``scorer(estimator, x, y)`` (``make_scorer``...):
  computed after every epoch on the validation data by `ValidationScores`,
  with the model seen as a fitted scikit-learn estimator, and logged as
  ``val_<name>``: greater is better, as in scikit-learn (an error is
  negated: ``neg_...``);
* another Keras metric name (``"mae"``, ``"auc"``...): compiled into
  `HyperMLP` models (its ``metrics``) and read as ``val_<name>``, in the
  direction keras-tuner infers.

The ranking score becomes the oracle's objective; with several scores,
``refit`` names it, as in scikit-learn. This module owns that resolution and
the per-epoch scorer callback; it must not train or rank anything itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import keras_tuner
import numpy as np
from sklearn.metrics import check_scoring
from sklearn.metrics import get_scorer
from sklearn.metrics import get_scorer_names

from keras_hpo.compat import create_objective
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.tuners.estimator import fitted_model

__all__ = [
    "Score",
    "Scoring",
    "ValidationScores",
    "check_scoring_objective",
    "estimator_scoring",
    "make_scoring",
]

_EXAMPLE = (
    'E.g. scoring="accuracy", scoring="neg_root_mean_squared_error", or '
    'scoring=["accuracy", "f1_macro"] with refit="accuracy".'
)


@dataclass(frozen=True)
class Score:
    """One named score of a scoring.

    Attributes:
        name: As the user named it (a callable's ``__name__``).
        logged: The key it has in a training's logs (``val_<name>``).
        direction: ``"max"`` or ``"min"``.
        scorer: The scikit-learn scorer that computes it, or ``None`` when
            Keras logs it.
        keras_metric: A Keras metric name a `HyperMLP` must compile, or
            ``None``.
        scorer_name: The scikit-learn scorer name ``scorer`` was made from
            (saved with the refit model, for `keras_hpo.load`), or ``None``.
    """

    name: str
    logged: str
    direction: str
    scorer: Callable | None = None
    keras_metric: str | None = None
    scorer_name: str | None = None


@dataclass(frozen=True)
class Scoring:
    """The scores of a search and the one that ranks the trials."""

    scores: tuple[Score, ...]
    ranking: Score

    @property
    def objective(self) -> keras_tuner.Objective:
        """The oracle's objective: the ranking score."""
        return keras_tuner.Objective(self.ranking.logged, self.ranking.direction)

    @property
    def scorers(self) -> dict[str, Callable]:
        """Logged name -> scikit-learn scorer, for `ValidationScores`."""
        return {s.logged: s.scorer for s in self.scores if s.scorer is not None}

    @property
    def keras_metrics(self) -> list[str]:
        """The Keras metrics models must compile."""
        return [s.keras_metric for s in self.scores if s.keras_metric is not None]


def make_scoring(
    scoring: Any, refit: Any, logged: tuple[str, ...] = ()
) -> Scoring | None:
    """Resolves ``scoring=`` (and a ``refit`` that names the ranking score).

    Args:
        scoring: ``None``, a name, a scorer callable, a list of names or a
            dict of name -> name or callable.
        refit: The tuner's ``refit``: with several scores, the name of the
            one that ranks.
        logged: Metric names the model logs by itself (``accuracy``...).

    Raises:
        TypeError: For a scoring of another type.
        ValueError: For an unknown name, or several scores without a
            ``refit`` that names one.
    """
    if scoring is None:
        return None
    if isinstance(scoring, str) or callable(scoring):
        named = {_name(scoring): scoring}
    elif isinstance(scoring, (list, tuple)) and scoring:
        names = [_name(item) for item in scoring]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise bad_value(
                "scoring",
                scoring,
                f"holds {', '.join(map(repr, twice))} more than once (a "
                "list's scores are named by their metric or function name)",
                "List each score once; to keep two scorers of one name, pass a "
                'dict of name -> scorer, e.g. {"f1_a": scorer_a, "f1_b": scorer_b}.',
            )
        named = dict(zip(names, scoring, strict=True))
    elif isinstance(scoring, dict) and scoring:
        named = dict(scoring)
    else:
        raise bad_type(
            "scoring",
            scoring,
            "a metric name, a scorer, or a list or dict of them",
            _EXAMPLE,
        )
    scores = tuple(_score(name, spec, logged) for name, spec in named.items())
    if len(scores) == 1:
        return Scoring(scores, scores[0])
    by_name = {s.name: s for s in scores}
    if not isinstance(refit, str) or refit not in by_name:
        raise bad_value(
            "refit",
            refit,
            f"does not name one of the {len(scores)} scores "
            f"({', '.join(by_name)}), as several scores need",
            f'Pass refit="{scores[0].name}" (the score that ranks the trials).',
        )
    return Scoring(scores, by_name[refit])


def estimator_scoring(scoring: Any, refit: Any, estimator: Any) -> Scoring:
    """Resolves ``scoring=`` for a scikit-learn estimator.

    ``None`` scores with the estimator's own ``score`` method (accuracy for
    a classifier, R^2 for a regressor), named ``score`` as in scikit-learn;
    otherwise as `make_scoring`, with scikit-learn scorers only.

    Raises:
        ValueError: For a Keras metric name, which an estimator cannot log.
    """
    if scoring is None:
        score = Score("score", "val_score", "max", scorer=check_scoring(estimator))
        return Scoring((score,), score)
    resolved = make_scoring(scoring, refit)
    for score in resolved.scores:
        if score.scorer is None:
            raise bad_value(
                "scoring",
                score.name,
                f"a Keras metric, but {type(estimator).__name__} is a scikit-learn "
                "estimator, scored by scikit-learn's scorers",
                "Use a name from sklearn.metrics.get_scorer_names() (such as "
                '"neg_mean_absolute_error" for "mae") or a scorer callable.',
            )
    return resolved


def check_scoring_objective(scoring: Scoring, objective: Any) -> None:
    """Refuses an oracle whose objective is not the scoring's ranking score."""
    wanted = scoring.objective
    if getattr(objective, "name", None) != wanted.name:
        raise bad_value(
            "scoring",
            scoring.ranking.name,
            f"ranks by {wanted.name}, but the oracle's objective is "
            f"{getattr(objective, 'name', objective)!r}",
            f'Make the oracle with objective=keras_tuner.Objective("{wanted.name}", '
            f'"{wanted.direction}"), or use a strategy tuner (GridSearch...).',
        )


def _name(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    function = getattr(spec, "_score_func", spec)
    return getattr(function, "__name__", "score")


def _score(name: str, spec: Any, logged: tuple[str, ...]) -> Score:
    if not isinstance(name, str) or not name:
        raise bad_value("scoring", name, "a score needs a name", _EXAMPLE)
    if callable(spec) and not isinstance(spec, str):
        return Score(name, f"val_{name}", "max", scorer=spec)
    if not isinstance(spec, str):
        raise bad_type("scoring", spec, "a metric name or a scorer", _EXAMPLE)
    if spec in logged:
        return Score(name, f"val_{spec}", _direction(spec))
    if spec in get_scorer_names():
        return Score(
            name, f"val_{name}", "max", scorer=get_scorer(spec), scorer_name=spec
        )
    try:
        keras.metrics.get(spec)
    except (ValueError, TypeError):
        raise bad_value(
            "scoring",
            spec,
            "neither a scikit-learn scorer name nor a Keras metric",
            "Use a name from sklearn.metrics.get_scorer_names() (such as "
            '"neg_root_mean_squared_error") or a Keras metric (such as "mae").',
        ) from None
    return Score(name, f"val_{spec}", _direction(spec), keras_metric=spec)


def _direction(metric: str) -> str:
    try:
        return create_objective(f"val_{metric}").direction
    except ValueError:
        raise bad_value(
            "scoring",
            metric,
            "keras-tuner cannot tell whether to minimise or maximise it",
            f'Pass objective=keras_tuner.Objective("val_{metric}", "max") (or '
            '"min") instead of scoring=.',
        ) from None


class ValidationScores(keras.callbacks.Callback):
    """Adds scikit-learn scores on the validation data to each epoch's logs.

    It must come before the callbacks that read the logs (the recorder,
    early stopping, the search's control): Keras hands every callback the
    same logs dict.

    Args:
        scorers: Logged name -> scikit-learn scorer.
        validation: ``(x, y)`` (or ``(x, y, sample_weight)``): the data
            the scores are computed on.
        task: The model's task (see `estimator.fitted_model`).
        num_classes: The number of classes of a classifier.
    """

    def __init__(
        self,
        scorers: dict[str, Callable],
        validation: tuple,
        task: str | None,
        num_classes: int | None,
    ):
        super().__init__()
        self.scorers = scorers
        self.validation = validation
        self.task = task
        self.num_classes = num_classes

    def on_epoch_end(self, epoch, logs=None):
        """Scores the model on the validation data; adds ``val_<name>``."""
        if logs is None:
            return
        x, y = self.validation[0], np.asarray(self.validation[1])
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        estimator = fitted_model(self.model, self.task, self.num_classes)
        for name, scorer in self.scorers.items():
            try:
                logs[name] = float(scorer(estimator, x, y))
            except ValueError as err:
                if not self._finite(x):  # a diverged model: its trial fails so
                    logs[name] = float("nan")
                    continue
                # The scorer's own complaint (roc_auc on ten classes...), not
                # a divergence: the trial fails with it.
                raise ValueError(
                    f"scoring {name.removeprefix('val_')!r} cannot score this "
                    f"model: {err}"
                ) from err

    def _finite(self, x: Any) -> bool:
        """Whether the model's predictions on ``x`` are all finite."""
        predictions = self.model.predict(x, verbose=0)
        if isinstance(predictions, dict):
            predictions = list(predictions.values())
        parts = predictions if isinstance(predictions, (list, tuple)) else [predictions]
        return all(np.isfinite(np.asarray(p)).all() for p in parts)
