"""The results of a search's ended trials: kept, written, read back, ranked.

`ResultStore` holds one `TrialResult` per ended trial, writes each as
``trial_<id>/result.json`` and answers the scikit-learn style questions
(ranking, `cv_results`, the best trial) and the stopper's (every trial's
curve). It imports neither TensorFlow nor keras-tuner, so a project can be
read without them (``keras-hpo summary``). It owns results; it must not
train, talk to the oracle or touch weights files.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable

from keras_hpo.errors import NotSearchedError
from keras_hpo.files import file_signature
from keras_hpo.stopping.base import Curve
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.results import cv_results
from keras_hpo.tuners.results import ranked

__all__ = ["RESULT_FILE", "ResultStore"]

#: A trial's result, in its folder.
RESULT_FILE = "result.json"


class ResultStore:
    """The ended trials of one search, by trial ID.

    Args:
        project_dir: The project's folder (trials are ``trial_<id>`` in it).
        direction: ``"min"`` or ``"max"``: which scores are better.
    """

    def __init__(self, project_dir: str, direction: str):
        self.project_dir = project_dir
        self.direction = direction
        #: trial_id -> `TrialResult`, for every trial that ended.
        self.trials: dict[str, TrialResult] = {}
        # The version of each file `refresh` read (see `files.file_signature`).
        self._read: dict[str, tuple[int, int, int] | None] = {}

    def __len__(self) -> int:
        return len(self.trials)

    def path(self, trial_id: str) -> str:
        """Where a trial's result is written."""
        return os.path.join(self.project_dir, f"trial_{trial_id}", RESULT_FILE)

    def get(self, trial_id: str) -> TrialResult | None:
        """A trial's result, or ``None``."""
        return self.trials.get(trial_id)

    def put(self, result: TrialResult) -> None:
        """Keeps ``result`` (replacing the trial's earlier one), in memory."""
        self.trials[result.trial_id] = result

    def save(self, result: TrialResult) -> None:
        """Keeps ``result`` and writes it atomically."""
        self.put(result)
        result.save(self.path(result.trial_id))

    def load(self, ended: Iterable[str] | None = None) -> list[str]:
        """Reads the results on disk of the trials listed as ended.

        A ``result.json`` of a trial not in ``ended`` (the process died
        between writing it and the oracle's file) is ignored: that trial
        runs again.

        Args:
            ended: The trial IDs the oracle lists as ended; ``None`` reads
                every result.

        Returns:
            The IDs in ``ended`` that have no result on disk.

        Raises:
            ValueError: If a result file is damaged or another trial's.
        """
        ended = None if ended is None else list(ended)
        pattern = os.path.join(self.project_dir, "trial_*", RESULT_FILE)
        for path in sorted(glob.glob(pattern)):
            result = TrialResult.load(path)  # refuses another trial's file
            if ended is None or result.trial_id in ended:
                self.put(result)
        return [trial_id for trial_id in ended or [] if trial_id not in self.trials]

    def refresh(self, running: str | None = None) -> None:
        """Reads the results on disk written since the last refresh.

        For a worker of a multi-worker search: the other workers' results,
        each file read once per version (they are written atomically, so a
        new version is a new file).

        Args:
            running: The trial this process runs, whose file is left unread:
                it can only be an earlier run's (a worker whose lease ran out
                while it wrote), and this process's own result stands.

        Raises:
            ValueError: If a result file is damaged or another trial's.
        """
        pattern = os.path.join(self.project_dir, "trial_*", RESULT_FILE)
        skip = None if running is None else self.path(running)
        for path in glob.glob(pattern):
            if path == skip:
                continue
            signature = file_signature(path)
            if signature is not None and self._read.get(path) != signature:
                self.put(TrialResult.load(path))
                self._read[path] = signature

    def read(self, trial_id: str) -> TrialResult | None:
        """Reads one trial's result from disk and keeps it (``None``: none yet).

        Raises:
            ValueError: If the file is damaged or another trial's.
        """
        path = self.path(trial_id)
        if not os.path.exists(path):
            return None
        result = TrialResult.load(path)
        self.put(result)
        return result

    def results(self) -> list[TrialResult]:
        """Every ended trial's result, in trial order."""
        return sorted(self.trials.values(), key=lambda r: r.number)

    def ranked(self) -> list[TrialResult]:
        """The trials with a score, best first (ties: the earlier trial)."""
        return ranked(list(self.trials.values()), self.direction)

    def best(self) -> TrialResult | None:
        """The trial with the best score, or ``None``."""
        ranked = self.ranked()
        return ranked[0] if ranked else None

    def require_best(self) -> TrialResult:
        """The best trial.

        Raises:
            NotSearchedError: If no trial has a score yet.
        """
        best = self.best()
        if best is None:
            raise NotSearchedError(
                "No trial has completed yet, so there is no best trial. Call "
                "search(...) first (or check the failed trials' errors in "
                "cv_results_['error'])."
            )
        return best

    def scores(self) -> list[float | None]:
        """Every ended trial's score in trial order (``None``: no score)."""
        return [r.score if r.ok else None for r in self.results()]

    def cv_results(self, scores: list | None = None) -> dict[str, list]:
        """The scikit-learn style table (see `results.cv_results`)."""
        return cv_results(self.results(), self.ranked(), self.direction, scores=scores)

    def curves(self, objective: str, execution: int = 0) -> dict[str, Curve]:
        """Every ended trial's objective curve, oriented so lower is better.

        Completed trials and those stopped by their own early stopping are
        finished (their best value carries forward); pruned trials count only
        at the epochs they reached; failed trials are left out. With
        ``cv=``, each trial's curve of fold ``execution`` (trials that did not
        reach that fold are left out).
        """
        sign = 1.0 if self.direction == "min" else -1.0
        curves = {}
        for result in self.trials.values():
            history = result.history
            if result.folds is not None:
                if execution >= len(result.folds):
                    continue
                history = result.folds[execution].get("history", {})
            values = history.get(objective)
            if not result.ok or not values:
                continue
            # A pruned trial's last training (or fold) is the one cut short.
            last = result.folds is None or execution == len(result.folds) - 1
            finished = not (result.status == TrialStatus.PRUNED and last)
            curves[result.trial_id] = Curve([sign * v for v in values], finished)
        return curves
