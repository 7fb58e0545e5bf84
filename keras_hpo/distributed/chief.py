"""The chief: keras-tuner's oracle service, with leases, a token and an end.

`ChiefServer` serves a search's oracle to workers with keras-tuner's own
gRPC service (``OracleServicer``), and adds what its users found missing:

* **Leases.** A trial handed to a worker is that worker's while it renews
  its lease (``Renew``, the heartbeat, see `keras_hpo.distributed.wire`);
  when the lease expires (the worker was killed, its machine is gone) the
  trial goes back to the oracle's retry queue and the next worker that
  asks runs it. Only the trial's holder may report it: a worker whose
  lease expired and whose trial went to another worker is refused
  (``FAILED_PRECONDITION``), so nothing is counted twice. After a chief
  restart, the trials that were running are in the retry queue; their
  workers reclaim them by renewing, unless another worker took them first.
* **No early goodbye.** keras-tuner answers STOPPED as soon as ``max_trials``
  trials exist; then a worker whose trial fails or dies leaves it with no
  one to run it. The chief answers IDLE ("ask again") while any trial is
  running or waiting for a retry, and STOPPED only once none is.
* **An end.** `serve_until_done` returns once the search has ended and
  every worker heard so within a lease has been told (keras-tuner's chief
  waits for workers that may never come back, #344).
* **A token.** With a token, every call must carry it (gRPC metadata, a
  constant-time comparison); others get ``UNAUTHENTICATED``.
* **Limits.** ``should_stop`` (``max_time``, ``patience_trials``,
  ``target``) is asked before each new trial.
* **Running curves.** A worker whose search has a stopper tells the chief
  its running trial's curve after each epoch (``Progress``) and hears the
  curves of the trials other workers are running, so `MedianStopping` and
  `SuccessiveHalving` compare with them as with finished trials. They are
  kept in memory while the trials run.

Every oracle call holds one lock, so the oracle sees one call at a time, as
in a single process; the state files a call changed are written, synced
and renamed after it let go of the lock and before it answers (group
commit: the other calls go on while the disk syncs). It owns the serving
and the leases; it must not train or write trial results.
"""

from __future__ import annotations

import functools
import hmac
import threading
import time
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from keras_tuner.engine import trial as kt_trial

from keras_hpo import compat
from keras_hpo.distributed import wire
from keras_hpo.files import writes_done_on_exit
from keras_hpo.oracles.base import stop_reason

__all__ = ["ChiefServer"]

_STOPPED = kt_trial.TrialStatus.STOPPED
_RUNNING = kt_trial.TrialStatus.RUNNING
_IDLE = kt_trial.TrialStatus.IDLE


def _caller(context: grpc.ServicerContext) -> str:
    """The tuner ID a call carries in its metadata ("" if none)."""
    for key, value in context.invocation_metadata() or ():
        if key == wire.TUNER_ID_KEY:
            return value
    return ""


class _Gate(grpc.ServerInterceptor):
    """Refuses calls without the token; notes when each worker was heard."""

    def __init__(self, token: str | None, heard: Callable[[str], None]):
        self._token = token.encode("utf-8") if token else None
        self._heard = heard

    def intercept_service(self, continuation, handler_call_details):
        metadata = dict(handler_call_details.invocation_metadata or ())
        if self._token is not None:
            given = str(metadata.get(wire.TOKEN_KEY, "")).encode("utf-8")
            if not hmac.compare_digest(given, self._token):
                return grpc.unary_unary_rpc_method_handler(_refuse)
        tuner_id = metadata.get(wire.TUNER_ID_KEY)
        if tuner_id:
            self._heard(str(tuner_id))
        return continuation(handler_call_details)


def _refuse(request: Any, context: grpc.ServicerContext) -> None:
    context.abort(
        grpc.StatusCode.UNAUTHENTICATED,
        "this chief requires the search's token (KERAS_HPO_TOKEN)",
    )


def _servicer_base() -> type:
    """keras-tuner's servicer class (resolved once, through `compat`)."""
    return compat.oracle_servicer_class()


class ChiefServer:
    """Serves an oracle to workers until the search ends.

    Args:
        oracle: The search's oracle (it lives in this process).
        host: The address to listen on (``127.0.0.1`` unless told otherwise).
        port: The port (``0``: any free port; see `port` after `start`).
        token: The shared token every call must carry, or ``None``.
        lease: Seconds a trial stays its worker's without a heartbeat.
        should_stop: Returns why no new trial should start (``max_time``...),
            or ``None``; asked before each new trial.
        on_trial_end: Called with a trial's ID after the oracle ended it,
            holding the lock (the chief reads the worker's result then).
        threads: gRPC threads answering calls.
        log: Prints the chief's notices (lease expiries...).
        reserve: Keep the trials a restarted chief finds running for one
            lease, for the workers that may still run them; ``False`` when
            every worker is one this search started (none of an earlier
            run can be left), so they rerun at once.
    """

    def __init__(
        self,
        oracle: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        lease: float = 30.0,
        should_stop: Callable[[], str | None] | None = None,
        on_trial_end: Callable[[str], None] | None = None,
        threads: int = 16,
        log: Callable[[str], None] = print,
        reserve: bool = True,
    ):
        self.oracle = oracle
        self.reserve = reserve
        self.host = host
        self.port = port
        self.lease = float(lease)
        self.lock = threading.RLock()
        self._should_stop = should_stop or (lambda: None)
        self._on_trial_end = on_trial_end or (lambda trial_id: None)
        self._log = log
        #: Why the search ended (``None`` while it runs).
        self.stop_reason: str | None = None
        #: The oracle's error that ended the search (too many failed trials in
        #: a row...), raised by `serve_until_done`; ``None`` if none.
        self.failure: Exception | None = None
        #: Monotonic time each trial's lease ends, by trial ID.
        self.expiry: dict[str, float] = {}
        #: Monotonic time each worker was last heard, by tuner ID.
        self.heard: dict[str, float] = {}
        self._heard_lock = threading.Lock()
        #: Workers told that the search ended.
        self.told: set[str] = set()
        #: The worker that ended each trial this chief ended, by trial ID: its
        #: ``EndTrial`` sent again (the answer was lost) is answered again.
        self.ended_by: dict[str, str] = {}
        #: Leases that expired (a trial handed out again), for the record.
        self.expired: list[tuple[str, str]] = []
        #: Running trials' curves as their workers told (``Progress``): trial
        #: ID -> (execution or fold, objective per epoch, lower is better).
        self.running_curves: dict[str, tuple[int, list[float]]] = {}
        # Trials in the retry queue when serving starts (a restarted chief):
        # kept one lease for the workers that may still run them.
        self._reserved: set[str] = set()
        self._reserve_until = 0.0
        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=threads),
            interceptors=[_Gate(token, self._hear)],
            # gRPC lets a second server share a port (SO_REUSEPORT): another
            # search's chief would then take some of this one's workers.
            options=[("grpc.so_reuseport", 0)],
        )
        servicer = _make_servicer(self)
        _, service_grpc = compat.oracle_service()
        service_grpc.add_OracleServicer_to_server(servicer, self._server)
        self._server.add_generic_rpc_handlers((self._extension(),))

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> int:
        """Starts listening; returns the port.

        Raises:
            OSError: If the address cannot be bound (a port in use...).
        """
        host = f"[{self.host}]" if ":" in self.host else self.host
        try:
            port = self._server.add_insecure_port(f"{host}:{self.port}")
        except RuntimeError as err:
            port, cause = 0, err
        else:
            cause = None
        if not port:
            raise OSError(
                f"The chief cannot listen on {host}:{self.port} (a port in use, or "
                "an address not of this machine): pick another port (--chief "
                "HOST:PORT, or KERASTUNER_ORACLE_PORT), or an address of this "
                "machine."
            ) from cause
        self.port = port
        if self.reserve:
            with self.lock:
                self._reserved = set(compat.retry_queue(self.oracle))
                self._reserve_until = time.monotonic() + self.lease
        self._server.start()
        return port

    def done(self) -> bool:
        """Whether the search ended and every live worker was told."""
        with self.lock:
            if self.stop_reason is None:
                return False
            busy = bool(self.oracle.ongoing_trials) if self.failure else self._busy()
            if busy:
                return False
            now = time.monotonic()
            with self._heard_lock:
                heard = list(self.heard.items())
            return all(
                tuner_id in self.told or now - seen > self.lease
                for tuner_id, seen in heard
            )

    def serve_until_done(
        self, poll: float = 0.2, give_up: Callable[[], str | None] | None = None
    ) -> str:
        """Blocks until `done` (expiring leases meanwhile); returns the reason.

        Args:
            poll: Seconds between checks.
            give_up: Returns why to stop serving although the search has not
                ended (every worker process exited...), or ``None``.

        Raises:
            RuntimeError: If ``give_up`` said why.
            Exception: The oracle's error that ended the search (`failure`).
        """
        try:
            while not self.done():
                self.expire_leases()
                reason = give_up() if give_up else None
                if reason and not self.done():
                    raise RuntimeError(reason)
                time.sleep(poll)
            if self.failure is not None:
                raise self.failure
            return str(self.stop_reason)
        finally:
            self.stop()

    def stop(self, grace: float = 1.0) -> None:
        """Stops listening (calls in flight get ``grace`` seconds)."""
        self._server.stop(grace).wait()

    # -- leases ------------------------------------------------------------------
    def _hear(self, tuner_id: str) -> None:
        # (Called for every call before it waits for `lock`: a lock of its own.)
        with self._heard_lock:
            self.heard[tuner_id] = time.monotonic()

    def _busy(self) -> bool:
        """Whether a trial is running or waiting to run again."""
        return bool(self.oracle.ongoing_trials) or bool(compat.retry_queue(self.oracle))

    def holder(self, trial_id: str) -> str | None:
        """The worker whose lease holds a trial, or ``None``."""
        for tuner_id, trial in self.oracle.ongoing_trials.items():
            if trial.trial_id == trial_id:
                return tuner_id
        return None

    def claim(self, tuner_id: str, trial_id: str) -> bool:
        """Renews ``tuner_id``'s lease on a trial; whether it holds it.

        A trial waiting in the retry queue (its lease expired, or the chief
        restarted) goes back to the worker that still runs it, unless that
        worker now holds another trial.
        """
        with self.lock:
            holder = self.holder(trial_id)
            queue = compat.retry_queue(self.oracle)
            if holder is None and trial_id in queue and tuner_id:
                if tuner_id in self.oracle.ongoing_trials:
                    return False
                queue.remove(trial_id)
                trial = self.oracle.trials[trial_id]
                trial.status = _RUNNING
                self.oracle.ongoing_trials[tuner_id] = trial
                self.oracle.save()
                compat.oracle_display(self.oracle).on_trial_begin(trial)
                self._log(f"chief: {tuner_id} reclaimed trial {trial_id}")
                holder = tuner_id
            if holder != tuner_id:
                return False
            self.expiry[trial_id] = time.monotonic() + self.lease
            return True

    def expire_leases(self) -> list[str]:
        """Sends trials whose lease ended back to the retry queue; their IDs."""
        now = time.monotonic()
        gone = []
        with self.lock:
            for tuner_id, trial in list(self.oracle.ongoing_trials.items()):
                ends = self.expiry.setdefault(trial.trial_id, now + self.lease)
                if ends > now:
                    continue
                del self.oracle.ongoing_trials[tuner_id]
                compat.retry_queue(self.oracle).append(trial.trial_id)
                self.expiry.pop(trial.trial_id, None)
                self.expired.append((trial.trial_id, tuner_id))
                gone.append(trial.trial_id)
                self._log(
                    f"chief: {tuner_id} was silent for {self.lease:g}s: its trial "
                    f"{trial.trial_id} will run again"
                )
            if gone:
                self.oracle.save()
        return gone

    def release(self, tuner_id: str, trial_id: str) -> None:
        """A worker gives its trial back: it runs again on the next request."""
        with self.lock:
            if self.holder(trial_id) != tuner_id:
                return
            del self.oracle.ongoing_trials[tuner_id]
            compat.retry_queue(self.oracle).append(trial_id)
            self.expiry.pop(trial_id, None)
            self.oracle.save()

    def number(self, trial_id: str) -> int:
        """A trial's 1-based number in the search (the chief's order)."""
        order = self.oracle.start_order
        return order.index(trial_id) + 1 if trial_id in order else 0

    def progress(
        self, tuner_id: str, trial_id: str, execution: int, values: list[float]
    ) -> dict[str, list[float]]:
        """Keeps a running trial's curve; returns the other running trials'.

        The curve is kept only from the worker that holds the trial (and
        renews its lease, as a heartbeat does); curves of trials no longer
        running are dropped.

        Args:
            tuner_id: The worker.
            trial_id: Its running trial.
            execution: The execution or fold being trained.
            values: The objective after each epoch, lower is better.

        Returns:
            Trial ID -> curve of every other running trial, of the same
            execution or fold.
        """
        with self.lock:
            if self.claim(tuner_id, trial_id):
                self.running_curves[trial_id] = (execution, values)
            running = {t.trial_id for t in self.oracle.ongoing_trials.values()}
            for gone in set(self.running_curves) - running:
                del self.running_curves[gone]
            return {
                other: curve
                for other, (done, curve) in self.running_curves.items()
                if other != trial_id and done == execution
            }

    # -- trials ------------------------------------------------------------------
    def create_trial(self, tuner_id: str) -> kt_trial.Trial:
        """The oracle's next trial for a worker (see the module docstring)."""
        with self.lock:
            running = self.oracle.ongoing_trials.get(tuner_id)
            if running is not None:  # a restarted worker: its trial again
                self.expiry[running.trial_id] = time.monotonic() + self.lease
                return running
            reason = self.stop_reason if self.failure else None
            if reason is None and not compat.retry_queue(self.oracle):
                reason = self._should_stop()
            trial = None if reason else self._next_trial(tuner_id)
            if trial is not None and trial.status != _STOPPED:
                if trial.status == _RUNNING:
                    self.expiry[trial.trial_id] = time.monotonic() + self.lease
                return trial
            if self._busy() and not self.failure:  # a trial may come back: wait
                self.oracle.tuner_ids.add(tuner_id)
                return self._placeholder(_IDLE)
            if self.stop_reason is None:
                self.stop_reason = reason or stop_reason(self.oracle)
            self.told.add(tuner_id)
            self.oracle.tuner_ids.discard(tuner_id)
            return self._placeholder(_STOPPED)

    def _next_trial(self, tuner_id: str) -> kt_trial.Trial:
        """The oracle's answer, keeping reserved trials for their workers."""
        queue = compat.retry_queue(self.oracle)
        kept = []
        if time.monotonic() < self._reserve_until:
            kept = [t for t in queue if t in self._reserved]
            queue[:] = [t for t in queue if t not in self._reserved]
        try:
            return self.oracle.create_trial(tuner_id)
        finally:
            queue[:0] = kept  # the oracle takes retries from the end

    def _placeholder(self, status: str) -> kt_trial.Trial:
        return kt_trial.Trial(
            compat.copy_hyperparameters(self.oracle.hyperparameters), status=status
        )

    def end_trial(self, tuner_id: str, trial: kt_trial.Trial) -> bool:
        """Ends a worker's trial in the oracle; whether the worker held it.

        The worker that ended a trial, asking again (the chief's answer was
        lost on the way), is told yes, and nothing changes.
        """
        with self.lock:
            if (
                tuner_id
                and self.ended_by.get(trial.trial_id) == tuner_id
                and self.holder(trial.trial_id) is None
            ):
                return True
            if not self.claim(tuner_id, trial.trial_id):
                return False
            self.ended_by[trial.trial_id] = tuner_id
            # Dropped from the running trials first: keras-tuner's end_trial
            # saves before it drops it, and a restart would run it again.
            del self.oracle.ongoing_trials[tuner_id]
            self.expiry.pop(trial.trial_id, None)
            try:
                self.oracle.end_trial(trial)
            except Exception as err:  # noqa: BLE001 - it ends the search, not the call
                # As in one process (max_consecutive_failed_trials...): the
                # search stops; running trials may finish, none starts.
                self.failure = err
                self.stop_reason = f"error: {type(err).__name__}: {err}"
                self.oracle.save()
                self._log(f"chief: the search stops: {self.stop_reason}")
            self._on_trial_end(trial.trial_id)
            return True

    # -- keras_hpo's service -------------------------------------------------------
    def _extension(self) -> grpc.GenericRpcHandler:
        def handler(call):
            def answer(request, context):
                with writes_done_on_exit():
                    return call(_caller(context), request)

            return grpc.unary_unary_rpc_method_handler(
                answer,
                request_deserializer=wire.decode,
                response_serializer=wire.encode,
            )

        return grpc.method_handlers_generic_handler(
            wire.EXTENSION,
            {
                "Hello": handler(
                    lambda tuner_id, request: {
                        "seed": int(getattr(self.oracle, "seed", 0) or 0),
                        "lease": self.lease,
                    }
                ),
                "Renew": handler(
                    lambda tuner_id, request: {
                        "held": self.claim(tuner_id, str(request["trial_id"])),
                        "number": self.number(str(request["trial_id"])),
                    }
                ),
                "Progress": handler(
                    lambda tuner_id, request: {
                        "curves": self.progress(
                            tuner_id,
                            str(request["trial_id"]),
                            int(request.get("execution", 0)),
                            [float(v) for v in request.get("values", [])],
                        )
                    }
                ),
                "Release": handler(
                    lambda tuner_id, request: (
                        self.release(tuner_id, str(request["trial_id"])) or {}
                    )
                ),
            },
        )


def _make_servicer(chief: ChiefServer) -> Any:
    """keras-tuner's servicer, with every call under the chief's rules."""
    base = _servicer_base()
    service, _ = compat.oracle_service()

    class Servicer(base):
        @_writes_then_answer
        def CreateTrial(self, request, context):  # noqa: D102, N802
            trial = chief.create_trial(request.tuner_id)
            if trial.status == _RUNNING:  # its number rides along, as metadata
                number = str(chief.number(trial.trial_id))
                context.set_trailing_metadata(((wire.NUMBER_KEY, number),))
            return service.CreateTrialResponse(trial=trial.to_proto())

        @_writes_then_answer
        def UpdateTrial(self, request, context):  # noqa: D102, N802
            with chief.lock:
                if not chief.claim(_caller(context), request.trial_id):
                    _lost(context, request.trial_id)
                return super().UpdateTrial(request, context)

        @_writes_then_answer
        def EndTrial(self, request, context):  # noqa: D102, N802
            trial = kt_trial.Trial.from_proto(request.trial)
            if not chief.end_trial(_caller(context), trial):
                _lost(context, trial.trial_id)
            # The worker reads the oracle's verdict next: it rides along.
            with chief.lock:
                ended = chief.oracle.trials[trial.trial_id].to_proto()
            verdict = service.GetTrialResponse(trial=ended).SerializeToString()
            if len(verdict) <= wire.ENDED_MAX_BYTES:
                context.set_trailing_metadata(((wire.ENDED_KEY, verdict),))
            return service.EndTrialResponse()

    # keras-tuner's other calls, as they are, one at a time.
    for name in ("GetSpace", "UpdateSpace", "GetTrial", "GetBestTrials"):
        setattr(Servicer, name, _locked(getattr(base, name), chief.lock))
    return Servicer(chief.oracle)


def _locked(call: Callable, lock: threading.RLock) -> Callable:
    """``call`` holding ``lock``, its writes done before it answers."""

    def locked(self, request, context):
        with writes_done_on_exit(), lock:
            return call(self, request, context)

    return locked


def _writes_then_answer(call: Callable) -> Callable:
    """``call`` writes the state files it changed once it let go of the lock.

    The oracle's lock is then not held while the disk syncs (the other
    calls go on meanwhile), and the answer still leaves after the files are
    on disk (`keras_hpo.files.writes_done_on_exit`).
    """

    @functools.wraps(call)
    def answer(self, request, context):
        with writes_done_on_exit():
            return call(self, request, context)

    return answer


def _lost(context: grpc.ServicerContext, trial_id: str) -> None:
    context.abort(
        grpc.StatusCode.FAILED_PRECONDITION,
        f"trial {trial_id} is not this worker's: its lease expired and another "
        "worker runs it",
    )
