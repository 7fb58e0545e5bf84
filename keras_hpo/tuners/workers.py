"""A search on several processes: the chief's part and a worker's part.

`MultiWorker` is the part of `SearchTuner` that runs a search across
processes on keras-tuner's chief/worker engine (see `keras_hpo.distributed`
and the README's "Many GPUs and machines"):

* `serve_search` (the chief): serves the oracle (`ChiefServer`) until the
  search ends. It trains nothing. When a worker ends a trial, the chief
  reads the trial's ``result.json`` from the shared project folder (for the
  limits and the ranking) and drops the weights pushed out of the
  ``keep_top_k`` best. At the end it reads every result, writes
  ``search.json`` and tells the search callbacks, as a one-process search.
* `work_search` (a worker): asks the chief for trials and trains each one
  exactly as a one-process search would (same seed, same number, same
  files), renewing the trial's lease while it trains. A trial whose lease
  was lost (another worker runs it now) stops at its next epoch and
  leaves no result. Before each trial it reads the other workers' results
  from the project folder, so ranking, ``keep_top_k`` and the stoppers see
  the whole search; with a stopper, after each epoch it also gives the chief
  its running curve and gets the other workers' (`TrialExecution.curves`).
* `search_with_workers`: ``search(..., workers=N)``: this process becomes
  the chief and starts N worker processes that run the same script.

Results live in one project folder that every process sees (one machine,
or a shared filesystem). It owns these roles; the training is
`TrialExecution`'s and the serving `ChiefServer`'s.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from typing import Any

import keras
from keras_tuner.engine import trial as kt_trial

from keras_hpo.callbacks import SearchCallback
from keras_hpo.distributed.chief import ChiefServer
from keras_hpo.distributed.client import Lease
from keras_hpo.distributed.client import LeaseLost
from keras_hpo.distributed.client import WorkerOracle
from keras_hpo.distributed.launch import WorkerProcesses
from keras_hpo.distributed.launch import end_with_parent
from keras_hpo.distributed.launch import script_command
from keras_hpo.distributed.settings import Cluster
from keras_hpo.distributed.settings import lease_from_env
from keras_hpo.errors import bad_value
from keras_hpo.tuners import loop
from keras_hpo.tuners.termination import interrupt_reason

__all__ = ["LeaseGuard", "MultiWorker", "check_workers"]

#: Seconds an idle worker waits before asking the chief again.
IDLE_WAIT = 0.5


def check_workers(workers: Any) -> int | None:
    """Validates ``search(workers=)``: ``None`` or an int >= 1."""
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise bad_value(
            "workers",
            workers,
            "must be an int >= 1 (worker processes) or None (this process only)",
            "E.g. workers=2 for two processes on a 2-core machine, or one per GPU.",
        )
    return workers


class LeaseGuard(SearchCallback):
    """Stops a trial's training at its next epoch once its lease is lost."""

    def __init__(self):
        self.lease: Lease | None = None

    def trial_callbacks(self, search, trial, execution) -> list:
        """A Keras callback that ends the training when the lease is lost."""
        return [_StopWhenLost(self)]

    def __getstate__(self) -> dict:
        # A copy sent to an isolated trial's process holds no lease (its
        # heartbeat thread stays here): the worker checks the lease itself
        # before the trial's files are written.
        return {**self.__dict__, "lease": None}


class _StopWhenLost(keras.callbacks.Callback):
    """Ends a training at an epoch's end once its guard's lease is lost.

    It runs before the callbacks that write the epoch into the trial's
    folder (its TensorBoard run, ``checkpoint="every_epoch"``'s files) and
    raises `LeaseLost` when the chief says the trial is another worker's:
    nothing of that epoch is written.
    """

    #: It never reads its model's weights (a fused group need not copy
    #: them into a slice's model for it: `keras_hpo.tuners.group_runner`).
    reads_weights = False

    def __init__(self, guard: LeaseGuard):
        super().__init__()
        self.guard = guard

    def on_epoch_end(self, epoch, logs=None):
        """Raises `LeaseLost` if the trial went to another worker."""
        lease = self.guard.lease
        if lease is not None and not lease.confirm():
            raise LeaseLost(
                f"trial {lease.trial_id} is another worker's now (its lease "
                f"expired during epoch {epoch + 1})"
            )


class MultiWorker:
    """The chief's and a worker's search, for a tuner with ``oracle``."""

    def connect_worker(self, link: WorkerOracle) -> None:
        """Makes the oracle the chief's (this process is a worker)."""
        self.oracle = link
        self.lease_guard = LeaseGuard()
        # First: its trial callback runs before the others write an epoch.
        self.search_callbacks.insert(0, self.lease_guard)

    # -- the chief ---------------------------------------------------------------
    def serve_search(
        self, cluster: Cluster, started: Any = None, workers: Any = None
    ) -> None:
        """Serves the oracle until the search ends (see the module docstring).

        Trials a killed run left running are kept one lease for the workers
        that may still run them, unless this process starts every worker
        (``workers``, `search_with_workers`): the earlier run's ended with
        it, so those trials run again at once.

        Args:
            cluster: Where to listen, the token, the lease.
            started: Called with the port once the chief listens.
            workers: The `WorkerProcesses` this process started, if any: when
                they have all exited, serving stops with an error.
        """
        self.stop_reason = None
        self.limits.start()
        self.save()
        loop.write_search_state(self)
        self.on_search_begin()
        direction = self.oracle.objective.direction
        server = ChiefServer(
            self.oracle,
            cluster.host,
            cluster.port,
            token=cluster.token,
            lease=cluster.lease,
            should_stop=lambda: self.limits.reason(
                self.result_store.scores(), direction
            ),
            on_trial_end=self._worker_ended,
            log=self._say_chief,
            reserve=workers is None,
        )
        ended = False
        try:
            port = server.start()
            self._say_chief(
                f"chief: serving the search on {cluster.host}:{port} "
                f"(lease {cluster.lease:g}s)"
            )
            if started is not None:
                started(port)
            give_up = workers.all_exited if workers is not None else None
            self.stop_reason = server.serve_until_done(give_up=give_up)
            ended = True
        except KeyboardInterrupt as err:  # Ctrl-C, or SIGTERM (`Terminated`)
            self.stop_reason = interrupt_reason(err)
            raise
        except Exception as err:
            self.stop_reason = f"error: {type(err).__name__}: {err}"
            raise
        finally:
            self._load_results()
            ranked = self.result_store.ranked()
            self.checkpoints.prune(ranked, self.oracle.end_order)
            loop.end_search(self, ended)

    def _worker_ended(self, trial_id: str) -> None:
        """A worker ended a trial: read its result, prune weights."""
        result = self.result_store.read(trial_id)
        if result is None:
            return
        self.checkpoints.prune(self.result_store.ranked(), self.oracle.end_order)

    def _say_chief(self, line: str) -> None:
        if self.verbose:
            print(line, flush=True)

    # -- a worker ----------------------------------------------------------------
    def work_search(self, fit_args: tuple, fit_kwargs: dict) -> None:
        """Runs the chief's trials until it says the search ended."""
        oracle: WorkerOracle = self.oracle
        oracle.hello()  # waits for the chief; fails early on a bad token
        self.on_search_begin()
        try:
            while True:
                trial = self._next_trial()
                if trial is None:
                    break
                # The other workers' results.
                self.result_store.refresh(running=trial.trial_id)
                with Lease(oracle, trial.trial_id) as lease:
                    self.lease_guard.lease = lease
                    try:
                        self.on_trial_begin(trial)
                        self.run_trials([trial], *fit_args, **fit_kwargs)
                    except LeaseLost:
                        lease.lost = True
                if not lease.lost and not self._still_held(trial):
                    lease.lost = True  # checked before its files are written
                if not lease.lost:
                    self.result_store.refresh(running=trial.trial_id)
                    try:
                        self.on_trial_end(trial)
                    except LeaseLost:
                        lease.lost = True
                if lease.lost:
                    self.checkpoints.discard(trial.trial_id)
                    self.result_store.trials.pop(trial.trial_id, None)
                    print(
                        f"{oracle.tuner_id}: trial {trial.trial_id} is another "
                        "worker's now (its lease expired); this run is discarded",
                        flush=True,
                    )
        except BaseException:
            current = getattr(self.lease_guard, "lease", None)
            if current is not None and not current.lost:
                oracle.release(current.trial_id)
            raise
        finally:
            self.lease_guard.lease = None
        self.stop_reason = "the chief ended the search"
        self.result_store.refresh()
        self.on_search_end()

    def _still_held(self, trial: kt_trial.Trial) -> bool:
        """Renews the trial's lease now; whether it is still this worker's.

        Called before the trial's result and weights are written to the
        shared folder, so a worker whose trial went to another worker does
        not overwrite that worker's files (the renewal gives a whole lease
        for the writes).
        """
        answer = self.oracle.call("Renew", {"trial_id": trial.trial_id})
        return bool(answer.get("held"))

    def _next_trial(self) -> kt_trial.Trial | None:
        """The chief's next trial for this worker; ``None`` once it stops."""
        while True:
            trial = self.oracle.create_trial(self.tuner_id)
            if trial.status == kt_trial.TrialStatus.STOPPED:
                return None
            if trial.status != kt_trial.TrialStatus.IDLE:
                return trial
            time.sleep(IDLE_WAIT)

    # -- search(workers=N) ---------------------------------------------------------
    def search_with_workers(self, workers: int, fit_args: tuple, fit_kwargs: dict):
        """This process serves; ``workers`` processes run this script's trials.

        Each worker runs the command that started this process again (so
        the script must call `search` under ``if __name__ == "__main__":``)
        with keras-tuner's variables set; its lines are printed with a
        ``[worker-i]`` tag. Once the search ended it returns while the
        workers exit on their own; the process waits for them when it exits.
        """
        cluster = Cluster(
            tuner_id="chief",
            host="127.0.0.1",
            port=0,
            token=secrets.token_hex(16),
            lease=lease_from_env(),
        )
        command = script_command()
        processes = WorkerProcesses(command, workers)

        def start(port: int) -> None:
            processes.start(cluster.host, port, cluster.token, cluster.lease)

        def report() -> None:
            failed = processes.failures()
            if failed and self.verbose:
                print(f"chief: {failed}", file=sys.stderr, flush=True)

        try:
            self.serve_search(cluster, started=start, workers=processes)
        except KeyboardInterrupt as err:
            # No worker was told: each would finish its trial, then wait for
            # a chief that is gone. Their running trials rerun on resume.
            processes.stop(0.0, why=f"the search was {interrupt_reason(err)}")
            report()
            raise
        except BaseException:
            processes.stop()
            report()
            raise
        # Every worker was told the search ended: they exit on their own
        # while this process goes on (the refit), and it exits after them.
        processes.stop_later(then=report)


def environment_cluster() -> Cluster | None:
    """The cluster keras-tuner's variables describe (``None``: one process).

    A process a launcher started ends once the launcher has exited
    (`end_with_parent`).
    """
    cluster = Cluster.from_env(os.environ)
    if cluster is not None and cluster.parent is not None:
        end_with_parent(cluster.parent)
    return cluster
