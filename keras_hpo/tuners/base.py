"""Execution: the tuner that composes the parts of a search.

`SearchTuner` keeps keras-tuner's ``Tuner`` contract (its arguments,
``run_trial``, ``hypermodel.fit``, chief/worker mode, the project files) and
hands the work to small parts:

* `loop`: the search loop and its limits;
* `runner`: one trial's training, returning a `TrialOutcome`;
* `preflight`: the checks before the first trial;
* `checkpoint_store`: which trials keep weights, and loading them;
* `result_store`: the results (``result.json``), ranking, ``cv_results_``;
* `isolation`: a trial in a process of its own, with the same runner;
* `view`: the read-only `SearchView` search callbacks get;
* `sklearn_api`: `best_params_`, `best_score_`, `best_estimator_`...

See ARCHITECTURE.md for the data flow of a trial. This module wires the
parts to keras-tuner's hooks; it must not hold their logic.
"""

from __future__ import annotations

import contextlib
import io
import numbers
import os
import sys
from typing import Any

import keras_tuner
from keras_tuner.engine import hyperparameters as kt_hp
from keras_tuner.engine import trial as kt_trial

from keras_hpo import compat
from keras_hpo.callbacks import ProgressPrinter
from keras_hpo.callbacks import SearchCallback
from keras_hpo.callbacks import TensorBoardLogger
from keras_hpo.callbacks.tensorboard import check_free_for_overwrite
from keras_hpo.distributed.client import WorkerOracle
from keras_hpo.errors import ProjectInUseError
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.files import file_signature
from keras_hpo.hypermodels.sklearn_estimator import SklearnHyperModel
from keras_hpo.hypermodels.sklearn_estimator import as_hypermodel
from keras_hpo.oracles.base import check_count
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.protocols import is_plain_fit
from keras_hpo.stopping.base import Stopper
from keras_hpo.tuners import loop
from keras_hpo.tuners import preflight
from keras_hpo.tuners.analysis_api import SearchAnalysis
from keras_hpo.tuners.arguments import check_foreign_arguments
from keras_hpo.tuners.arguments import model_logs
from keras_hpo.tuners.checkpoint import resume_point
from keras_hpo.tuners.checkpoint_store import CheckpointStore
from keras_hpo.tuners.data_checks import lists_as_arrays
from keras_hpo.tuners.data_identity import check_same_data
from keras_hpo.tuners.data_identity import data_identity
from keras_hpo.tuners.estimator_runner import check_estimator_fit_arguments
from keras_hpo.tuners.estimator_runner import check_estimator_options
from keras_hpo.tuners.execution import TrialExecution
from keras_hpo.tuners.execution import overrides_build_and_fit
from keras_hpo.tuners.execution import own_training
from keras_hpo.tuners.folds import Folds
from keras_hpo.tuners.folds import check_cv
from keras_hpo.tuners.folds import cv_identity
from keras_hpo.tuners.folds import explicit_validation
from keras_hpo.tuners.folds import make_folds
from keras_hpo.tuners.fusion import TrialFusion
from keras_hpo.tuners.fusion import check_fuse
from keras_hpo.tuners.options import SearchLimits
from keras_hpo.tuners.options import check_checkpoint
from keras_hpo.tuners.options import check_flags
from keras_hpo.tuners.options import check_search_callbacks
from keras_hpo.tuners.options import check_stopper
from keras_hpo.tuners.options import make_early_stopping
from keras_hpo.tuners.project import open_project
from keras_hpo.tuners.project import project_identity
from keras_hpo.tuners.recording import TrialRecorder
from keras_hpo.tuners.refit import Refit
from keras_hpo.tuners.refit import refit_after_search
from keras_hpo.tuners.result_store import ResultStore
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import atomic_write_json
from keras_hpo.tuners.results import read_json
from keras_hpo.tuners.resume import check_same_search
from keras_hpo.tuners.resume import rebuild_lost_trials
from keras_hpo.tuners.resume import saved_identity
from keras_hpo.tuners.resume import search_identity
from keras_hpo.tuners.scoring import check_scoring_objective
from keras_hpo.tuners.scoring import estimator_scoring
from keras_hpo.tuners.scoring import make_scoring
from keras_hpo.tuners.sklearn_api import SklearnResults
from keras_hpo.tuners.termination import sigterm_stops_search
from keras_hpo.tuners.trial_callbacks import check_tensorboard_dir
from keras_hpo.tuners.trial_callbacks import objective_parts
from keras_hpo.tuners.view import SearchView
from keras_hpo.tuners.workers import MultiWorker
from keras_hpo.tuners.workers import check_workers
from keras_hpo.tuners.workers import environment_cluster

__all__ = ["SearchTuner"]


class SearchTuner(
    SearchAnalysis,
    SklearnResults,
    TrialRecorder,
    TrialFusion,
    MultiWorker,
    TrialExecution,
    keras_tuner.Tuner,
):
    """The tuner base that runs trials for every keras_hpo strategy.

    Use a strategy tuner (`GridSearch`, `RandomSearch`, `BayesianSearch`), or
    pass any keras-tuner ``Oracle`` here. Subclass it to change how trials
    run: override ``run_trial`` for one trial, or `run_trials` to train a
    group of trials together.

    Args:
        oracle: A ``keras_tuner.Oracle`` (ours or keras-tuner's).
        hypermodel: A ``keras_tuner.HyperModel`` (for instance `HyperMLP`),
            a function ``build(hp) -> keras.Model``, or a scikit-learn
            estimator: each trial then fits a clone per ``cv=`` fold
            (``cv=None`` means 5 folds, as in scikit-learn) and scores it
            with ``scoring=`` (default: the estimator's ``score``), with no
            epochs (see `keras_hpo.tuners.estimator_runner`).
        search_callbacks: `keras_hpo.callbacks.SearchCallback` objects told
            about each finished trial.
        verbose: 1 (default) prints one line per trial and the best trial at
            the end; 0 prints nothing.
        trials_per_step: How many trials the search loop asks the oracle for
            at once and passes to `run_trials`. Defaults to 1.
        fuse: Train up to this many trials at once as one fused Keras model
            (see `keras_hpo.fused`): the search asks its oracle for that many
            trials per step (grid and random: four times as many, to bucket
            them by shape) and trains every group that fuses together.
            ``"auto"``: groups of up to 32 where a cost model says fusing is
            faster than one by one. Defaults to 1 (one by one). A search
            that cannot fuse (a build function, ``isolate_trials``...) says
            why in one line and runs trials one by one.
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
        cv: Cross-validation, as in scikit-learn's search classes: an int
            (that many folds: stratified when a `HyperMLP` classifies, else
            ``KFold``; unshuffled, as ``sklearn.model_selection.check_cv``
            makes them), a scikit-learn splitter, or a list of
            ``(train_indices, test_indices)`` pairs. Each trial then trains
            one model per fold, on the fold's training rows of ``x, y``
            (a `HyperMLP` adapts to them first: its standardisation,
            medians and categories are the fold's training rows', as a
            ``Pipeline``'s in ``GridSearchCV``; ``search(..., groups=)``
            feeds group splitters), validated on its test rows, with its
            own early stopping (the stopper compares a fold with the same
            fold of the other trials; a pruned fold ends its trial). The
            trial's score is the mean of its folds' scores (each at that
            fold's best epoch); each fold's
            score, best epoch and curve are in ``result.folds`` and
            ``cv_results_``, its TensorBoard runs under
            ``trial_<id>/fold_<k>``. ``search`` then takes no
            ``validation_data`` or ``validation_split``. Defaults to
            ``None``: one training per trial, validated as ``search`` says.
        scoring: What ranks the trials, with scikit-learn's names (see
            `keras_hpo.tuners.scoring`): a metric the model logs
            (``"accuracy"``), a scikit-learn scorer name
            (``"neg_root_mean_squared_error"``, ``"r2"``, ``"f1_macro"``,
            ``"roc_auc"``...) or scorer callable, computed on the validation
            data after every epoch, or a Keras metric name (``"mae"``),
            compiled into `HyperMLP` models. A list (or dict) of them is
            recorded too, ranked by the one ``refit`` names. The objective
            is then ``val_<name>``. Not with ``objective=``.
        refit: As scikit-learn's: ``True`` (default) ends each `search` by
            training the best configuration again on all the data it was
            given (training and validation data, or all folds) for the
            epochs its best trial chose; that model is `best_estimator_`,
            used by `predict`, `predict_proba` and `score`, and saved under
            ``<project>/refit/`` (see `keras_hpo.tuners.refit`). ``False``:
            `best_estimator_` is the best trial's own model (`best_model`).
            With several scores, the name of the one that ranks.
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
        fuse: int | str = 1,
        early_stopping: Any = "default",
        stopper: Stopper | None = None,
        max_time: float | None = None,
        patience_trials: int | None = None,
        target: float | None = None,
        checkpoint: str = "best",
        keep_top_k: int = 3,
        isolate_trials: bool = False,
        cv: Any = None,
        scoring: Any = None,
        refit: bool | str = True,
        tensorboard_dir: str | None = "default",
        **kwargs,
    ):
        check_foreign_arguments(type(self).__name__, kwargs)
        check_flags(verbose, trials_per_step, isolate_trials)
        if hypermodel is None and type(self).run_trial is TrialExecution.run_trial:
            raise bad_value(
                "hypermodel",
                None,
                "is needed: nothing else says how a trial builds and trains its model",
                "Pass a hypermodel (e.g. keras_hpo.HyperMLP(num_classes=10) or "
                "a build(hp) function), or subclass the tuner and override "
                "run_trial(trial, *args, **kwargs) to run each trial yourself.",
            )
        if isolate_trials and overrides_build_and_fit(self):
            raise bad_value(
                "isolate_trials",
                isolate_trials,
                f"cannot run {type(self).__name__}._build_and_fit_model, an "
                "override in this process, in each trial's own process",
                "Pass isolate_trials=False, or do the override's work in the "
                "hypermodel's build() and fit().",
            )
        hypermodel = as_hypermodel(hypermodel)
        estimator = isinstance(hypermodel, SklearnHyperModel)
        if estimator:
            check_estimator_options(
                fuse=fuse, stopper=stopper, isolate_trials=isolate_trials, **kwargs
            )
        if not isinstance(refit, (bool, str)):
            raise bad_type(
                "refit",
                refit,
                "True, False or the name of a score",
                "E.g. refit=False to skip the refit.",
            )
        #: Whether `search` ends with a refit of the best configuration.
        self.refit = bool(refit)
        #: The resolved ``scoring=`` (`keras_hpo.tuners.scoring.Scoring`).
        self.scoring = (
            estimator_scoring(scoring, refit, hypermodel.estimator)
            if estimator
            else make_scoring(scoring, refit, model_logs(hypermodel))
        )
        names = [s.name for s in self.scoring.scores] if self.scoring else []
        if isinstance(refit, str) and refit not in names:
            raise bad_value(
                "refit",
                refit,
                "a name of a score, but scoring= has "
                + (", ".join(names) if names else "none"),
                "Pass refit=True or False, or the name of a scoring= score.",
            )
        if self.scoring is not None:
            check_scoring_objective(self.scoring, oracle.objective)
            for metric in self.scoring.keras_metrics:
                if hasattr(hypermodel, "add_metric"):
                    hypermodel.add_metric(metric)
        if "executions_per_trial" in kwargs:
            kwargs["executions_per_trial"] = check_count(
                "executions_per_trial", kwargs["executions_per_trial"], 1, 1
            )
        #: The ``cv=`` argument (checked), and its `Folds` once data is given.
        self.cv = check_cv(cv)
        if estimator and self.cv is None:
            self.cv = 5  # scikit-learn's default: an estimator is cross-validated
        self.folds: Folds | None = None
        #: The ``groups`` given to the last `search` (for the ``cv=`` splitter).
        self.groups: Any = None
        #: ``(fit_args, fit_kwargs)`` of the last `search`, after its checks.
        self.searched_data: tuple[tuple, dict] | None = None
        if self.cv is not None and kwargs.get("executions_per_trial", 1) > 1:
            raise bad_value(
                "executions_per_trial",
                kwargs["executions_per_trial"],
                "given together with cv= (each fold is one training)",
                "Pass cv= for several trainings per trial, or executions_per_trial=, "
                "not both.",
            )
        callbacks = check_search_callbacks(search_callbacks, SearchCallback)
        self.verbose = verbose
        self.trials_per_step = int(trials_per_step)
        #: Trials per fused model (1: none; ``"auto"``: see `TrialFusion`).
        self.fuse = check_fuse(fuse)
        #: Trials drawn but not started (held by a limit); run first next step.
        self.held_trials: list[kt_trial.Trial] = []
        #: Why trials ran one by one although ``fuse`` allows groups.
        self.fusion_messages: list[str] = []
        #: IDs of this step's trials that `run_trials` has already ended.
        self.ended_trials: set[str] = set()
        #: IDs of the trials `begin_trial` began (a held trial begins once).
        self.begun_trials: set[str] = set()
        self.stopper = check_stopper(stopper)
        self.limits = SearchLimits(max_time, patience_trials, target)
        self.checkpoint, self.keep_top_k = check_checkpoint(checkpoint, keep_top_k)
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
        #: What search callbacks see of this search.
        self.view = SearchView(self)
        self._space_deferred = False
        # The space this search declares, to compare with a reloaded one.
        declared = oracle.hyperparameters.copy()
        if isinstance(hypermodel, DataAwareHyperModel) and oracle.tune_new_entries:
            hypermodel.declare_hyperparameters(declared)
        self._reloaded = False
        self._saved_state: Any = None
        self._declared = declared
        #: What this search's scores mean (see `resume.search_identity`).
        self.identity = search_identity(
            oracle.objective, hypermodel, cv_identity(self.cv)
        )
        #: This process's place in a multi-worker search (``None``: alone),
        #: from keras-tuner's environment variables.
        self.cluster = environment_cluster()
        #: A worker's link to the chief's oracle (``None``: not a worker).
        self.chief_link: WorkerOracle | None = None
        if self.cluster is not None and not self.cluster.is_chief:
            # The chief owns the project folder: wait until it serves.
            self.chief_link = WorkerOracle(oracle, self.cluster)
            self.chief_link.hello()
        if kwargs.get("overwrite") is True and tensorboard_dir not in (None, "default"):
            check_free_for_overwrite(tensorboard_dir)  # before deleting anything
        self.project_lock, self._worker_process = open_project(kwargs)
        try:
            self._finish_init(oracle, hypermodel, declared, tensorboard_dir, kwargs)
        finally:
            self.project_lock.release()

    def _finish_init(self, oracle, hypermodel, declared, tensorboard_dir, kwargs):
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
            logger = TensorBoardLogger(
                tensorboard_dir, project=project_identity(self.project_dir)
            )
            self.search_callbacks.insert(0, logger)
        if self.chief_link is not None:
            self.connect_worker(self.chief_link)
        self.oracle.verbose = 0  # our ProgressPrinter replaces keras-tuner's display
        self.early_stopping = make_early_stopping(
            self._early_stopping_spec, self.oracle.objective
        )
        if self._reloaded and not self._worker_process:
            # A size given to an earlier search replaced the fixed one (see
            # `_record_fit_batch_size`): what was declared is compared.
            knob = self._declared_batch_size()
            if knob is not None:
                compat.set_fixed_value(self.oracle.hyperparameters, *knob)
            check_same_search(
                self.project_dir,
                type(self.oracle).__name__,
                declared,
                self.oracle.hyperparameters,
                self.identity,
                saved_identity(self.project_dir, self._saved_state),
            )
        self.result_store = ResultStore(
            self.project_dir, self.oracle.objective.direction
        )
        self.checkpoints = CheckpointStore(
            self.project_dir, self.checkpoint, self.keep_top_k
        )
        #: The refit model (``refit=True``), on disk under ``<project>/refit``.
        self.refitted = Refit(self.project_dir)
        self._load_results()
        if self._reloaded and not self._worker_process:
            for trial_id in compat.retry_queue(self.oracle):
                resume_point(self.get_trial_dir(trial_id))  # refuses altered ones
        if self._reloaded and self.verbose and not self._worker_process:
            print(self._reload_summary(), flush=True)

    # -- the project on disk -----------------------------------------------------
    def save(self) -> None:
        """Writes the oracle's and the tuner's state files, atomically.

        A worker writes neither: the chief owns the project's state.
        """
        if compat.is_worker(self):
            return
        self.oracle.save()
        atomic_write_json(compat.tuner_file(self), self.get_state())

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
        if not compat.is_worker(self):
            rebuild_lost_trials(self.project_dir, self.oracle.objective)
            self.oracle.reload()
        self.set_state(read_json(compat.tuner_file(self)))

    def _reload_summary(self) -> str:
        finished = len(self.result_store)
        total = self.expected_trials
        to_go = f"{max(total - finished, 0)} to go" if total else "more to go"
        retry = list(compat.retry_queue(self.oracle))
        again = (
            f"; interrupted trial(s) {', '.join(retry)} will run again" if retry else ""
        )
        return (
            f"Reloaded project {self.project_dir}: {finished} trials finished, "
            f"{to_go}{again}"
        )

    @property
    def trial_results(self) -> dict[str, TrialResult]:
        """trial_id -> `TrialResult`, for every trial that ended."""
        return self.result_store.trials

    @property
    def expected_trials(self) -> int | None:
        """How many trials the search will run at most (``None``: unknown)."""
        return self.oracle.max_trials

    # -- the search space ------------------------------------------------------
    def _populate_initial_space(self):
        hypermodel = self.hypermodel
        if isinstance(hypermodel, DataAwareHyperModel) and not hypermodel.ready:
            # It declares its whole space without data; the builds that find
            # conditional hyperparameters of subclasses wait for `adapt`.
            hp = self.oracle.get_space()
            hypermodel.declare_hyperparameters(hp)
            self.oracle.update_space(hp)
            self._space_deferred = True
            return
        super()._populate_initial_space()

    # -- the search --------------------------------------------------------------
    def search(
        self,
        *fit_args,
        workers: int | None = None,
        groups: Any = None,
        **fit_kwargs,
    ) -> None:
        """Runs trials until the oracle stops; arguments go to ``fit``.

        Args:
            *fit_args: Passed to ``hypermodel.fit`` (e.g. ``x, y``).
            workers: Train the trials in this many worker processes, each
                running this script again, while this process serves the
                oracle (see `keras_hpo.tuners.workers`; call `search` under
                ``if __name__ == "__main__":``). ``None`` (default): trials
                train in this process. Ignored in a process that keras-tuner's
                variables already make a chief or a worker.
            **fit_kwargs: Passed to ``hypermodel.fit`` (``epochs``,
                ``validation_data``, ``validation_split``, ``callbacks``...).
                ``verbose`` defaults to 0: progress is one line per trial.
                An explicit ``verbose=0`` also silences this search's own
                lines, as keras-tuner's ``search(verbose=0)`` does (errors
                still go to stderr).
            groups: Each sample's group label, for a ``cv=`` splitter that
                keeps groups apart (``GroupKFold``, ``LeaveOneGroupOut``,
                ``StratifiedGroupKFold``...), as scikit-learn's
                ``fit(X, y, groups=)``; it only splits, it is not passed to
                ``fit``.
        """
        workers = check_workers(workers)
        self.groups = groups
        cluster = self.cluster
        if workers is not None and cluster is not None and cluster.is_chief:
            print(
                f"search(workers={workers}) is ignored: this process is the chief "
                "of a search whose workers were started for it (keras-hpo launch "
                "--workers N, or keras-tuner's variables)",
                file=sys.stderr,
                flush=True,
            )
        with self._owning_project(), self._silenced(fit_kwargs.get("verbose") == 0):
            fit_args, fit_kwargs = self._preflight(fit_args, fit_kwargs)
            self.searched_data = (fit_args, fit_kwargs)
            ended_before = len(self.result_store)
            if cluster is not None and not cluster.is_chief:
                self.work_search(fit_args, fit_kwargs)
                if cluster.launched:  # the code after search() is the chief's
                    raise SystemExit(0)
                return
            with sigterm_stops_search():  # as Ctrl-C; not in a worker
                if cluster is not None:
                    self.serve_search(cluster)
                elif workers is not None:
                    self.search_with_workers(workers, fit_args, fit_kwargs)
                else:
                    loop.run_search(self, fit_args, fit_kwargs)
            if self.refit:
                refit_after_search(
                    self, fit_args, fit_kwargs, len(self.result_store) > ended_before
                )

    @contextlib.contextmanager
    def _silenced(self, quiet: bool):
        """While the block runs, prints nothing if ``quiet`` (no progress lines)."""
        if not quiet:
            yield
            return
        verbose, callbacks = self.verbose, self.search_callbacks
        self.verbose = 0
        self.search_callbacks = [
            c for c in callbacks if not isinstance(c, ProgressPrinter)
        ]
        try:
            yield
        finally:
            self.verbose, self.search_callbacks = verbose, callbacks

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
        path = compat.oracle_file(self.oracle)
        if file_signature(path) != self.oracle.saved_signature:
            raise ProjectInUseError(
                f"{path} was changed by another search after this tuner read it, "
                "so searching with this tuner would overwrite that search's "
                "trials. Create the tuner again: it resumes from what is on disk."
            )

    def _check_same_data(self, fit_args: tuple, fit_kwargs: dict) -> None:
        """Refuses to resume the project's trials with data of other features.

        A project without trials has nothing to mix: a search whose data was
        refused before its first trial can be given other data. The data's
        identity (`data_identity.data_identity`) is then saved with the
        search's.
        """
        current = data_identity(fit_args, fit_kwargs, self.groups)
        if not self._worker_process and self.result_store.results():
            # An earlier search of this tuner, or else the saved project's.
            before: Any = self.identity
            same_tuner = "data" in before
            if not same_tuner and self._reloaded:
                before = saved_identity(self.project_dir, self._saved_state)
            check_same_data(self.project_dir, before, current, same_tuner)
        if current is not None:
            self.identity["data"] = current

    def _preflight(self, fit_args: tuple, fit_kwargs: dict) -> tuple[tuple, dict]:
        """The checks before the first trial (see `preflight`)."""
        if isinstance(self.hypermodel, SklearnHyperModel):
            check_estimator_fit_arguments(self.hypermodel.estimator, fit_kwargs)
            fit_kwargs = {k: v for k, v in fit_kwargs.items() if k != "verbose"}
            fit_args, fit_kwargs = lists_as_arrays(fit_args, fit_kwargs)
            self._check_same_data(fit_args, fit_kwargs)
            self.folds = self._folds(fit_args, fit_kwargs)
            return fit_args, fit_kwargs
        plain = self._plain_fit()
        if plain:  # arrays and tables: before the hypermodel adapts to them
            preflight.check_fit_knobs(
                self.hypermodel, self.oracle.get_space(), fit_kwargs
            )
            self._record_fit_batch_size(fit_kwargs)
            self._check_same_data(fit_args, fit_kwargs)
        samples = preflight.prepare_data(self.hypermodel, plain, fit_args, fit_kwargs)
        if samples is not None:
            self.samples_per_epoch = samples
        if self._space_deferred:
            compat.activate_all_conditions(self)
            self._space_deferred = False
        fit_args, fit_kwargs = lists_as_arrays(fit_args, fit_kwargs)
        if plain:  # lists too, once checked and made arrays
            self._check_same_data(fit_args, fit_kwargs)
        if getattr(self.hypermodel, "declares_in_hooks", False):
            if not self.oracle.tune_new_entries:  # a param_grid's names
                preflight.check_hook_hyperparameters(
                    self.hypermodel, self.oracle.get_space(), fit_args, fit_kwargs
                )
        self.folds = self._folds(fit_args, fit_kwargs)
        if self.scoring is not None and self.scoring.scorers and self.folds is None:
            # scikit-learn scorers read the validation data themselves.
            fit_args, fit_kwargs = explicit_validation(fit_args, fit_kwargs)
        # The checks see what a trial's (first) training gets.
        args, kwargs = fit_args, fit_kwargs
        if self.folds is not None:
            args, kwargs = self.folds.fit_arguments(0, fit_args, fit_kwargs)
            self.samples_per_epoch = len(self.folds.splits[0][0])
        if plain:
            parts = objective_parts(self.oracle.objective)
            for name in parts:
                preflight.check_objective_is_logged(name, kwargs)
            # A list of objectives: each part is named by its place in it.
            arguments = [f"objective[{i}]" for i in range(len(parts))]
            if len(parts) == 1:
                arguments = ["objective"]
            monitored = dict(zip(arguments, parts, strict=True))
            if self.early_stopping is not None:
                monitored["early_stopping"] = self.early_stopping.monitor
            added = tuple(self.scoring.scorers) if self.scoring else ()
            if len(parts) > 1:  # ObjectiveLogs adds it to every epoch's logs
                added += (self.oracle.objective.name,)
            space = self.oracle.get_space()
            self.logged_metrics = (
                preflight.check_metrics_exist(
                    lambda: self.builder.build(space),
                    monitored,
                    args,
                    kwargs,
                    added,
                )
                or self.logged_metrics
            )
            if self.scoring is not None:
                preflight.check_scoring_metrics(
                    lambda: self.builder.build(space),
                    self.scoring.keras_metrics,
                    args,
                    kwargs,
                )
        fit_kwargs.setdefault("verbose", 0)
        return fit_args, fit_kwargs

    def _folds(self, fit_args: tuple, fit_kwargs: dict) -> Folds | None:
        """The ``cv=`` folds of the data given to `search` (see `folds`)."""
        if self.cv is None:
            return make_folds(None, fit_args, fit_kwargs, False, self.groups)
        if type(self).run_trial is not TrialExecution.run_trial:
            raise bad_value(
                "cv",
                self.cv,
                f"given to a tuner whose run_trial is overridden "
                f"({type(self).__name__}.run_trial trains its own way)",
                "Split the data inside your run_trial, or drop cv=.",
            )
        labels = getattr(self.hypermodel, "labels", None)
        classifier = labels is not None and labels[0] in ("classification", "binary")
        if isinstance(self.hypermodel, SklearnHyperModel):
            classifier = self.hypermodel.is_classifier
        return make_folds(self.cv, fit_args, fit_kwargs, classifier, self.groups)

    def _declared_batch_size(self) -> tuple[str, Any] | None:
        """The fixed ``batch_size`` knob's name and declared value, if fixed.

        Declared by the hypermodel (`HyperMLP`'s 32 by default) or by a
        one-value ``param_grid``; ``None`` when the size is tuned or the
        hypermodel has no such knob.
        """
        template = (getattr(self.hypermodel, "templates", None) or {}).get("batch_size")
        if template is None:
            return None
        fixed = [
            hp
            for hp in self._declared.space
            if hp.name == template.name and isinstance(hp, kt_hp.Fixed)
        ]
        if fixed:
            return template.name, fixed[0].value
        declared = any(hp.name == template.name for hp in self._declared.space)
        if isinstance(template, kt_hp.Fixed) and not declared:
            return template.name, template.value
        return None

    def _record_fit_batch_size(self, fit_kwargs: dict) -> None:
        """Records the ``batch_size`` given to ``search`` as the trials'.

        A fixed ``batch_size`` is only the size used when ``search`` gives
        none: a given size replaces it in training (`HyperMLP.fit`), so it
        replaces it in the space too, and each new trial records the size
        it trains at (``cv_results_``, ``best_params_``, TensorBoard). A
        search without one puts the declared size back. A tuned size with a
        given one was refused (`preflight.check_fit_knobs`); a worker's
        space is the chief's, which records it there.
        """
        knob = self._declared_batch_size()
        if knob is None or self._worker_process:
            return
        name, size = knob
        given = fit_kwargs.get("batch_size")
        if isinstance(given, numbers.Integral) and not isinstance(given, bool):
            if given <= 0:
                return  # left to Keras's own error
            size = int(given)
        elif given is not None:
            return  # "64", 64.0: left to Keras
        compat.set_fixed_value(self.oracle.hyperparameters, name, size)

    def _plain_fit(self) -> bool:
        """Whether trials train with a plain fit (see `preflight`)."""
        if own_training(self) or self.hypermodel is None:
            return False
        return is_plain_fit(self.hypermodel)

    def create_trials(self, count: int) -> list[kt_trial.Trial]:
        """Up to ``count`` trials to run now: held ones first, then new ones.

        New trials come from the oracle (see `loop.create_trials`).
        """
        held, self.held_trials = self.held_trials[:count], self.held_trials[count:]
        return held + loop.create_trials(self.oracle, self.tuner_id, count - len(held))

    def begin_trial(self, trial: kt_trial.Trial) -> None:
        """Calls `on_trial_begin` for a trial about to train, once per trial."""
        if trial.trial_id not in self.begun_trials:
            self.begun_trials.add(trial.trial_id)
            self.on_trial_begin(trial)

    def begins_in_groups(self, trials: list[kt_trial.Trial]) -> bool:
        """Whether `run_trials` begins these trials itself, group by group.

        Fused groups begin when they train: trials held back when a limit
        stops the search (``max_time``) never begin, so they get no
        TensorBoard run. A `run_trials` of one's own gets every trial begun
        before it is called, as keras-tuner does.
        """
        own = type(self).run_trials is SearchTuner.run_trials
        return own and self.fuse_size > 1 and len(trials) > 1

    def run_trials(self, trials: list[kt_trial.Trial], *fit_args, **fit_kwargs) -> None:
        """Runs a group of trials and reports each to the oracle.

        With ``fuse=1`` they run one after the other with `execute_trial`;
        otherwise in fused groups (`TrialFusion.run_fused`). Override it to
        train a group your own way, then report each trial with
        ``oracle.update_trial`` and set its ``status``.

        Args:
            trials: The trials from `create_trials`.
            *fit_args: As for `search`.
            **fit_kwargs: As for `search`.
        """
        self.ended_trials = set()
        if self.fuse_size > 1 and len(trials) > 1:
            self.run_fused(trials, fit_args, fit_kwargs)
            return
        for trial in trials:
            self.execute_trial(trial, *fit_args, **fit_kwargs)
