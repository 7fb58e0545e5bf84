"""A worker's side: the chief's oracle by gRPC, and the lease on each trial.

`WorkerOracle` is keras-tuner's ``OracleClient`` (a worker's tuner talks to
it as to an oracle) with what a keras_hpo worker needs besides:

* every call carries the token and the worker's tuner ID (metadata);
* a chief that does not answer (starting, or restarting after a crash) is
  waited for up to ``chief_timeout`` seconds, then `ChiefUnreachable` ends
  the worker (keras-tuner waits an hour, #645, #990);
* the search's seed and each trial's number come from the chief, so a
  trial trains with the same seed and shows the same number in every
  worker's output as in a single process (#652);
* the local oracle's space, objective and limits answer the attributes
  keras-tuner's client does not forward;
* once the chief said the search ended (it may stop serving any moment),
  `get_space` answers with the last space the chief sent, and `get_trial`
  with the trial's file in the shared project folder, without a call.

`Lease` renews a trial's lease in a background thread while the worker
trains it (the heartbeat), and says when the lease was lost.

It owns the wire calls of a worker; it must not train or write results.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import grpc
from keras_tuner import errors as kt_errors
from keras_tuner.engine import hyperparameters as kt_hp
from keras_tuner.engine import trial as kt_trial

from keras_hpo import compat
from keras_hpo.distributed import wire
from keras_hpo.distributed.settings import ENV_CHIEF_TIMEOUT
from keras_hpo.distributed.settings import ENV_TOKEN
from keras_hpo.distributed.settings import Cluster
from keras_hpo.files import TRIAL_ID
from keras_hpo.files import read_json

__all__ = ["ChiefUnreachable", "Lease", "LeaseLost", "WorkerOracle"]

#: How often a worker tries again to reach a chief that is not there yet (it
#: starts, or restarts after a crash): every 0.1 s at first, then at most
#: every 0.5 s. gRPC's default backs off to 2 minutes, so a worker that
#: started before its chief, or waited through a restart, could notice it
#: only seconds or minutes after it serves.
_RECONNECT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
)

#: Seconds between a call the chief dropped (killed or restarting while the
#: call was in flight: ``UNAVAILABLE``) and the same call again.
_AGAIN_AFTER = 0.5

#: Seconds a worker waits for the chief to answer ``GetTrial`` after the
#: search ended (the chief may have stopped serving; see `get_trial`).
_AFTER_THE_END_TIMEOUT = 5.0

#: The local oracle's attributes a worker reads (keras-tuner forwards 4).
_FORWARDED = frozenset(
    {
        "objective",
        "max_trials",
        "allow_new_entries",
        "tune_new_entries",
        "hyperparameters",
        "adaptive",
        "get_grid",
    }
)


class ChiefUnreachable(kt_errors.FatalError):
    """The chief did not answer, or refused this worker: the worker stops."""


class LeaseLost(kt_errors.FatalError):
    """The chief gave this worker's trial to another worker.

    Fatal for the trial's run in this worker (its result is discarded), not
    for the worker: it asks for the next trial.
    """


class WorkerOracle(compat.oracle_client_class()):
    """The chief's oracle, seen from a worker (see the module docstring).

    Args:
        oracle: The worker's own oracle (built from the same arguments as
            the chief's): it answers for the space and the objective.
        cluster: Where the chief is, this worker's ID, the token.
    """

    def __init__(self, oracle: Any, cluster: Cluster):
        self._oracle = oracle
        self.cluster = cluster
        self.tuner_id = cluster.tuner_id
        self.multi_worker = False
        self.should_report = True
        self.verbose = 0
        self._metadata = [(wire.TUNER_ID_KEY, cluster.tuner_id)]
        if cluster.token:
            self._metadata.append((wire.TOKEN_KEY, cluster.token))
        host = f"[{cluster.host}]" if ":" in cluster.host else cluster.host
        self.channel = grpc.insecure_channel(
            f"{host}:{cluster.port}", options=_RECONNECT_OPTIONS
        )
        service, service_grpc = compat.oracle_service()
        self._service = service
        self.stub = service_grpc.OracleStub(self.channel)
        self._extension = {
            name: self.channel.unary_unary(
                wire.method(name),
                request_serializer=wire.encode,
                response_deserializer=wire.decode,
            )
            for name in ("Hello", "Renew", "Release", "Progress")
        }
        #: The trials this worker started, in order.
        self.start_order: list[str] = []
        #: The chief's number of each trial this worker ran.
        self.numbers: dict[str, int] = {}
        self._hello: dict[str, Any] | None = None
        #: Whether the chief said the search ended (``create_trial``: STOPPED).
        self.ended = False
        self._space: kt_hp.HyperParameters | None = None
        #: The hyperparameters' names in the order this worker declared them.
        self._declared: list[str] = []
        #: ``(trial ID, serialised GetTrialResponse)`` of the trial just ended.
        self._verdict: tuple[str, bytes] | None = None

    @property
    def local_oracle(self) -> Any:
        """The worker's own oracle (the chief's is of the same class)."""
        return self._oracle

    def __getattr__(self, name: str) -> Any:
        local = self.__dict__.get("_oracle")
        if name in _FORWARDED and local is not None:
            return getattr(local, name)
        raise AttributeError(f"`WorkerOracle` object has no attribute {name!r}")

    # -- calls -------------------------------------------------------------------
    def call(
        self,
        name: str,
        request: Any,
        timeout: float | None = None,
        *,
        full: bool = False,
    ) -> Any:
        """Calls the chief, waiting for it up to ``chief_timeout`` seconds.

        Args:
            name: The method (keras-tuner's, or ``Hello``, ``Renew``...).
            request: Its request.
            timeout: Seconds to wait (default: ``chief_timeout``).
            full: Return ``(response, trailing metadata)``.

        Raises:
            ChiefUnreachable: If it did not answer in time or refused the token.
            LeaseLost: If it says the trial is another worker's now.
        """
        method = self._extension.get(name) or getattr(self.stub, name)
        wait = timeout or self.cluster.chief_timeout
        deadline = time.monotonic() + wait
        while True:
            try:
                response, call = method.with_call(
                    request,
                    wait_for_ready=True,
                    timeout=max(deadline - time.monotonic(), 1e-3),
                    metadata=self._metadata,
                )
                trailing = dict(call.trailing_metadata() or ())
                return (response, trailing) if full else response
            except grpc.RpcError as err:
                code = err.code() if hasattr(err, "code") else None
                if (
                    code == grpc.StatusCode.UNAVAILABLE
                    and time.monotonic() + _AGAIN_AFTER < deadline
                ):
                    # The chief went away with the call in flight (killed, or
                    # restarting): ask again, as for a chief not yet there.
                    # Every call is safe to repeat: the chief answers a
                    # worker's trial again, and a trial's end it already took.
                    time.sleep(_AGAIN_AFTER)
                    continue
                if code == grpc.StatusCode.FAILED_PRECONDITION:
                    raise LeaseLost(err.details()) from None
                if code == grpc.StatusCode.UNAUTHENTICATED:
                    raise ChiefUnreachable(
                        f"The chief at {self.cluster.address} refused this worker: "
                        f"{err.details()}. Set {ENV_TOKEN} to the chief's token."
                    ) from None
                if code in (
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                ):
                    raise ChiefUnreachable(
                        f"The chief at {self.cluster.address} did not answer for "
                        f"{wait:g}s ({ENV_CHIEF_TIMEOUT} sets how long workers "
                        "wait): is it running, and is the address right?"
                    ) from None
                raise

    def hello(self) -> dict[str, Any]:
        """What the chief tells every worker once: the seed, the lease."""
        if self._hello is None:
            self._hello = self.call("Hello", {})
        return self._hello

    @property
    def seed(self) -> int:
        """The search's seed, the chief's."""
        return int(self.hello()["seed"])

    @property
    def lease(self) -> float:
        """Seconds a trial's lease lasts on the chief."""
        return float(self.hello()["lease"])

    def trial_number(self, trial_id: str) -> int | None:
        """A trial's number in the search, as the chief counts."""
        return self.numbers.get(trial_id)

    # -- keras-tuner's oracle calls -----------------------------------------------
    def get_space(self) -> kt_hp.HyperParameters:
        """The chief's space (after the search ended: the last one it sent)."""
        if not self.ended:
            response = self.call("GetSpace", self._service.GetSpaceRequest())
            self._space = kt_hp.HyperParameters.from_proto(response.hyperparameters)
        elif self._space is None:
            self._space = self._oracle.get_space()
        return self._space.copy()

    def update_space(self, hyperparameters: kt_hp.HyperParameters) -> None:
        """Sends the space to the chief, noting the order of its names."""
        known = set(self._declared)
        self._declared += [
            hp.name for hp in hyperparameters.space if hp.name not in known
        ]
        self.call(
            "UpdateSpace",
            self._service.UpdateSpaceRequest(
                hyperparameters=hyperparameters.to_proto()
            ),
        )

    def _trial(self, proto: Any) -> kt_trial.Trial:
        """A trial from the wire, its values in the order they were declared.

        keras-tuner's message groups a space by the kind of hyperparameter
        (fixed, floats, ints, choices...), so a trial read from it lists its
        values in another order than the same trial in one process: its
        progress line, its ``result.json`` and the search's ``cv_results_``
        columns would differ. Names this worker did not declare follow, in
        the message's order. The order is that of this worker's own oracle
        (its tuner declared the space there) and of what it sent the chief.
        """
        trial = kt_trial.Trial.from_proto(proto)
        values = trial.hyperparameters.values
        local = getattr(self._oracle, "hyperparameters", None)
        declared = [hp.name for hp in local.space] if local is not None else []
        declared += [name for name in self._declared if name not in declared]
        first = [name for name in declared if name in values]
        if first:
            order = first + [name for name in values if name not in first]
            trial.hyperparameters.values = {name: values[name] for name in order}
        return trial

    def create_trial(self, tuner_id: str) -> kt_trial.Trial:
        """The chief's next trial for this worker (its number noted)."""
        response, trailing = self.call(
            "CreateTrial",
            self._service.CreateTrialRequest(tuner_id=tuner_id),
            full=True,
        )
        trial = self._trial(response.trial)
        if trial.status == kt_trial.TrialStatus.STOPPED:
            self.ended = True
        if trial.status == kt_trial.TrialStatus.RUNNING:
            number = trailing.get(wire.NUMBER_KEY)
            if number is None:  # an older chief: ask
                number = self.call("Renew", {"trial_id": trial.trial_id})["number"]
            self.numbers[trial.trial_id] = int(number)
            if trial.trial_id not in self.start_order:
                self.start_order.append(trial.trial_id)
        return trial

    def update_trial(self, trial_id: str, metrics: dict, step: int = 0):  # noqa: D102
        response = self.call(
            "UpdateTrial",
            self._service.UpdateTrialRequest(
                trial_id=trial_id, metrics=metrics, step=step
            ),
        )
        return self._trial(response.trial)

    def end_trial(self, trial: kt_trial.Trial) -> None:
        """Ends a trial on the chief, keeping the verdict its answer carries."""
        self._verdict = None
        _, trailing = self.call(
            "EndTrial",
            self._service.EndTrialRequest(trial=trial.to_proto()),
            full=True,
        )
        verdict = trailing.get(wire.ENDED_KEY)
        if verdict is not None:
            self._verdict = (trial.trial_id, verdict)

    def get_trial(self, trial_id: str) -> kt_trial.Trial:
        """A trial as the chief has it.

        Right after `end_trial`, the ended trial comes from the chief's
        answer to it (once): an ended trial changes no more until it is
        retried, and a worker reads it then to record the verdict.
        """
        verdict, self._verdict = self._verdict, None
        if verdict is not None and verdict[0] == trial_id:
            response = self._service.GetTrialResponse.FromString(verdict[1])
        elif self.ended:
            return self._trial_after_the_end(trial_id)
        else:
            response = self.call(
                "GetTrial", self._service.GetTrialRequest(trial_id=trial_id)
            )
        return self._trial(response.trial)

    def _trial_after_the_end(self, trial_id: str) -> kt_trial.Trial:
        """A trial once the chief said the search ended: from its file.

        The chief may have stopped serving by then (a search callback's
        ``on_search_end`` in a worker would wait for it, then be ended). No
        trial runs any more, and the chief wrote each one's ``trial.json``
        in the project folder before it answered its end, so a worker that
        shares that folder reads it there. Otherwise the chief is asked, for
        a few seconds only.

        Raises:
            ChiefUnreachable: If the file is not there and the chief does
                not answer.
        """
        folder = compat.oracle_project_path(self._oracle)
        path = None
        if folder is not None and TRIAL_ID.match(trial_id):
            path = os.path.join(folder, f"trial_{trial_id}", "trial.json")
            if os.path.isfile(path):
                return kt_trial.Trial.from_state(read_json(path))
        try:
            response = self.call(
                "GetTrial",
                self._service.GetTrialRequest(trial_id=trial_id),
                timeout=_AFTER_THE_END_TIMEOUT,
            )
        except ChiefUnreachable:
            raise ChiefUnreachable(
                f"The search ended and the chief at {self.cluster.address} no "
                f"longer answers, and trial {trial_id} has no file in this "
                f"worker's project folder ({path or 'none'}): read the trials in "
                "the chief's process, or give the workers the chief's project "
                "folder (a shared disk)."
            ) from None
        return self._trial(response.trial)

    def get_best_trials(self, num_trials: int = 1) -> list[kt_trial.Trial]:  # noqa: D102
        response = self.call(
            "GetBestTrials", self._service.GetBestTrialsRequest(num_trials=num_trials)
        )
        return [self._trial(t) for t in response.trials]

    def release(self, trial_id: str) -> None:
        """Gives a trial back to the chief at once (best effort)."""
        try:
            self.call("Release", {"trial_id": trial_id}, timeout=5.0)
        except (ChiefUnreachable, LeaseLost, grpc.RpcError):
            pass

    def share_progress(
        self, trial_id: str, execution: int, values: list[float]
    ) -> dict[str, list[float]]:
        """Gives the chief a running trial's curve; the other running trials'.

        Best effort, as a stopper's view of the search may lag: a chief that
        does not answer within 5 s (restarting) gives no curves.

        Args:
            trial_id: This worker's running trial.
            execution: The execution or fold being trained.
            values: Its objective after each epoch, lower is better.

        Returns:
            Trial ID -> curve of every other running trial (same execution).
        """
        request = {"trial_id": trial_id, "execution": execution, "values": values}
        try:
            answer = self.call("Progress", request, timeout=5.0)
        except (ChiefUnreachable, grpc.RpcError):
            return {}
        return {
            str(other): [float(v) for v in curve]
            for other, curve in answer.get("curves", {}).items()
        }

    def close(self) -> None:
        """Closes the connection."""
        self.channel.close()


class Lease:
    """Renews a trial's lease in the background while the worker trains it.

    Four renewals per lease period; a renewal that fails (the chief is
    restarting) is retried at the next beat. `lost` turns true when the
    chief answers that the trial is no longer this worker's.

    Args:
        oracle: The worker's `WorkerOracle`.
        trial_id: The trial.
    """

    def __init__(self, oracle: WorkerOracle, trial_id: str):
        self.oracle = oracle
        self.trial_id = trial_id
        self.lost = False
        #: Monotonic time of the last renewal the chief granted.
        self.renewed = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lease-{trial_id}", daemon=True
        )

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        interval = self.oracle.lease / 4
        while not self._stop.wait(interval):
            try:
                answer = self.oracle.call(
                    "Renew", {"trial_id": self.trial_id}, timeout=interval
                )
            except (ChiefUnreachable, grpc.RpcError):
                continue  # the chief is away; the next beat tries again
            if not answer.get("held"):
                self.lost = True
                return
            self.renewed = time.monotonic()

    def confirm(self) -> bool:
        """Whether the trial is still this worker's, before files are written.

        The chief is asked only when the last renewal is over half a lease
        old: a process paused (SIGSTOP, a laptop's sleep) past its lease
        would otherwise write an epoch into the trial another worker runs
        now before its heartbeat learns it. A chief that does not answer
        (restarting) is no answer: the heartbeat decides.
        """
        if self.lost:
            return False
        if time.monotonic() - self.renewed < self.oracle.lease / 2:
            return True
        try:
            answer = self.oracle.call(
                "Renew", {"trial_id": self.trial_id}, timeout=self.oracle.lease / 4
            )
        except (ChiefUnreachable, grpc.RpcError):
            return True
        if not answer.get("held"):
            self.lost = True
            return False
        self.renewed = time.monotonic()
        return True
