"""A search in TensorBoard: trial curves, HParams and the search's progress."""

from __future__ import annotations

import glob
import os
import time
from typing import TYPE_CHECKING

import numpy as np
from keras_hpo.callbacks.base import SearchCallback
from keras_hpo.callbacks.curves import EpochTensorBoard
from keras_hpo.callbacks.device import DeviceProbe
from keras_hpo.callbacks.events import EventLog
from keras_hpo.callbacks.events import text_summary
from keras_hpo.callbacks.hparams import experiment_summary
from keras_hpo.callbacks.hparams import metric_columns
from keras_hpo.callbacks.hparams import session_end_summary
from keras_hpo.callbacks.hparams import session_start_summary

from keras_hpo.errors import bad_value
from keras_hpo.files import atomic_write_json
from keras_hpo.files import read_json
from keras_hpo.tuners.results import ranked

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    import keras
    from keras_tuner.engine.trial import Trial

    from keras_hpo.tuners.results import TrialResult
    from keras_hpo.tuners.view import SearchView

__all__ = [
    "EXPERIMENT_FILES",
    "IMPORTANCE_AFTER",
    "TensorBoardLogger",
    "importance_table",
]

#: The experiment files this logger wrote, in ``log_dir`` (the only root event
#: files it may replace).
EXPERIMENT_FILES = ".keras_hpo_experiment.json"

#: Finished trials before the importance is written and orders the columns
#: (with fewer, the shares are mostly noise).
IMPORTANCE_AFTER = 10


def _experiment_contents(search: SearchView) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The hyperparameters, and the metrics, the HParams experiment lists.

    Metrics: those known before the first trial, and those the finished
    trials logged (a ``fit`` of one's own logs metrics no check foresaw).
    """
    logged = set(search.logged_metrics)
    for result in search.results():
        logged.update(result.metrics)
    return tuple(hp.name for hp in search.space), tuple(sorted(logged))


def importance_table(shares: dict[str, float]) -> str:
    """A Markdown table of hyperparameter importance shares, largest first."""
    rows = [
        f"| {i} | {name} | {share:.3f} |"
        for i, (name, share) in enumerate(shares.items(), 1)
    ]
    head = "| rank | hyperparameter | share of variance (fANOVA) |\n|---|---|---|"
    return "\n".join([head, *rows])


class TensorBoardLogger(SearchCallback):
    """Writes a whole search to TensorBoard: curves, HParams and progress.

    Every keras_hpo tuner adds one by default (``tensorboard_dir=``). The runs
    under ``log_dir``:

    * ``.`` (the directory itself): the HParams experiment, written by the
      first `search` of the project: every hyperparameter with its domain
      (most important first, see `order_hyperparameters`) and the metrics
      (see `metric_columns`).
    * ``trial_<id>``: the text ``device`` when the trial starts; when it
      ends, its HParams session (its active values and ``trial_status``:
      completed, stopped_early, pruned or failed), the text ``status`` (with
      the reason or the error), and the scalars ``best/<metric>``,
      ``epochs_run``, ``best_epoch`` (1-based), ``seconds`` and, on a GPU,
      ``gpu_peak_memory_mb``.
    * ``trial_<id>/train`` and ``trial_<id>/validation``: the curves, per
      epoch (`EpochTensorBoard`). With ``executions_per_trial > 1`` each
      execution has its own ``trial_<id>/execution_<n>/train`` and
      ``.../validation``.
    * ``search``: ``search/objective`` (each finished trial's score) and
      ``search/best_so_far``, against the trial number; at the end of a
      search with at least `IMPORTANCE_AFTER` finished trials, the text
      ``importance`` (each hyperparameter's share of the score's variance,
      see `keras_hpo.analysis.importance`), and the HParams experiment is
      written again with its columns in that order (replacing the
      experiment file it wrote before, and only that).

    Writers open when they first have something to write, flush after every
    epoch or trial and close at the end of each trial (the search run at the
    end of the search).

    Args:
        log_dir: Where to write.
        probe: Asks which device trains and its peak memory.

    Example:
        >>> tuner = keras_hpo.RandomSearch(hypermodel, tensorboard_dir="logs")
        >>> # then: keras-hpo tensorboard logs   (or tensorboard --logdir logs)
    """

    def __init__(
        self,
        log_dir: str,
        probe: DeviceProbe | None = None,
        project: str | None = None,
    ):
        self.log_dir = str(log_dir)
        self.probe = probe or DeviceProbe()
        #: The search's project (see `keras_hpo.tuners.project.project_identity`),
        #: noted in the folder: another project's search refuses to write there.
        self.project = project
        _check_owner(self.log_dir, project)
        self._trials: dict[str, EventLog] = {}
        self._search: EventLog | None = None
        #: What the experiment this logger wrote lists (hyperparameters and
        #: metrics); ``None`` if another search wrote it.
        self._listed: tuple | None = None

    def __getstate__(self) -> dict:
        # A pickled copy (a search callback sent to another process) carries
        # no open writers: they stay with the search that opened them.
        state = dict(self.__dict__)
        state["_trials"], state["_search"] = {}, None
        return state

    def run_name(self, trial_id: str) -> str:
        """The run of a trial, relative to ``log_dir``."""
        return f"trial_{trial_id}"

    # -- the search --------------------------------------------------------------
    def on_search_begin(self, search: SearchView) -> None:
        """Writes the HParams experiment, unless an earlier search did."""
        self._search = EventLog(os.path.join(self.log_dir, "search"))
        if glob.glob(os.path.join(self.log_dir, "events.out.tfevents.*")):
            return
        self._write_experiment(search, search.importance)

    def _write_experiment(
        self, search: SearchView, order: Sequence[str], also: Sequence[str] = ()
    ) -> str:
        """Writes the HParams experiment, notes its file (and ``also``) as ours.

        Returns:
            The new file's name.
        """
        objective = search.objective.name
        listed = _experiment_contents(search)
        metrics = metric_columns(
            objective, listed[1] or [objective], search.trains_in_epochs
        )
        root = EventLog(self.log_dir)
        root.write(experiment_summary(search.space, metrics, order))
        root.close()
        name = os.path.basename(root.path)
        self._note_experiment_files([name, *also])
        self._listed = listed
        return name

    def _note_experiment_files(self, names: list[str]) -> None:
        note = {"written_by": "keras_hpo", "files": sorted(names)}
        if self.project is not None:
            note["project"] = self.project
        atomic_write_json(os.path.join(self.log_dir, EXPERIMENT_FILES), note)

    def on_search_end(self, search: SearchView) -> None:
        """Writes the hyperparameters' importance; closes every writer still open.

        A worker's search (`SearchView.is_worker`) writes no importance: the
        chief writes it once for the whole search, and a worker must not ask
        the chief (for the space) once the search ended.
        """
        for log in self._trials.values():
            log.close()
        self._trials.clear()
        shares = (
            None if search.is_worker else search.measured_importance(IMPORTANCE_AFTER)
        )
        if shares and self._search is not None:
            done = len([r for r in search.results() if r.ok])
            self._search.write(
                text_summary("importance", importance_table(shares)), done
            )
        # Written again when the importance orders it, or when the trials
        # declared hyperparameters (a fit() of one's own) or logged metrics
        # that it does not list: TensorBoard shows only what it lists.
        if shares or (
            not search.is_worker and self._listed != _experiment_contents(search)
        ):
            self._rewrite_experiment(search, list(shares or search.importance))
        if self._search is not None:
            self._search.close()

    def _rewrite_experiment(self, search: SearchView, order: list[str]) -> None:
        """Writes the experiment again, its columns in ``order``.

        TensorBoard keeps the first experiment it reads, so the old one must
        go: only when every experiment file in the folder is one this logger
        wrote (named in `EXPERIMENT_FILES`); otherwise the order stays.
        """
        root = glob.glob(os.path.join(self.log_dir, "events.out.tfevents.*"))
        try:
            ours = set(
                read_json(os.path.join(self.log_dir, EXPERIMENT_FILES), "")["files"]
            )
        except (ValueError, KeyError, TypeError):
            return
        if not root or {os.path.basename(path) for path in root} - ours:
            return
        # Killed before the old file is gone, both stay listed as ours.
        old = [os.path.basename(path) for path in root]
        new = self._write_experiment(search, order, also=old)
        for path in root:
            os.remove(path)
        self._note_experiment_files([new])

    # -- one trial ---------------------------------------------------------------
    def on_trial_begin(self, search: SearchView, trial: Trial) -> None:
        """Records the device the trial trains on."""
        log = EventLog(os.path.join(self.log_dir, self.run_name(trial.trial_id)))
        self._trials[trial.trial_id] = log
        log.write(text_summary("device", self.probe.name()))
        log.flush()
        self.probe.reset_peak()

    def trial_callbacks(
        self, search: SearchView, trial: Trial, execution: int
    ) -> list[keras.callbacks.Callback]:
        """An `EpochTensorBoard` writing this training's curves."""
        run = os.path.join(self.log_dir, search.run_name(trial.trial_id, execution))
        return [EpochTensorBoard(run, search.samples_per_epoch)]

    def on_trial_end(self, search: SearchView, result: TrialResult) -> None:
        """Writes the trial's session and results; adds its score to the search run."""
        group = self.run_name(result.trial_id)
        log = self._trials.pop(result.trial_id, None) or EventLog(
            os.path.join(self.log_dir, group)
        )
        status = result.status.value
        values = search.trial_values(result.trial_id)
        log.write(
            session_start_summary(group, values, status, time.time() - result.seconds)
        )
        scalars = {f"best/{name}": value for name, value in result.metrics.items()}
        if search.trains_in_epochs:  # an estimator's fit has no epochs
            scalars["epochs_run"] = result.epochs_run
        if result.best_epoch is not None and result.ok:
            scalars["best_epoch"] = result.best_epoch + 1
        scalars["seconds"] = result.seconds
        peak = self.probe.peak_bytes()
        if peak is not None:
            scalars["gpu_peak_memory_mb"] = peak / 2**20
        log.scalars(scalars, step=0)
        if search.run_name(result.trial_id, 0) != group:
            self._write_last_epoch(group, result)
        detail = result.end_reason or ""
        if result.error:
            lines = result.error.strip().splitlines()
            detail = lines[-1] if lines else detail
        log.write(text_summary("status", f"{status}: {detail}" if detail else status))
        log.write(session_end_summary(status))
        log.close()
        if result.ok and self._search is not None:
            # Best up to this trial's number: a fused group's trials (and
            # other workers') end out of order.
            earlier = [r for r in search.results() if r.number <= result.number]
            best = ranked(earlier, search.objective.direction)
            values = {"search/objective": result.score}
            if best:
                values["search/best_so_far"] = best[0].score
            self._search.scalars(values, step=result.number)
            self._search.flush()

    def _write_last_epoch(self, group: str, result: TrialResult) -> None:
        """A trial of several trainings: its last epoch's metrics, for HParams.

        Its curves are in ``trial_<id>/fold_<k>`` (or ``execution_<n>``)
        runs, while the HParams "last epoch" columns read ``trial_<id>/train``
        and ``trial_<id>/validation``: there, each metric's value at the
        last epoch, averaged over the folds (the last execution's with
        ``executions_per_trial``), at the last epoch's step.
        """
        histories = [f.get("history") or {} for f in result.folds or []]
        histories = [h for h in histories if h] or [result.history]
        names = sorted({name for h in histories for name in h})
        for val, run in ((False, "train"), (True, "validation")):
            values, step = {}, 0
            for name in names:
                curves = [h[name] for h in histories if h.get(name)]
                if name.startswith("val_") != val or not curves:
                    continue
                values[f"epoch_{name[4:] if val else name}"] = float(
                    np.mean([curve[-1] for curve in curves])
                )
                step = max(step, *(len(curve) - 1 for curve in curves))
            if values:
                log = EventLog(os.path.join(self.log_dir, group, run))
                log.scalars(values, step=step)
                log.close()


def log_owner(log_dir: str) -> str | None:
    """The project whose search writes to ``log_dir`` (``None``: unknown)."""
    path = os.path.join(log_dir, EXPERIMENT_FILES)
    if not os.path.isfile(path):
        return None
    try:
        return read_json(path, "").get("project")
    except (ValueError, AttributeError):
        return None


def check_free_for_overwrite(log_dir: str) -> None:
    """Refuses, before ``overwrite=True`` deletes anything, a used log folder.

    The project made again is another project: it could not write to the
    logs of the one it replaces (see `_check_owner`), and they are not
    inside the project, so overwriting does not delete them.
    """
    owner = log_owner(log_dir)
    if owner is not None:
        raise bad_value(
            "tensorboard_dir",
            log_dir,
            f"holds the TensorBoard logs of project {owner}; overwrite=True "
            "makes a new project, whose runs (trial_0000...) would write into them",
            "Move that folder away (or delete it) first, or choose another "
            "tensorboard_dir.",
        )


def _check_owner(log_dir: str, project: str | None) -> None:
    """Refuses a log folder that another project's search writes to.

    Runs are named by trial ID, so two searches in one folder would write
    into each other's runs (one's curves moved aside as interrupted, two
    HParams sessions in one run, one experiment replacing the other).
    """
    owner = log_owner(log_dir)
    if project is not None and owner is not None and owner != project:
        raise bad_value(
            "tensorboard_dir",
            log_dir,
            f"holds the TensorBoard logs of another search (project {owner}), "
            "whose runs (trial_0000...) this search's would write into",
            "Give each search its own tensorboard_dir (the default, "
            "<project>/tensorboard, is), or move that folder away.",
        )
