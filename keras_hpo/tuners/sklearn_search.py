"""`SklearnSearch`: scikit-learn's search-class API over our strategies.

``SklearnSearch(estimator, param_grid=..., strategy="grid", cv=5).fit(X, y)``
reads like ``GridSearchCV(estimator, param_grid, cv=5).fit(X, y)`` (and
``strategy="random"`` / ``"bayesian"`` with ``param_distributions`` and
``n_iter`` like ``RandomizedSearchCV``), for a scikit-learn estimator or
``Pipeline`` (``step__param`` names) as for a `HyperMLP`. It only chooses a
strategy tuner (`GridSearch`, `RandomSearch`, `BayesianSearch`) and gives
``fit`` scikit-learn's meaning; everything else (``best_params_``,
``cv_results_``, ``predict``, resuming, TensorBoard...) is the tuner's,
reachable as attributes or as ``search.tuner``.

keras-tuner's own ``SklearnTuner`` runs a scikit-learn estimator's trials
too, but without resuming from a killed run's results, progress lines,
TensorBoard, ``cv_results_`` or a refit: the tuner here is ours, with
keras-tuner's engine (oracle, trials, project files) underneath.
"""

from __future__ import annotations

from typing import Any

from keras_hpo.errors import bad_value
from keras_hpo.tuners.base import SearchTuner
from keras_hpo.tuners.bayesian import BayesianSearch
from keras_hpo.tuners.grid import GridSearch
from keras_hpo.tuners.random import RandomSearch

__all__ = ["STRATEGIES", "SklearnSearch"]

#: ``strategy=`` name -> the tuner that runs it.
STRATEGIES = {"grid": GridSearch, "random": RandomSearch, "bayesian": BayesianSearch}


class SklearnSearch:
    """A hyperparameter search with scikit-learn's ``fit(X, y)``.

    Args:
        estimator: A scikit-learn estimator or ``Pipeline``, or a `HyperMLP`.
        param_grid: scikit-learn's grid (``strategy="grid"``): a dict of
            lists, or a list of them; ``None`` may be a value.
        param_distributions: Lists and ``scipy.stats`` distributions
            (``strategy="random"`` or ``"bayesian"``); a ``param_grid`` is
            taken for them too.
        strategy: ``"grid"`` (default), ``"random"`` or ``"bayesian"``.
        n_iter: Trials of a random or Bayesian search (default 10).
        cv, scoring, refit: As in scikit-learn (see `SearchTuner`).
        seed: Seed of the strategy (``random_state`` is accepted too).
        **kwargs: The tuner's other arguments (``directory``,
            ``project_name``, ``overwrite``, ``verbose``...).

    Raises:
        ValueError: For an unknown strategy, or a space that does not suit
            it (the message names the argument).

    Example:
        >>> search = SklearnSearch(RandomForestClassifier(random_state=0),
        ...     param_grid={"max_depth": [None, 10]}, cv=5, scoring="accuracy")
        >>> search.fit(x, y).best_params_  # doctest: +SKIP
    """

    def __init__(
        self,
        estimator: Any,
        param_grid: Any = None,
        *,
        param_distributions: Any = None,
        strategy: str = "grid",
        n_iter: int | None = None,
        cv: Any = None,
        scoring: Any = None,
        refit: bool | str = True,
        seed: int | None = None,
        random_state: int | None = None,
        **kwargs: Any,
    ):
        if strategy not in STRATEGIES:
            raise bad_value(
                "strategy",
                strategy,
                "not a strategy",
                f"Use one of: {', '.join(STRATEGIES)}.",
            )
        if seed is not None and random_state is not None and seed != random_state:
            raise bad_value(
                "random_state",
                random_state,
                f"conflicts with seed={seed}",
                "random_state is scikit-learn's name for seed; give one of them.",
            )
        if param_grid is not None and param_distributions is not None:
            raise bad_value(
                "param_distributions",
                param_distributions,
                "given together with param_grid (one search space is searched)",
                "Pass param_grid= for a grid, or param_distributions= to sample.",
            )
        space = param_grid if param_distributions is None else param_distributions
        if space is None:
            raise bad_value(
                "param_grid",
                None,
                "no search space was given",
                'Pass param_grid={"max_depth": [None, 10]} (or '
                "param_distributions= for strategy='random' or 'bayesian').",
            )
        common = dict(
            cv=cv,
            scoring=scoring,
            refit=refit,
            seed=seed if seed is not None else random_state,
            **kwargs,
        )
        if strategy == "grid":
            if param_distributions is not None:
                raise bad_value(
                    "param_distributions",
                    param_distributions,
                    "given to a grid search, which enumerates param_grid",
                    "Pass param_grid= (lists), or strategy='random'.",
                )
            if n_iter is not None:
                common["max_trials"] = n_iter
            tuner = GridSearch(estimator, param_grid=param_grid, **common)
        elif strategy == "random":
            tuner = RandomSearch(
                estimator, n_iter=n_iter or 10, param_distributions=space, **common
            )
        else:
            tuner = BayesianSearch(
                estimator, max_trials=n_iter or 10, param_distributions=space, **common
            )
        #: The strategy tuner that runs the search.
        self.tuner: SearchTuner = tuner
        self.strategy = strategy

    def fit(
        self, x: Any, y: Any = None, *, groups: Any = None, **fit_params: Any
    ) -> SklearnSearch:
        """Runs the search on ``x, y`` (resuming a project's finished trials).

        Args:
            x: The data.
            y: The targets.
            groups: Each sample's group label, for a ``cv=`` splitter that
                keeps groups apart (``GroupKFold``...), as scikit-learn's.
            **fit_params: The estimator's ``fit`` parameters (a Keras
                hypermodel's: ``epochs``, ``validation_split``...).

        Returns:
            ``self``, as scikit-learn's ``fit``.
        """
        self.tuner.search(x, y, groups=groups, **fit_params)
        return self

    def __getattr__(self, name: str) -> Any:
        # Everything else is the tuner's: best_params_, cv_results_, predict...
        if name == "tuner":  # not set yet: __init__ failed
            raise AttributeError(name)
        try:
            return getattr(self.tuner, name)
        except AttributeError:
            if hasattr(type(self.tuner), name):  # the tuner's own answer
                raise
            raise AttributeError(
                f"'SklearnSearch' object has no attribute {name!r}"
            ) from None
