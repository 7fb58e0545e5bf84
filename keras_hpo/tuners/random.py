"""RandomSearch: `RandomOracle` + `SearchTuner`."""

from __future__ import annotations

from typing import Any

from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.sklearn_estimator import as_hypermodel
from keras_hpo.oracles.base import check_max_trials
from keras_hpo.oracles.random import RandomOracle
from keras_hpo.tuners.arguments import search_space
from keras_hpo.tuners.base import SearchTuner

__all__ = ["RandomSearch"]


class RandomSearch(SearchTuner):
    """Samples configurations at random, reproducibly, without repeats.

    A drop-in for ``keras_tuner.RandomSearch`` that also speaks
    ``RandomizedSearchCV``: ``param_distributions`` (lists and
    ``scipy.stats`` ``randint`` / ``uniform`` / ``loguniform``) and ``n_iter``
    (another name for ``max_trials``).

    Args:
        hypermodel: A `HyperMLP`, another ``keras_tuner.HyperModel``, a
            ``build(hp)`` function, or a scikit-learn estimator (tuned as
            scikit-learn's search classes tune it: see
            `keras_hpo.hypermodels.SklearnHyperModel`).
        objective: The metric to optimise; defaults to the `HyperMLP` task's.
        max_trials: Number of trials. Defaults to 10.
        n_iter: scikit-learn's name for ``max_trials``.
        param_distributions: scikit-learn style search space.
        seed: Random seed; ``None`` draws one. ``seed=0`` is a seed.
        hyperparameters, tune_new_entries, allow_new_entries,
        max_retries_per_trial, max_consecutive_failed_trials: As for
            `keras_hpo.oracles.SearchOracle`.
        **kwargs: `SearchTuner` and keras-tuner ``Tuner`` arguments.

    Example:
        >>> from scipy.stats import loguniform
        >>> tuner = RandomSearch(HyperMLP(num_classes=10), n_iter=20, seed=0,
        ...     param_distributions={"learning_rate": loguniform(1e-4, 1e-1)})
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials: int | None = None,
        seed: int | None = None,
        hyperparameters=None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        n_iter: int | None = None,
        param_distributions: Any = None,
        **kwargs,
    ):
        hypermodel = as_hypermodel(hypermodel)
        n_iter = check_max_trials(n_iter, "n_iter")
        if n_iter is not None and max_trials is not None and n_iter != max_trials:
            raise bad_value(
                "n_iter",
                n_iter,
                f"conflicts with max_trials={max_trials}",
                "n_iter is scikit-learn's name for max_trials; give one of them.",
            )
        oracle = RandomOracle(
            max_trials=next(v for v in (n_iter, max_trials, 10) if v is not None),
            seed=seed,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            **search_space(
                hypermodel,
                objective,
                hyperparameters,
                tune_new_entries,
                param_distributions=param_distributions,
                scoring=kwargs.get("scoring"),
                refit=kwargs.get("refit", True),
            ),
        )
        super().__init__(oracle, hypermodel, **kwargs)
