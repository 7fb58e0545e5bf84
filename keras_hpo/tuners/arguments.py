"""Turning a strategy tuner's arguments into its oracle's arguments."""

from __future__ import annotations

from typing import Any

from keras_hpo.compat import create_objective
from keras_hpo.compat import is_objective
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.search_space.sklearn_grid import param_distributions_to_hyperparameters
from keras_hpo.search_space.sklearn_grid import param_grid_to_hyperparameters
from keras_hpo.tuners.scoring import estimator_scoring
from keras_hpo.tuners.scoring import make_scoring

__all__ = [
    "check_foreign_arguments",
    "check_objective",
    "model_logs",
    "search_space",
]

#: Arguments of scikit-learn's search classes (or of another of our tuners)
#: that a tuner does not take: why, and what to write instead.
_FOREIGN = {
    "param_grid": (
        "{tuner} does not take it: a grid (every combination of lists of values) "
        "is GridSearch's",
        "Use GridSearch(hypermodel, param_grid=...) to try every combination, or "
        "{tuner}(hypermodel, param_distributions=..., max_trials=N) to draw N.",
    ),
    "param_distributions": (
        "{tuner} does not take it: it tries every combination of param_grid's "
        "lists; RandomSearch and BayesianSearch draw from param_distributions",
        "Use GridSearch(hypermodel, param_grid={{name: [values]}}), or "
        "RandomSearch(hypermodel, param_distributions=..., n_iter=N).",
    ),
    "n_iter": (
        "{tuner} does not take it: n_iter is RandomSearch's name for max_trials",
        "Pass max_trials=N.",
    ),
    "n_jobs": (
        "keras_hpo does not train trials in threads: it trains them in worker "
        "processes",
        "Call search(..., workers=N) for N processes on this machine, or run "
        "`keras-hpo launch --workers N -- python your_script.py`.",
    ),
    "random_state": (
        "{tuner} does not take it: random_state is scikit-learn's name for seed",
        "Pass seed=... (an int).",
    ),
}


def check_foreign_arguments(tuner: str, kwargs: dict) -> None:
    """Refuses scikit-learn's arguments that a tuner does not take, with the fix.

    keras-tuner would refuse them as "Unrecognized arguments", without
    saying what to write instead.

    Args:
        tuner: The tuner's class name.
        kwargs: The keyword arguments left for keras-tuner.

    Raises:
        ConfigError: For the first such argument.
    """
    for name, (problem, fix) in _FOREIGN.items():
        if name in kwargs:
            raise bad_value(
                name, kwargs[name], problem.format(tuner=tuner), fix.format(tuner=tuner)
            )


def model_logs(hypermodel: Any) -> tuple[str, ...]:
    """The metrics a hypermodel's models log by themselves, when it says."""
    return tuple(getattr(hypermodel, "logged_metrics", ()))


def check_objective(objective: Any) -> Any:
    """Refuses an objective keras-tuner cannot use, naming ``objective``.

    Accepted: a metric name whose direction keras-tuner can infer (``loss``,
    ``val_accuracy``, ...), a `keras_tuner.Objective`, or a list of them.

    Raises:
        TypeError: For another type.
        ValueError: For an empty name, or a name with no known direction.
    """
    if objective is None:
        return None
    items = objective if isinstance(objective, list) else [objective]
    if not items:
        raise bad_value(
            "objective", objective, "an empty list", 'E.g. objective="val_loss".'
        )
    for item in items:
        if is_objective(item):
            continue
        if not isinstance(item, str):
            raise bad_type(
                "objective",
                item,
                "a metric name, a keras_tuner.Objective or a list of them",
                'E.g. objective="val_accuracy".',
            )
        if not item:
            raise bad_value(
                "objective", item, "an empty metric name", 'E.g. objective="val_loss".'
            )
        try:
            create_objective(item)
        except ValueError:
            raise bad_value(
                "objective",
                item,
                "keras-tuner cannot tell whether to minimise or maximise it",
                f'Pass keras_tuner.Objective("{item}", direction="max") (or "min").',
            ) from None
    return objective


def search_space(
    hypermodel: Any,
    objective: Any,
    hyperparameters: Any,
    tune_new_entries: bool,
    *,
    param_grid: Any = None,
    param_distributions: Any = None,
    scoring: Any = None,
    refit: Any = True,
) -> dict[str, Any]:
    """Resolves the objective and the search space of a strategy tuner.

    * ``scoring`` (see `scoring.make_scoring`; ``refit`` names the ranking
      score when there are several) makes the objective: its ranking
      score's ``val_<name>``. It cannot be given with ``objective``.
    * With no ``objective``, a data-aware hypermodel (such as `HyperMLP`,
      see `keras_hpo.protocols`) supplies its default
      (``val_accuracy`` for classification, ``val_loss`` for regression).
    * A scikit-learn ``param_grid`` / ``param_distributions`` becomes the
      ``hyperparameters`` of the oracle, and ``tune_new_entries`` is turned
      off: knobs left out keep their default value, as an estimator's
      parameters left out of a scikit-learn grid keep theirs.
    * A scikit-learn estimator (wrapped by `as_hypermodel`) is scored as
      scikit-learn scores it (`scoring.estimator_scoring`: its ``score``
      method by default, objective ``val_score``); its grid's names are its
      parameters, and values keras-tuner cannot hold are encoded
      (`SklearnHyperModel.encode`).

    Returns:
        ``objective``, ``hyperparameters`` and ``tune_new_entries`` for the
        oracle.

    Raises:
        ValueError: If a scikit-learn space is given with ``hyperparameters``.
    """
    objective = check_objective(objective)
    aware = isinstance(hypermodel, DataAwareHyperModel)
    estimator = isinstance(hypermodel, SklearnHyperModel)
    if estimator and objective is None:
        objective = estimator_scoring(scoring, refit, hypermodel.estimator).objective
    elif scoring is not None:
        if objective is not None:
            raise bad_value(
                "scoring",
                scoring,
                f"given together with objective={objective!r}",
                "Pass one of them: scoring= (scikit-learn's names) or objective=.",
            )
        objective = make_scoring(scoring, refit, model_logs(hypermodel)).objective
    if objective is None and aware:
        objective = hypermodel.default_objective
    knobs = hypermodel.knobs if aware else None
    for argument, spec, convert in (
        ("param_grid", param_grid, param_grid_to_hyperparameters),
        (
            "param_distributions",
            param_distributions,
            param_distributions_to_hyperparameters,
        ),
    ):
        if spec is None:
            continue
        if estimator:
            spec = hypermodel.encode(argument, spec)
        if hyperparameters is not None:
            raise bad_value(
                argument,
                spec,
                "given together with hyperparameters=",
                "Describe the search space one way: either a scikit-learn "
                f"{argument} or a keras_tuner.HyperParameters.",
            )
        # A subclass may name what its hooks declare; `preflight` checks it.
        open_names = aware and bool(getattr(hypermodel, "declares_in_hooks", False))
        hyperparameters = convert(spec, knobs, open_names)
        problem_of = getattr(hypermodel, "grid_name_problem", None)
        for name in dict.fromkeys(hp.name for hp in hyperparameters.space):
            problem = problem_of(name) if problem_of is not None else None
            if problem is not None:
                raise bad_value(argument, name, *problem)
        tune_new_entries = False
    return {
        "objective": objective,
        "hyperparameters": hyperparameters,
        "tune_new_entries": tune_new_entries,
    }
