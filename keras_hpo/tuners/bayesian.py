"""BayesianSearch: `BayesianOracle` + `SearchTuner`."""

from __future__ import annotations

from typing import Any

from keras_hpo.hypermodels.sklearn_estimator import as_hypermodel
from keras_hpo.oracles.bayesian import BayesianOracle
from keras_hpo.tuners.arguments import search_space
from keras_hpo.tuners.base import SearchTuner

__all__ = ["BayesianSearch"]


class BayesianSearch(SearchTuner):
    """Bayesian optimisation with a Gaussian process (see `BayesianOracle`).

    A drop-in for ``keras_tuner.BayesianOptimization``.

    Args:
        hypermodel: A `HyperMLP`, another ``keras_tuner.HyperModel``, a
            ``build(hp)`` function, or a scikit-learn estimator (tuned as
            scikit-learn's search classes tune it: see
            `keras_hpo.hypermodels.SklearnHyperModel`).
        objective: The metric to optimise; defaults to the `HyperMLP` task's.
        max_trials: Number of trials. Defaults to 10.
        num_initial_points: Size of the quasi-random initial design (see
            `BayesianOracle`).
        xi: Exploration margin of expected improvement, in standard
            deviations of the observed scores. Defaults to 0.0 (see
            `BayesianOracle`).
        warp_outputs: Warp the scores by a fitted power transform before the
            Gaussian process sees them. Defaults to True (see
            `BayesianOracle`).
        param_distributions: Optional scikit-learn style search space.
        alpha, beta: keras-tuner's least GP noise and confidence-bound
            weight, in keras-tuner's positions (see `BayesianOracle`); both
            ``None`` by default: fitted noise and expected improvement.
        seed, hyperparameters, tune_new_entries, allow_new_entries,
        max_retries_per_trial, max_consecutive_failed_trials: As for
            `keras_hpo.oracles.SearchOracle`.
        **kwargs: `SearchTuner` and keras-tuner ``Tuner`` arguments.

    Example:
        >>> tuner = BayesianSearch(HyperMLP(num_classes=10), max_trials=20, seed=0)
    """

    def __init__(
        self,
        hypermodel=None,
        objective=None,
        max_trials: int | None = None,
        num_initial_points: int | None = None,
        alpha: float | None = None,
        beta: float | None = None,
        seed: int | None = None,
        hyperparameters=None,
        tune_new_entries: bool = True,
        allow_new_entries: bool = True,
        max_retries_per_trial: int = 0,
        max_consecutive_failed_trials: int = 3,
        *,
        xi: float = 0.0,
        warp_outputs: bool = True,
        param_distributions: Any = None,
        **kwargs,
    ):
        hypermodel = as_hypermodel(hypermodel)
        oracle = BayesianOracle(
            max_trials=10 if max_trials is None else max_trials,
            num_initial_points=num_initial_points,
            alpha=alpha,
            beta=beta,
            xi=xi,
            warp_outputs=warp_outputs,
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
