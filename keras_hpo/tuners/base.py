"""Execution: how trials are built, trained, recorded and reported.

`SearchTuner` holds all the Keras work; the strategy tuners in this package
only choose an oracle. It keeps keras-tuner's ``Tuner`` contract (arguments,
``run_trial``, ``hypermodel.fit``, chief/worker mode) and adds:

* a search loop over *groups* of trials (`create_trials`, `run_trials`), so
  that several trials can be handed out and trained together;
* one `TrialResult` per trial (score, best epoch, epochs run, seconds,
  history, error), written atomically as ``trial_<id>/result.json``;
* best-epoch weights kept in memory and written once per trial;
* results in scikit-learn's terms: `best_params_`, `best_score_`,
  `best_model`, `best_estimator_`, `cv_results_`.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import glob
import io
import math
import os
import sys
import time
import traceback
from typing import Any

import keras
import keras_tuner
import numpy as np
from keras_tuner import errors as kt_errors
from keras_tuner.engine import trial as kt_trial
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import tuner_utils

from keras_hpo.callbacks import EpochRecorder
from keras_hpo.callbacks import ProgressPrinter
from keras_hpo.callbacks import SearchCallback
from keras_hpo.callbacks import TensorBoardLogger
from keras_hpo.errors import NotSearchedError
from keras_hpo.errors import ProjectInUseError
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.files import file_signature
from keras_hpo.hypermodels.mlp import HyperMLP
from keras_hpo.hypermodels.sklearn_space import SUBGRID
from keras_hpo.oracles.base import check_count
from keras_hpo.stopping.base import Curve
from keras_hpo.stopping.base import Stopper
from keras_hpo.tuners.checkpoint import BestWeights
from keras_hpo.tuners.checkpoint import LastEpoch
from keras_hpo.tuners.checkpoint import clear_resume_point
from keras_hpo.tuners.checkpoint import resume_point
from keras_hpo.tuners.control import TrialControl
from keras_hpo.tuners.data_checks import LabelRule
from keras_hpo.tuners.data_checks import check_fit_data
from keras_hpo.tuners.data_checks import lists_as_arrays
from keras_hpo.tuners.data_checks import num_samples
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.isolation import OracleSnapshot
from keras_hpo.tuners.isolation import TrialProcessError
from keras_hpo.tuners.isolation import run_isolated
from keras_hpo.tuners.options import SearchLimits
from keras_hpo.tuners.options import check_checkpoint
from keras_hpo.tuners.options import check_stopper
from keras_hpo.tuners.options import make_early_stopping
from keras_hpo.tuners.project import ProjectLock
from keras_hpo.tuners.project import check_project_name
from keras_hpo.tuners.project import check_resumable
from keras_hpo.tuners.project import is_empty
from keras_hpo.tuners.project import mark_project
from keras_hpo.tuners.project import overwrite_project
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus
from keras_hpo.tuners.results import atomic_write_json
from keras_hpo.tuners.results import cv_results
from keras_hpo.tuners.results import read_json
from keras_hpo.tuners.resume import check_same_search
from keras_hpo.tuners.resume import rebuild_lost_trials
from keras_hpo.tuners.resume import saved_identity
from keras_hpo.tuners.resume import search_identity
from keras_hpo.tuners.trial_callbacks import check_tensorboard_dir
from keras_hpo.tuners.trial_callbacks import copy_user_callbacks
from keras_hpo.tuners.weights import load_weights
from keras_hpo.tuners.weights import save_weights

__all__ = ["SearchTuner"]

#: A full garbage collection runs once per this many trials (it costs ~0.3 s).
GC_EVERY = 10


def _public_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != SUBGRID}


class SearchTuner(keras_tuner.Tuner):
    """The tuner base that runs trials for every keras_hpo strategy.

    Use a strategy tuner (`GridSearch`, `RandomSearch`, `BayesianSearch`), or
    pass any keras-tuner ``Oracle`` here. Subclass it to change how trials
    run: override ``run_trial`` for one trial, or `run_trials` to train a
    group of trials together.

    Args:
        oracle: A ``keras_tuner.Oracle`` (ours or keras-tuner's).
        hypermodel: A ``keras_tuner.HyperModel`` (for instance `HyperMLP`) or
            a function ``build(hp) -> keras.Model``.
        search_callbacks: `keras_hpo.callbacks.SearchCallback` objects told
            about each finished trial.
        verbose: 1 (default) prints one line per trial and the best trial at
            the end; 0 prints nothing.
        trials_per_step: How many trials the search loop asks the oracle for
            at once and passes to `run_trials`. Defaults to 1.
        early_stopping: Stops a trial's training when its objective stops
            improving. ``"default"``: patience 5 epochs on the objective; an
            int patience; a ``(patience, min_delta)`` tuple; a dict of
            ``keras.callbacks.EarlyStopping`` arguments; your own
            ``EarlyStopping`` (each trial gets a copy); or ``None`` (off).
        stopper: A `keras_hpo.stopping.Stopper` that stops bad trials early
            by comparing them with the others (`MedianStopping`,
            `SuccessiveHalving`). A stopped ("pruned") trial keeps its curve
            and its score at its best epoch so far, and the oracle learns
            from that score like any other.
        max_time: Seconds; no new trial starts after that (the running one
            finishes).
        patience_trials: Stop the search after this many trials in a row
            that do not improve the best score.
        target: Stop the search once the best score reaches this value.
        checkpoint: ``"best"`` (default): the best epoch's weights are kept in
            memory during a trial and written once, when it ends, only for
            the ``keep_top_k`` best trials (weights of trials pushed out are
            deleted); ``"every_epoch"``: also the last epoch's weights after
            every epoch, and the best epoch's of every trial; ``"none"``: no
            weights (then `best_model` cannot load a model).
        keep_top_k: How many trials' weights ``checkpoint="best"`` keeps.
            Defaults to 3.
        isolate_trials: Run each trial in a process of its own, so that
            memory TensorFlow keeps after a training (a few MB per model)
            is freed when the trial ends (see `keras_hpo.tuners.isolation`:
            the hypermodel, the data and the Keras callbacks must then be
            picklable). Each trial pays for a process start and a
            TensorFlow import. Defaults to False.
        tensorboard_dir: Where a `TensorBoardLogger` writes every trial's
            curves, the HParams dashboard and the search's progress.
            Defaults to ``<project_dir>/tensorboard``; ``None`` writes no
            TensorBoard logs. View them with ``keras-hpo tensorboard DIR``.
        **kwargs: keras-tuner ``Tuner`` arguments: ``directory``,
            ``project_name``, ``overwrite``, ``executions_per_trial``,
            ``max_model_size``, ``distribution_strategy``, ``tuner_id``, ...

    Example:
        >>> tuner = SearchTuner(keras_hpo.oracles.RandomOracle(
        ...     objective="val_accuracy", max_trials=5, seed=0),
        ...     hypermodel=HyperMLP(num_classes=10), directory="runs")
        >>> tuner.search(x, y, validation_split=0.2, epochs=5)  # doctest: +SKIP
        >>> tuner.best_params_  # doctest: +SKIP
    """

    def __init__(
        self,
        oracle: keras_tuner.Oracle,
        hypermodel=None,
        *,
        search_callbacks: list[SearchCallback] | None = None,
        verbose: int = 1,
        trials_per_step: int = 1,
        early_stopping: Any = "default",
        stopper: Stopper | None = None,
        max_time: float | None = None,
        patience_trials: int | None = None,
        target: float | None = None,
        checkpoint: str = "best",
        keep_top_k: int = 3,
        isolate_trials: bool = False,
        tensorboard_dir: str | None = "default",
        **kwargs,
    ):
        if isinstance(verbose, bool) or verbose not in (0, 1, 2):
            raise bad_value("verbose", verbose, "must be 0, 1 or 2", "E.g. verbose=1.")
        if (
            isinstance(trials_per_step, bool)
            or not isinstance(trials_per_step, (int, np.integer))
            or trials_per_step < 1
        ):
            raise bad_value(
                "trials_per_step", trials_per_step, "must be an int >= 1", "E.g. 1."
            )
        if "executions_per_trial" in kwargs:
            kwargs["executions_per_trial"] = check_count(
                "executions_per_trial", kwargs["executions_per_trial"], 1, 1
            )
        callbacks = list(search_callbacks or [])
        for index, callback in enumerate(callbacks):
            if not isinstance(callback, SearchCallback):
                raise bad_type(
                    f"search_callbacks[{index}]",
                    callback,
                    "a keras_hpo.callbacks.SearchCallback",
                    "Keras callbacks go to search(callbacks=[...]) instead.",
                )
        self.verbose = verbose
        self.trials_per_step = int(trials_per_step)
        self.stopper = check_stopper(stopper)
        self.limits = SearchLimits(max_time, patience_trials, target)
        self.checkpoint, self.keep_top_k = check_checkpoint(checkpoint, keep_top_k)
        if not isinstance(isolate_trials, bool):
            raise bad_type(
                "isolate_trials", isolate_trials, "True or False", "E.g. True."
            )
        self.isolate_trials = isolate_trials
        self._early_stopping_spec = early_stopping
        tensorboard_dir = check_tensorboard_dir(tensorboard_dir)
        #: Metric names the model logs, when known before the first trial.
        self.logged_metrics: list[str] = []
        #: Training samples per epoch, when known (for samples per second).
        self.samples_per_epoch: int | None = None
        #: Why the last `search` call ended.
        self.stop_reason: str | None = None
        self.search_callbacks = callbacks + ([ProgressPrinter()] if verbose else [])
        #: trial_id -> `TrialResult`, for every trial that ended.
        self.trial_results: dict[str, TrialResult] = {}
        self._running: dict[str, TrialResult] = {}
        self._space_deferred = False
        self._best_model_cache: tuple[str, keras.Model] | None = None
        self._weights: dict[str, tuple[keras.Model, list]] = {}
        # The space this search declares, to compare with a reloaded one.
        declared = oracle.hyperparameters.copy()
        if isinstance(hypermodel, HyperMLP) and oracle.tune_new_entries:
            hypermodel.declare_hyperparameters(declared)
        self._reloaded = False
        self._saved_state: Any = None
        #: What this search's scores mean (see `resume.search_identity`).
        self.identity = search_identity(oracle.objective, hypermodel)
        self.project_lock = self._open_project(kwargs)
        try:
            self._finish_init(
                oracle, hypermodel, declared, verbose, tensorboard_dir, kwargs
            )
        finally:
            self.project_lock.release()

    def _open_project(self, kwargs: dict) -> ProjectLock:
        """Checks the project's path, takes its lock, overwrites if asked.

        Returns the lock, held; see `keras_hpo.tuners.project` for the rules.
        """
        directory = kwargs.get("directory")
        if directory is not None and not isinstance(directory, (str, os.PathLike)):
            raise bad_type(
                "directory", directory, "a folder path", 'E.g. directory="runs".'
            )
        if directory is not None and not os.fspath(directory):
            raise bad_value(
                "directory", directory, "is empty", 'E.g. directory="runs".'
            )
        directory = os.fspath(directory) if directory is not None else "."
        project_name = check_project_name(kwargs.get("project_name"))
        overwrite = kwargs.pop("overwrite", False)
        if not isinstance(overwrite, bool):
            raise bad_type("overwrite", overwrite, "True or False", "E.g. False.")
        kwargs["directory"] = directory
        project_dir = os.path.join(directory, project_name or "untitled_project")
        lock = ProjectLock(project_dir)
        #: Whether this process is a worker of keras-tuner's chief/worker mode
        #: (the chief owns the project; workers share it).
        self._worker_process = (
            dist_utils.has_chief_oracle() and not dist_utils.is_chief_oracle()
        )
        if self._worker_process:
            return lock
        fresh = is_empty(project_dir)
        lock.acquire()
        try:
            if overwrite:
                overwrite_project(directory, project_name or "untitled_project")
                fresh = True
            else:
                tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
                tuner_file = os.path.join(project_dir, f"{tuner_id}.json")
                check_resumable(project_dir, tuner_file)
            if fresh:
                mark_project(project_dir)
        except BaseException:
            lock.release()
            raise
        return lock

    def _finish_init(
        self, oracle, hypermodel, declared, verbose, tensorboard_dir, kwargs
    ) -> None:
        # keras-tuner prints "Reloading Tuner from ..."; we say more, once.
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            super().__init__(oracle, hypermodel, **kwargs)
        for line in said.getvalue().splitlines():
            if not line.startswith("Reloading Tuner from "):
                print(line)
        if tensorboard_dir == "default":
            tensorboard_dir = os.path.join(self.project_dir, "tensorboard")
        #: Where TensorBoard logs go (``None``: nowhere).
        self.tensorboard_dir = tensorboard_dir
        if tensorboard_dir is not None:
            self.search_callbacks.insert(0, TensorBoardLogger(tensorboard_dir))
        self.oracle.verbose = 0  # our ProgressPrinter replaces keras-tuner's display
        self.early_stopping = make_early_stopping(
            self._early_stopping_spec, self.oracle.objective
        )
        if self._reloaded and not dist_utils.has_chief_oracle():
            check_same_search(
                self.project_dir,
                type(self.oracle).__name__,
                declared,
                self.oracle.hyperparameters,
                self.identity,
                saved_identity(self.project_dir, self._saved_state),
            )
        self._load_results()
        if self._reloaded and not self._worker_process:
            for trial_id in getattr(self.oracle, "_retry_queue", []):
                resume_point(self.get_trial_dir(trial_id))  # refuses altered ones
        if self._reloaded and verbose:
            print(self._reload_summary(), flush=True)

    # -- the project on disk -----------------------------------------------------
    def save(self) -> None:
        """Writes the oracle's and the tuner's state files, atomically."""
        if not self._is_worker():
            self.oracle.save()
        atomic_write_json(self._get_tuner_fname(), self.get_state())

    def get_state(self) -> dict[str, Any]:
        """The tuner's state: keras-tuner's, and what the scores mean."""
        return dict(super().get_state(), search=self.identity)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restores `get_state`'s output (kept to compare on resume)."""
        self._saved_state = state
        super().set_state(state)

    def reload(self) -> None:
        """Reloads the oracle's and the tuner's state (damaged files are named).

        A ``trial.json`` lost from a listed trial is first rebuilt from its
        ``result.json`` (see `resume.rebuild_lost_trials`).
        """
        self._reloaded = True
        if not self._is_worker():
            rebuild_lost_trials(self.project_dir, self.oracle.objective)
            self.oracle.reload()
        self.set_state(read_json(self._get_tuner_fname()))

    def _reload_summary(self) -> str:
        finished = len(self.trial_results)
        total = self.expected_trials
        to_go = f"{max(total - finished, 0)} to go" if total else "more to go"
        retry = list(getattr(self.oracle, "_retry_queue", []))
        again = (
            f"; interrupted trial(s) {', '.join(retry)} will run again" if retry else ""
        )
        return (
            f"Reloaded project {self.project_dir}: {finished} trials finished, "
            f"{to_go}{again}"
        )

    # -- the search space ------------------------------------------------------
    def _populate_initial_space(self):
        hypermodel = self.hypermodel
        if isinstance(hypermodel, HyperMLP) and not hypermodel.ready:
            # HyperMLP declares its whole space without data; the builds that
            # find conditional hyperparameters of subclasses wait for `adapt`.
            hp = self.oracle.get_space()
            hypermodel.declare_hyperparameters(hp)
            self.oracle.update_space(hp)
            self._space_deferred = True
            return
        super()._populate_initial_space()

    def _prepare_data(self, fit_args: tuple, fit_kwargs: dict) -> None:
        labels = None
        if isinstance(self.hypermodel, HyperMLP) and self._plain_fit():
            model = self.hypermodel
            labels = LabelRule(model.task, model.num_classes, model.output_dim)
        nx = check_fit_data(fit_args, fit_kwargs, labels)
        x = fit_args[0] if fit_args else fit_kwargs.get("x")
        y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
        split = fit_kwargs.get("validation_split") or 0.0
        if nx is not None and isinstance(split, (int, float)) and 0 <= split < 1:
            self.samples_per_epoch = int(math.ceil(nx * (1.0 - split)))
        if isinstance(self.hypermodel, HyperMLP) and x is not None and nx is not None:
            self.hypermodel.adapt(x, y)
        if self._space_deferred:
            self._activate_all_conditions()
            self._space_deferred = False

    def _check_objective_is_logged(self, fit_kwargs: dict) -> None:
        if not self._plain_fit():
            return
        name = getattr(self.oracle.objective, "name", "")
        has_validation = fit_kwargs.get(
            "validation_data"
        ) is not None or fit_kwargs.get("validation_split")
        if name.startswith("val_") and not has_validation:
            raise bad_value(
                "objective",
                name,
                "a validation metric, but search() was given no validation data",
                "Pass validation_data=(x_val, y_val) or validation_split=0.2 to "
                f"search(), or choose an objective on the training data such as "
                f"{name[4:]!r}.",
            )

    def _plain_fit(self) -> bool:
        """Whether trials train with HyperMLP's or keras-tuner's plain fit.

        Only then can the data and the logged metrics be checked up front: a
        user's own ``fit`` or ``run_trial`` may make its validation data and
        metrics itself.
        """
        if type(self).run_trial is not SearchTuner.run_trial or self.hypermodel is None:
            return False
        return type(self.hypermodel).fit in (keras_tuner.HyperModel.fit, HyperMLP.fit)

    @property
    def expected_trials(self) -> int | None:
        """How many trials the search will run at most (``None``: unknown)."""
        return self.oracle.max_trials

    # -- the search loop ---------------------------------------------------------
    def search(self, *fit_args, **fit_kwargs) -> None:
        """Runs trials until the oracle stops; arguments go to ``fit``.

        Args:
            *fit_args: Passed to ``hypermodel.fit`` (e.g. ``x, y``).
            **fit_kwargs: Passed to ``hypermodel.fit`` (``epochs``,
                ``validation_data``, ``validation_split``, ``callbacks``...).
                ``verbose`` defaults to 0: progress is one line per trial.
        """
        with self._owning_project():
            if dist_utils.is_chief_oracle():
                super().search(*fit_args, **fit_kwargs)  # serves the oracle
                return
            self._search(fit_args, fit_kwargs)

    @contextlib.contextmanager
    def _owning_project(self):
        """Holds the project's lock while the search runs.

        Raises:
            ProjectInUseError: If another search holds it, or one changed
                the project since this tuner read it.
        """
        if not self._worker_process:
            self.project_lock.acquire()
        try:
            self._check_not_stale()
            yield
        finally:
            self.project_lock.release()

    def _check_not_stale(self) -> None:
        """Refuses to search from a view of the project another search changed."""
        if self._worker_process or not hasattr(self.oracle, "saved_signature"):
            return  # keras-tuner's own oracles keep no signature
        path = self.oracle._get_oracle_fname()
        if file_signature(path) != self.oracle.saved_signature:
            raise ProjectInUseError(
                f"{path} was changed by another search after this tuner read it, "
                "so searching with this tuner would overwrite that search's "
                "trials. Create the tuner again: it resumes from what is on disk."
            )

    def _search(self, fit_args: tuple, fit_kwargs: dict) -> None:
        self._prepare_data(fit_args, fit_kwargs)
        fit_args, fit_kwargs = lists_as_arrays(fit_args, fit_kwargs)
        self._check_objective_is_logged(fit_kwargs)
        self._check_metrics_exist(fit_args, fit_kwargs)
        fit_kwargs.setdefault("verbose", 0)
        self.stop_reason = None
        self.limits.start()
        self.save()  # from now on, running the search again resumes it
        self._write_search_state()
        self.on_search_begin()
        ended = False
        try:
            while True:
                self.stop_reason = self.limits.reason(
                    [r.score if r.ok else None for r in self.results()],
                    self.oracle.objective.direction,
                )
                if self.stop_reason:
                    break
                self.pre_create_trial()
                trials = self.create_trials(self.trials_per_step)
                if not trials:
                    self.stop_reason = self._oracle_stop_reason()
                    break
                for trial in trials:
                    self.on_trial_begin(trial)
                self.run_trials(trials, *fit_args, **fit_kwargs)
                for trial in trials:
                    self.on_trial_end(trial)
            ended = True
        except KeyboardInterrupt:
            self.stop_reason = "interrupted (Ctrl-C)"
            raise
        except Exception as err:
            self.stop_reason = f"error: {type(err).__name__}: {err}"
            raise
        finally:
            self._end_search(ended)

    def _end_search(self, ended: bool) -> None:
        """Writes ``search.json`` and tells the callbacks, after any ending.

        When the search is already failing, an error here is printed and
        the original error goes on: it is the one that explains the stop.
        """
        for step in (self._write_search_state, self.on_search_end):
            try:
                step()
            except Exception as err:
                if ended:
                    raise
                print(
                    f"While stopping after the error below, another error: "
                    f"{type(err).__name__}: {err}",
                    file=sys.stderr,
                    flush=True,
                )

    def _write_search_state(self) -> None:
        """Writes ``search.json``: the objective, and why the search ended.

        Written when a search starts (``stop_reason`` ``null``: running, or
        killed) and when it ends.
        """
        atomic_write_json(
            os.path.join(self.project_dir, "search.json"),
            {
                "objective": self.oracle.objective.name,
                "direction": self.oracle.objective.direction,
                "stop_reason": self.stop_reason,
                "trials": len(self.trial_results),
            },
        )

    def _oracle_stop_reason(self) -> str:
        max_trials = self.oracle.max_trials
        if max_trials and len(self.oracle.trials) >= max_trials:
            return f"max_trials: {max_trials} trials run"
        return "the search space is exhausted"

    def _check_metrics_exist(self, fit_args: tuple, fit_kwargs: dict) -> None:
        """Fails before training if a monitored metric is not logged.

        The objective and the early-stopping monitor must be among the
        metrics the model logs, checked on two samples of an untrained model.
        """
        if not self._plain_fit():
            return
        x = fit_args[0] if fit_args else fit_kwargs.get("x")
        y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
        if num_samples(x) is None or num_samples(y) is None:
            return
        try:
            model = self._try_build_without_clearing(self.oracle.get_space())
            logged = model.evaluate(x[:2], y[:2], verbose=0, return_dict=True)
        except Exception:  # noqa: BLE001 - the trials will report the real error
            return
        names = set(logged)
        if fit_kwargs.get("validation_data") is not None or fit_kwargs.get(
            "validation_split"
        ):
            names |= {f"val_{name}" for name in logged}
        self.logged_metrics = sorted(names)
        wanted = {"objective": self.oracle.objective.name}
        if self.early_stopping is not None:
            wanted["early_stopping"] = self.early_stopping.monitor
        for argument, name in wanted.items():
            if name not in names:
                raise bad_value(
                    argument,
                    name,
                    "this metric is not logged by the model",
                    f"Use one of: {', '.join(sorted(names))}.",
                )

    def create_trials(self, count: int) -> list[kt_trial.Trial]:
        """Asks the oracle for up to ``count`` trials to run now.

        Each trial gets its own tuner ID (``<tuner_id>`` for the first,
        ``<tuner_id>-<i>`` after), so the oracle sees them as pending together.

        Args:
            count: The most trials wanted.

        Returns:
            The trials, empty when the oracle has stopped the search.
        """
        trials = []
        for index in range(count):
            tuner_id = self.tuner_id if index == 0 else f"{self.tuner_id}-{index}"
            while True:
                trial = self.oracle.create_trial(tuner_id)
                if trial.status != kt_trial.TrialStatus.IDLE:
                    break
                time.sleep(0.1)  # another worker holds the oracle's attention
            if trial.status == kt_trial.TrialStatus.STOPPED:
                break
            trials.append(trial)
        return trials

    def run_trials(self, trials: list[kt_trial.Trial], *fit_args, **fit_kwargs) -> None:
        """Runs a group of trials and reports each to the oracle.

        The default runs them one after the other with `execute_trial`;
        override it to train a group together (for instance as one fused
        model), then report each trial with ``oracle.update_trial`` and set
        its ``status``.

        Args:
            trials: The trials from `create_trials`.
            *fit_args: As for `search`.
            **fit_kwargs: As for `search`.
        """
        for trial in trials:
            self.execute_trial(trial, *fit_args, **fit_kwargs)

    def execute_trial(self, trial: kt_trial.Trial, *fit_args, **fit_kwargs) -> None:
        """Runs one trial, records its outcome and reports it to the oracle.

        An exception in build or fit fails the trial (its traceback is kept
        in the result) and the search goes on; ``KeyboardInterrupt`` and
        keras-tuner's fatal errors stop the search.
        """
        start = time.perf_counter()
        number = self.trial_number(trial)
        try:
            if self.isolate_trials:
                metrics = self._run_trial_isolated(trial, fit_args, fit_kwargs)
            else:
                with released_gradient_functions():
                    metrics = self.run_trial(trial, *fit_args, **fit_kwargs)
            result = self._running.pop(trial.trial_id, None)
            if result is None:  # a subclass's own run_trial
                tuner_utils.validate_trial_results(
                    metrics, self.oracle.objective, "Tuner.run_trial()"
                )
                step = tuner_utils.get_best_step(metrics, self.oracle.objective)
                metrics = tuner_utils.convert_to_metrics_dict(
                    metrics, self.oracle.objective
                )
                result = TrialResult(
                    trial.trial_id, number, {}, TrialStatus.COMPLETED, best_epoch=step
                )
            metrics = {k: float(v) for k, v in metrics.items()}
            self.oracle.update_trial(
                trial.trial_id, metrics, step=result.best_epoch or 0
            )
            trial.status = kt_trial.TrialStatus.COMPLETED
        except Exception as err:  # noqa: BLE001 - a failed trial must not end the search
            if isinstance(err, kt_errors.FatalError):
                raise
            partial = self._running.pop(trial.trial_id, None)
            failed = isinstance(err, kt_errors.FailedTrialError)
            trial.status = (
                kt_trial.TrialStatus.FAILED if failed else kt_trial.TrialStatus.INVALID
            )
            trial.message = traceback.format_exc()
            result = partial or TrialResult(
                trial.trial_id, number, {}, TrialStatus.FAILED
            )
            result.status = TrialStatus.FAILED
            result.error = trial.message
            self._weights.pop(trial.trial_id, None)
        result.seconds = time.perf_counter() - start
        self.trial_results[trial.trial_id] = result

    def _run_trial_isolated(self, trial: kt_trial.Trial, fit_args, fit_kwargs):
        """`run_trial` in a new process (``isolate_trials=True``)."""
        child = copy.copy(self)
        child.oracle = OracleSnapshot(
            self.oracle.objective,
            getattr(self.oracle, "seed", None),
            list(self.oracle.start_order),
        )
        child.isolate_trials = False
        child.search_callbacks = [
            c
            for c in self.search_callbacks
            if type(c).trial_callbacks is not SearchCallback.trial_callbacks
        ]
        child._weights, child._running, child._best_model_cache = {}, {}, None
        try:
            metrics, result, weights = run_isolated(child, trial, fit_args, fit_kwargs)
        except TrialProcessError as err:
            partial = getattr(err, "result_json", None)
            if partial:
                self._running[trial.trial_id] = TrialResult.from_json(partial)
            if err.failed_trial:
                raise kt_errors.FailedTrialError(str(err)) from None
            raise
        if result:
            self._running[trial.trial_id] = TrialResult.from_json(result)
        if weights is not None:
            self._weights[trial.trial_id] = (weights, None)
        return metrics

    def trial_number(self, trial: kt_trial.Trial) -> int:
        """The 1-based position of a trial in the search."""
        order = self.oracle.start_order
        return (
            order.index(trial.trial_id) + 1 if trial.trial_id in order else len(order)
        )

    def trial_seed(self, trial: kt_trial.Trial) -> int:
        """The seed a trial trains with: set by the oracle's seed and its number.

        `run_trial` applies it with ``keras.utils.set_random_seed``, which also
        seeds Python's ``random`` and NumPy's global generator.
        """
        base = int(getattr(self.oracle, "seed", 0) or 0)
        return (base * 1_000_003 + self.trial_number(trial)) % (2**31 - 1)

    # -- one trial ---------------------------------------------------------------
    def build_model(self, hp) -> keras.Model:
        """Builds a fresh model for ``hp`` (clearing Keras' global state first).

        Raises:
            FatalTypeError: If the hypermodel does not return a Keras model.
            FailedTrialError: If the model exceeds ``max_model_size``.
        """
        keras.backend.clear_session(free_memory=False)
        if (len(self.oracle.start_order) % GC_EVERY) == 0:
            gc.collect()
        return self._try_build_without_clearing(hp)

    def _try_build_without_clearing(self, hp) -> keras.Model:
        model = self._build_hypermodel(hp)
        if not isinstance(model, keras.Model):
            raise kt_errors.FatalTypeError(
                "The hypermodel's build() must return a keras.Model. "
                f"Received: {model!r} of type {type(model).__name__}."
            )
        size = sum(math.prod(w.shape) for w in model.trainable_weights)
        if self.max_model_size and size > self.max_model_size:
            raise kt_errors.FailedTrialError(
                f"Oversized model: {size} parameters > max_model_size="
                f"{self.max_model_size}."
            )
        return model

    def run_trial(self, trial: kt_trial.Trial, *fit_args, **fit_kwargs) -> dict:
        """Builds and trains one trial's model(s); returns best-epoch metrics.

        Each of ``executions_per_trial`` executions trains a new model, seeded
        by `trial_seed`, with a deep copy of the user's Keras callbacks and of
        the early stopping, plus an `EpochRecorder`, a `BestWeights` (the best
        epoch's weights, in memory) and a `TrialControl` (divergence and the
        stopper). The metrics of the best epoch are averaged over the
        executions; the weights are written when the trial ends (see
        ``checkpoint``).

        Raises:
            FailedTrialError: If training diverged or the objective was not
                logged.

        Returns:
            Metric name -> value at the best epoch (the objective included).
        """
        hp = trial.hyperparameters
        seed = self.trial_seed(trial)
        objective = self.oracle.objective
        best = BestWeights(objective)
        user_callbacks = list(fit_kwargs.pop("callbacks", None) or [])
        per_execution, histories, fit_seconds, model = [], {}, 0.0, None
        status, reason = TrialStatus.COMPLETED, None
        trial_dir = self.get_trial_dir(trial.trial_id)
        resume = None
        if self.checkpoint == "every_epoch" and self.executions_per_trial == 1:
            resume = resume_point(trial_dir)
        for execution in range(self.executions_per_trial):
            keras.utils.set_random_seed(seed)
            model = self.build_model(hp)
            recorder = EpochRecorder()
            kwargs = fit_kwargs
            if resume is not None:  # interrupted: go on from its last epoch
                load_weights(model, resume["weights"], optimizer=True)
                recorder.start_from(resume["history"], resume["epoch_seconds"])
                best.start_from(resume["history"])
                kwargs = dict(fit_kwargs, initial_epoch=resume["epochs"])
            control = TrialControl(trial.trial_id, objective, self.stopper, self.curves)
            callbacks = copy_user_callbacks(
                user_callbacks, self.run_name(trial, execution)
            )
            early = copy_user_callbacks([self.early_stopping], "")[0]
            callbacks += [c for c in (early,) if c is not None]
            callbacks += [recorder, best, control]
            for observer in self.search_callbacks:
                callbacks += observer.trial_callbacks(self, trial, execution)
            if self.checkpoint == "every_epoch":
                callbacks.append(LastEpoch(trial_dir, recorder, best))
            start = time.perf_counter()
            self.hypermodel.fit(hp, model, *fit_args, callbacks=callbacks, **kwargs)
            fit_seconds += time.perf_counter() - start
            per_execution.append(self._best_epoch_metrics(recorder.history))
            histories = recorder.history
            seed += 1
            if control.diverged:
                self._running[trial.trial_id] = TrialResult(
                    trial.trial_id,
                    self.trial_number(trial),
                    _public_values(hp.values),
                    TrialStatus.FAILED,
                    epochs_run=recorder.epochs_run,
                    fit_seconds=fit_seconds,
                    seed=self.trial_seed(trial),
                    history=histories,
                    end_reason=control.diverged,
                )
                raise kt_errors.FailedTrialError(control.diverged)
            if control.pruned_at is not None:
                status = TrialStatus.PRUNED
                reason = f"pruned by {self.stopper!r} after {control.pruned_at} epochs"
            elif early is not None and early.stopped_epoch > 0:
                status = TrialStatus.STOPPED_EARLY
                reason = (
                    f"no improvement of {early.monitor} for {early.patience} "
                    f"epochs; stopped after epoch {early.stopped_epoch + 1}"
                )
        metrics = {
            name: float(np.mean([m[1][name] for m in per_execution if name in m[1]]))
            for name in per_execution[-1][1]
        }
        best_epoch = per_execution[-1][0]
        if objective.name not in metrics or not math.isfinite(metrics[objective.name]):
            raise kt_errors.FailedTrialError(
                f"The objective {objective.name!r} was not logged with a finite "
                f"value. Logged metrics: {sorted(histories)}. Check the "
                "objective's name and that validation data is given."
            )
        if self.checkpoint != "none":
            self._weights[trial.trial_id] = (model, best.weights)
        self._running[trial.trial_id] = TrialResult(
            trial_id=trial.trial_id,
            number=self.trial_number(trial),
            values=_public_values(hp.values),
            status=status,
            metrics=metrics,
            best_epoch=best_epoch,
            epochs_run=len(next(iter(histories.values()), [])),
            fit_seconds=fit_seconds,
            seed=self.trial_seed(trial),
            history=histories,
            end_reason=reason,
        )
        return metrics

    def _best_epoch_metrics(self, history: dict[str, list[float]]):
        objective = self.oracle.objective
        values = history.get(objective.name)
        if not values:
            return 0, {}
        direction = 1.0 if objective.direction == "min" else -1.0
        finite = [(direction * v, i) for i, v in enumerate(values) if math.isfinite(v)]
        epoch = min(finite)[1] if finite else len(values) - 1
        return epoch, {name: column[epoch] for name, column in history.items()}

    def curves(self) -> dict[str, Curve]:
        """Every ended trial's objective curve, oriented so lower is better.

        Completed trials and those stopped by their own early stopping are
        finished (their best value carries forward); pruned trials count only
        at the epochs they reached; failed trials are left out.
        """
        objective = self.oracle.objective
        sign = 1.0 if objective.direction == "min" else -1.0
        curves = {}
        for result in self.trial_results.values():
            values = result.history.get(objective.name)
            if not result.ok or not values:
                continue
            finished = result.status != TrialStatus.PRUNED
            curves[result.trial_id] = Curve([sign * v for v in values], finished)
        return curves

    def _write_checkpoints(self, result: TrialResult) -> None:
        """Writes the ended trial's best weights if they are kept.

        With ``checkpoint="best"`` the weights of trials pushed out of the top
        ``keep_top_k`` are deleted.
        """
        model, weights = self._weights.pop(result.trial_id, (None, None))
        pending = model if isinstance(model, str) else None  # an isolated trial's
        if model is None or not result.ok:
            if pending is not None:
                os.remove(pending)
            return
        keep = {result.trial_id}
        if self.checkpoint == "best":
            keep = {r.trial_id for r in self._ranked()[: self.keep_top_k]}
        if pending is not None:
            if result.trial_id in keep:
                os.replace(pending, self._get_checkpoint_fname(result.trial_id))
            else:
                os.remove(pending)
        elif result.trial_id in keep:
            if weights is not None:
                model.set_weights(weights)
                save_weights(model, self._get_checkpoint_fname(result.trial_id))
            elif self.checkpoint != "every_epoch":  # (`LastEpoch` wrote it)
                save_weights(model, self._get_checkpoint_fname(result.trial_id))
        if self.checkpoint != "best":
            return
        for other in self.trial_results.values():
            if other.trial_id not in keep:
                self._drop_checkpoint(other.trial_id)

    def _drop_checkpoint(self, trial_id: str) -> None:
        path = os.path.join(
            self.project_dir, f"trial_{trial_id}", "checkpoint.weights.h5"
        )
        if os.path.exists(path):
            os.remove(path)

    def _ranked(self) -> list[TrialResult]:
        sign = -1.0 if self.oracle.objective.direction == "max" else 1.0
        done = [r for r in self.trial_results.values() if r.ok]
        return sorted(done, key=lambda r: (sign * r.score, r.number))

    # -- events ------------------------------------------------------------------
    def on_search_begin(self):
        """Tells the search callbacks the search starts."""
        for callback in self.search_callbacks:
            callback.on_search_begin(self)

    def on_trial_begin(self, trial: kt_trial.Trial):
        """Tells the search callbacks a trial starts."""
        super().on_trial_begin(trial)
        for callback in self.search_callbacks:
            callback.on_trial_begin(self, trial)

    def trial_values(self, trial: kt_trial.Trial) -> dict[str, Any]:
        """A trial's active hyperparameter values (inactive ones left out)."""
        hp = trial.hyperparameters
        return _public_values(
            {name: value for name, value in hp.values.items() if hp.is_active(name)}
        )

    def public_space(self) -> list:
        """The search space's hyperparameters (keras-tuner objects)."""
        return [hp for hp in self.oracle.get_space().space if hp.name != SUBGRID]

    def on_trial_end(self, trial: kt_trial.Trial):
        """Records the trial's result, ends it in the oracle, then reports it.

        The result and the weights are written before the oracle marks the
        trial ended: a process killed in between leaves a trial that the
        oracle still lists as running, and it runs again on resume.
        """
        result = self.trial_results.get(trial.trial_id) or TrialResult(
            trial.trial_id, self.trial_number(trial), {}, TrialStatus.FAILED
        )
        self.trial_results[trial.trial_id] = result
        result.values = _public_values(trial.hyperparameters.values)
        objective = self.oracle.objective
        if trial.status == kt_trial.TrialStatus.COMPLETED and result.metrics:
            if objective.has_value(result.metrics):
                result.score = float(objective.get_value(result.metrics))
        self._write_checkpoints(result)
        result.save(self._result_path(trial.trial_id))
        try:
            super().on_trial_end(trial)  # oracle.end_trial + save
        finally:
            # Also when the oracle stops the search (too many failures in a
            # row): the trial's result is still written.
            self._record(trial)

    def _record(self, trial: kt_trial.Trial) -> None:
        ended = self.oracle.get_trial(trial.trial_id)
        result = self.trial_results[trial.trial_id]
        if ended.status == kt_trial.TrialStatus.COMPLETED:
            if result.status == TrialStatus.FAILED:
                result.status = TrialStatus.COMPLETED
            result.score = None if ended.score is None else float(ended.score)
        else:
            result.status = TrialStatus.FAILED
            result.error = result.error or ended.message or "no finite objective"
            result.score = None
            self._drop_checkpoint(trial.trial_id)
        result.save(self._result_path(trial.trial_id))
        if ended.status != kt_trial.TrialStatus.INVALID:
            clear_resume_point(self.get_trial_dir(trial.trial_id))
        self._best_model_cache = None
        if ended.status == kt_trial.TrialStatus.INVALID:
            return  # sent for a retry: not finished yet
        for callback in self.search_callbacks:
            callback.on_trial_end(self, result)

    def on_search_end(self):
        """Tells the search callbacks the search ended."""
        for callback in self.search_callbacks:
            callback.on_search_end(self)

    # -- results -----------------------------------------------------------------
    def _result_path(self, trial_id: str) -> str:
        return os.path.join(self.get_trial_dir(trial_id), "result.json")

    def _load_results(self) -> None:
        """Reads the results of the trials the oracle lists as ended.

        A ``result.json`` of a trial the oracle does not list as ended (the
        process died between the two writes) is ignored: that trial runs
        again. A trial the oracle lists as ended without a ``result.json``
        gets one made from keras-tuner's ``trial.json``.
        """
        ended = getattr(self.oracle, "end_order", None)
        pattern = os.path.join(self.project_dir, "trial_*", "result.json")
        for path in sorted(glob.glob(pattern)):
            result = TrialResult.load(path)  # refuses another trial's file
            if ended is None or result.trial_id in ended:
                self.trial_results[result.trial_id] = result
        for trial_id in ended or []:
            if trial_id not in self.trial_results:
                result = self._result_from_oracle(self.oracle.trials[trial_id])
                result.save(self._result_path(trial_id))
                self.trial_results[trial_id] = result

    def _result_from_oracle(self, trial: kt_trial.Trial) -> TrialResult:
        completed = trial.status == kt_trial.TrialStatus.COMPLETED
        metrics = {
            name: float(trial.metrics.get_best_value(name))
            for name in trial.metrics.metrics
        }
        return TrialResult(
            trial.trial_id,
            self.trial_number(trial),
            _public_values(trial.hyperparameters.values),
            TrialStatus.COMPLETED if completed else TrialStatus.FAILED,
            score=float(trial.score) if completed and trial.score is not None else None,
            metrics=metrics,
            best_epoch=trial.best_step if completed else None,
            error=None if completed else (trial.message or "failed"),
            end_reason="recovered from keras-tuner's trial.json (no per-epoch history)",
        )

    def results(self) -> list[TrialResult]:
        """Every ended trial's result, in trial order."""
        return sorted(self.trial_results.values(), key=lambda r: r.number)

    def best_result(self) -> TrialResult | None:
        """The completed trial with the best score, or ``None``."""
        ranked = self._ranked()
        return ranked[0] if ranked else None

    def _require_best(self) -> TrialResult:
        best = self.best_result()
        if best is None:
            raise NotSearchedError(
                "No trial has completed yet, so there is no best trial. Call "
                "search(...) first (or check the failed trials' errors in "
                "cv_results_['error'])."
            )
        return best

    @property
    def best_params_(self) -> dict[str, Any]:
        """Hyperparameter values of the best trial (as scikit-learn's)."""
        return dict(self._require_best().values)

    @property
    def best_score_(self) -> float:
        """Objective value of the best trial, at its best epoch."""
        return self._require_best().score

    @property
    def best_trial_id_(self) -> str:
        """keras-tuner ID of the best trial."""
        return self._require_best().trial_id

    def best_model(self) -> keras.Model:
        """The best trial's trained model, with its best epoch's weights.

        Loaded from the weights written when the trial ended: nothing is
        retrained.
        """
        best = self._require_best()
        if self._best_model_cache and self._best_model_cache[0] == best.trial_id:
            return self._best_model_cache[1]
        model = self.load_model(self.oracle.get_trial(best.trial_id))
        self._best_model_cache = (best.trial_id, model)
        return model

    def retrain(
        self, trial_id: str, *fit_args, **fit_kwargs
    ) -> tuple[keras.Model, dict[str, list[float]]]:
        """Trains a trial's model again, exactly as the search did.

        The model is built from the trial's hyperparameters with the trial's
        recorded seed (weights initialisation and shuffling) and trained for
        the epochs the trial ran, with no early stopping or pruning (they
        only decided when it stopped). On the CPU, with the same data, the
        per-epoch metrics are those the trial recorded.

        Args:
            trial_id: The trial (see ``cv_results_['trial_id']``).
            *fit_args: The data, as given to `search` (``x, y``).
            **fit_kwargs: As given to `search` (``validation_data``...);
                ``epochs`` defaults to the epochs the trial ran.

        Returns:
            ``(model, history)``: the trained model (last epoch's weights)
            and the metrics per epoch.

        Raises:
            ValueError: If the trial is unknown or never trained.
        """
        result = self.trial_results.get(str(trial_id))
        if result is None or result.seed is None:
            known = ", ".join(sorted(self.trial_results)) or "none yet"
            raise bad_value(
                "trial_id",
                trial_id,
                "is not a trial of this search that trained",
                f"Pass one of: {known}.",
            )
        hp = self.oracle.get_trial(result.trial_id).hyperparameters.copy()
        fit_kwargs.setdefault("epochs", max(result.epochs_run, 1))
        fit_kwargs.setdefault("verbose", 0)
        keras.utils.set_random_seed(result.seed)
        model = self.build_model(hp)
        recorder = EpochRecorder()
        callbacks = [*(fit_kwargs.pop("callbacks", None) or []), recorder]
        with released_gradient_functions():
            self.hypermodel.fit(hp, model, *fit_args, callbacks=callbacks, **fit_kwargs)
        return model, recorder.history

    @property
    def best_estimator_(self) -> keras.Model:
        """The best trial's trained model (see `best_model`)."""
        return self.best_model()

    def load_model(self, trial: kt_trial.Trial) -> keras.Model:
        """Rebuilds a trial's model and loads its saved best-epoch weights."""
        model = self._try_build_without_clearing(trial.hyperparameters.copy())
        path = self._get_checkpoint_fname(trial.trial_id)
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"No weights were kept for trial {trial.trial_id} ({path}): "
                f"checkpoint={self.checkpoint!r} keeps the best "
                f"{self.keep_top_k} trials' weights ('none' keeps none). Rebuild "
                "it with tuner.hypermodel.build(hp) and train it, or search "
                "with checkpoint='best' or 'every_epoch'."
            )
        load_weights(model, path)
        return model

    @property
    def cv_results_(self) -> dict[str, list]:
        """One row per ended trial, as columns of equal length.

        ``pandas.DataFrame(tuner.cv_results_)`` gives the table. Columns:
        ``trial_id``, ``number``, ``param_<name>`` for every hyperparameter
        (``None`` where inactive), ``params`` (dicts), ``score``,
        ``rank_score`` (1 is best; failed trials rank last), ``status``,
        ``best_epoch``, ``epochs_run``, ``seconds``, ``fit_seconds``,
        ``end_reason``, ``error``.
        """
        return cv_results(self.results(), self._ranked())

    def run_name(self, trial: kt_trial.Trial, execution: int) -> str:
        """A training's directory name under a log directory."""
        run = f"trial_{trial.trial_id}"
        if self.executions_per_trial > 1:
            run = os.path.join(run, f"execution_{execution + 1}")
        return run
