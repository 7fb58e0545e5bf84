"""A read-only view of a running search, for search callbacks.

Search callbacks observe; they must not steer. As Optuna hands its callbacks
the study and a frozen trial, keras_hpo hands each `SearchCallback` hook a
`SearchView`: the space, the objective, the folders, the results so far and
why the search stopped, all read through properties that return copies or
immutable values. This module owns that view; it must not change the
search.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING
from typing import Any

from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.search_space.importance import IMPORTANCE
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.runner import active_values

if TYPE_CHECKING:  # pragma: no cover
    from keras_hpo.tuners.base import SearchTuner

__all__ = ["SearchView", "run_name"]


def run_name(
    trial_id: str, execution: int, executions: int, folds: bool = False
) -> str:
    """A training's folder name under a log directory.

    ``trial_<id>``; ``trial_<id>/execution_<n>`` with several executions;
    ``trial_<id>/fold_<n>`` for the ``cv=`` folds (``n`` is 1-based).
    """
    run = f"trial_{trial_id}"
    if folds:
        run = os.path.join(run, f"fold_{execution + 1}")
    elif executions > 1:
        run = os.path.join(run, f"execution_{execution + 1}")
    return run


class SearchView:
    """What a search callback may read about the search it observes.

    Args:
        tuner: The tuner running the search (kept private).
    """

    def __init__(self, tuner: SearchTuner):
        self._tuner = tuner

    @property
    def strategy(self) -> str:
        """The oracle's class name, e.g. ``"RandomOracle"`` (a worker: the chief's)."""
        oracle = self._tuner.oracle
        return type(getattr(oracle, "local_oracle", oracle)).__name__

    @property
    def is_worker(self) -> bool:
        """Whether this process trains trials for a chief in another process.

        ``search(workers=N)``'s and ``keras-hpo launch``'s workers: the chief
        records the search as a whole (what its end writes once), and it may
        have stopped serving by the time a worker's ``on_search_end`` runs.
        """
        return bool(self._tuner._worker_process)

    @property
    def objective(self) -> Any:
        """The keras-tuner ``Objective`` (``.name``, ``.direction``)."""
        return self._tuner.oracle.objective

    @property
    def space(self) -> list:
        """The search space's hyperparameters (copies of keras-tuner's)."""
        return [hp for hp in self._tuner.oracle.get_space().space if hp.name != SUBGRID]

    @property
    def importance(self) -> tuple[str, ...]:
        """Hyperparameter names, most important first (the hypermodel's order)."""
        hypermodel = self._tuner.hypermodel
        if isinstance(hypermodel, DataAwareHyperModel):
            return tuple(hypermodel.important_hyperparameters)
        return IMPORTANCE

    @property
    def project_dir(self) -> str:
        """The project's folder."""
        return self._tuner.project_dir

    @property
    def tensorboard_dir(self) -> str | None:
        """Where the TensorBoard logs go (``None``: nowhere)."""
        return self._tuner.tensorboard_dir

    @property
    def expected_trials(self) -> int | None:
        """How many trials the search runs at most (``None``: unknown)."""
        return self._tuner.expected_trials

    @property
    def max_time(self) -> float | None:
        """The search's ``max_time`` in seconds (``None``: no time limit)."""
        return self._tuner.limits.max_time

    def measured_importance(self, at_least: int = 2) -> dict[str, float] | None:
        """Hyperparameter importance from the finished trials (`importance`).

        Args:
            at_least: ``None`` is returned with fewer finished trials (or
                hyperparameter values it cannot encode, such as lists).
        """
        if len([r for r in self._tuner.results() if r.ok]) < at_least:
            return None
        try:
            return self._tuner.importance()
        except (TypeError, ValueError):  # values it cannot encode: no answer
            return None

    def trial_number(self, trial_id: str) -> int:
        """A trial's 1-based number in the search (the chief's, with workers)."""
        return self._tuner.trial_number(self._tuner.oracle.get_trial(trial_id))

    @property
    def logged_metrics(self) -> list[str]:
        """Metric names the model logs, when known before the first trial."""
        return list(self._tuner.logged_metrics)

    @property
    def trains_in_epochs(self) -> bool:
        """Whether trials train Keras models, epoch by epoch.

        ``False`` for scikit-learn estimators: one ``fit`` each, so no
        epochs, curves or best epoch to record.
        """
        return not isinstance(self._tuner.hypermodel, SklearnHyperModel)

    @property
    def samples_per_epoch(self) -> int | None:
        """Training samples per epoch, when known."""
        return self._tuner.samples_per_epoch

    @property
    def stop_reason(self) -> str | None:
        """Why the search ended (``None`` while it runs)."""
        return self._tuner.stop_reason

    @property
    def trial_results(self) -> Mapping[str, TrialResult]:
        """trial_id -> `TrialResult` of every ended trial (read-only)."""
        return MappingProxyType(self._tuner.trial_results)

    def results(self) -> list[TrialResult]:
        """Every ended trial's result, in trial order."""
        return self._tuner.results()

    def best_result(self) -> TrialResult | None:
        """The trial with the best score so far, or ``None``."""
        return self._tuner.best_result()

    def trial_values(self, trial_id: str) -> dict[str, Any]:
        """A trial's active hyperparameter values (inactive ones left out)."""
        return active_values(self._tuner.oracle.get_trial(trial_id).hyperparameters)

    def run_name(self, trial_id: str, execution: int) -> str:
        """A training's folder name under a log directory (see `run_name`)."""
        tuner = self._tuner
        return run_name(
            trial_id, execution, tuner.trainings, folds=tuner.folds is not None
        )
