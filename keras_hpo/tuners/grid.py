"""GridSearch: `GridOracle` + `SearchTuner`."""

from __future__ import annotations

from typing import Any

from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.sklearn_estimator import as_hypermodel
from keras_hpo.oracles.grid import GridOracle
from keras_hpo.oracles.space import HyperGrid
from keras_hpo.tuners.arguments import search_space
from keras_hpo.tuners.base import SearchTuner

__all__ = ["UNASKED_GRID", "GridSearch"]

#: The most combinations a grid runs without an explicit ``max_trials`` or
#: ``param_grid`` (a default range of a knob can make a grid huge).
UNASKED_GRID = 10_000


class GridSearch(SearchTuner):
    """Tries every combination of the search space exactly once.

    A drop-in for ``keras_tuner.GridSearch`` that also takes a scikit-learn
    ``param_grid``. The grid's size is known before the first trial
    (``len(tuner.grid)``) and the search stops when it is exhausted.

    Args:
        hypermodel: A `HyperMLP`, another ``keras_tuner.HyperModel``, a
            ``build(hp)`` function, or a scikit-learn estimator (tuned as
            scikit-learn's search classes tune it: see
            `keras_hpo.hypermodels.SklearnHyperModel`).
        objective: The metric to optimise; defaults to the `HyperMLP` task's
            (``val_accuracy`` or ``val_loss``).
        max_trials: Stop after this many trials; ``None`` (default) runs the
            whole grid.
        param_grid: scikit-learn style grid: a dict of lists, or a list of
            such dicts. Knobs left out keep their default value.
        seed, hyperparameters, tune_new_entries, allow_new_entries,
        max_retries_per_trial, max_consecutive_failed_trials: As for
            `keras_hpo.oracles.SearchOracle`.
        **kwargs: `SearchTuner` and keras-tuner ``Tuner`` arguments
            (``directory``, ``project_name``, ``overwrite``, ``verbose``...).

    Raises:
        SearchSpaceError: If a hyperparameter is a continuous range without a
            step.
        ValueError: If the grid has more than `UNASKED_GRID` (10,000)
            combinations and neither ``max_trials`` nor ``param_grid`` says
            that is meant; the message names the knobs with the most values.

    Example:
        >>> tuner = GridSearch(HyperMLP(num_classes=10),
        ...     param_grid={"units": [32, 64], "learning_rate": [1e-3, 1e-2]})
        >>> len(tuner.grid)
        4
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
        param_grid: Any = None,
        **kwargs,
    ):
        hypermodel = as_hypermodel(hypermodel)
        oracle = GridOracle(
            max_trials=max_trials,
            seed=seed,
            allow_new_entries=allow_new_entries,
            max_retries_per_trial=max_retries_per_trial,
            max_consecutive_failed_trials=max_consecutive_failed_trials,
            **search_space(
                hypermodel,
                objective,
                hyperparameters,
                tune_new_entries,
                param_grid=param_grid,
                scoring=kwargs.get("scoring"),
                refit=kwargs.get("refit", True),
            ),
        )
        super().__init__(oracle, hypermodel, **kwargs)
        grid = self.oracle.get_grid()  # a continuous range fails here
        if max_trials is None and param_grid is None and len(grid) > UNASKED_GRID:
            largest = ", ".join(
                f"{name} ({count} values)"
                for name, count in list(grid.values_per_hyperparameter().items())[:3]
            )
            raise bad_value(
                "max_trials",
                max_trials,
                f"the grid has {len(grid):,} combinations, more than "
                f"{UNASKED_GRID:,}, most of them from {largest}",
                "Say what to try: a param_grid={...}, fewer values for those "
                "knobs (e.g. units=[64, 128]), or max_trials=N to run the first "
                "N combinations (RandomSearch samples a large space better).",
            )

    @property
    def expected_trials(self) -> int | None:
        """The grid's size, or ``max_trials`` if smaller.

        A space that trials declare as they run (in ``run_trial`` or
        ``HyperModel.fit``) is empty before the first trial: its size is
        unknown then (``max_trials``, or ``None``), and grows with it.
        """
        if not self.oracle.hyperparameters.space:
            return self.oracle.max_trials
        size = len(self.grid)
        return min(size, self.oracle.max_trials) if self.oracle.max_trials else size

    @property
    def grid(self) -> HyperGrid:
        """Every combination the search will try, in order."""
        return self.oracle.get_grid()
