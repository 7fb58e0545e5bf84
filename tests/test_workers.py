"""Many workers, one search: the chief's rules, and real processes on loopback.

The first tests drive a real `ChiefServer` over gRPC from real
`WorkerOracle` clients in this process (leases, the token, the address it
listens on, the end of a search). The others start real processes of
``tests/workers_script.py``: ``search(workers=2)``, ``keras-hpo launch``,
and workers or a chief SIGKILLed mid-trial.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import keras_tuner
import numpy as np
import pytest
import workers_script  # tests/ is on sys.path, as for conftest
from keras_hpo.callbacks.tensorboard import IMPORTANCE_AFTER
from tb_reading import event_files
from tb_reading import read_logs

from keras_hpo import compat
from keras_hpo.distributed import ChiefServer
from keras_hpo.distributed import ChiefUnreachable
from keras_hpo.distributed import Cluster
from keras_hpo.distributed import LeaseLost
from keras_hpo.distributed import WorkerOracle
from keras_hpo.distributed import launch
from keras_hpo.distributed import wire
from keras_hpo.distributed.launch import WorkerProcesses
from keras_hpo.distributed.launch import free_port
from keras_hpo.distributed.launch import worker_environment
from keras_hpo.distributed.settings import lease_from_env
from keras_hpo.distributed.settings import parse_address
from keras_hpo.errors import ConfigError
from keras_hpo.oracles import RandomOracle

# The module (`keras_hpo.distributed.launch` is also the name of its function).
launch_module = sys.modules[WorkerProcesses.__module__]
REPO = Path(__file__).resolve().parents[1]
SCRIPT = str(REPO / "tests" / "workers_script.py")
#: Fields of result.json that are wall-clock times.
TIMES = ("seconds", "fit_seconds", "score_seconds")


def _oracle(directory=None, max_trials=3, seed=3):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    oracle = RandomOracle(
        objective=keras_tuner.Objective("score", "min"),
        max_trials=max_trials,
        hyperparameters=hp,
        seed=seed,
    )
    if directory is not None:
        oracle._set_project_dir(str(directory), "search")
    oracle.verbose = 0  # as the tuners set it
    return oracle


def _worker(name, port, token="t0k3n", timeout=10.0):
    local = _oracle()  # a worker's own oracle: its space and objective
    cluster = Cluster(name, "127.0.0.1", port, token=token, chief_timeout=timeout)
    return WorkerOracle(local, cluster)


def _finish(worker, trial, score=0.5):
    worker.update_trial(trial.trial_id, {"score": score})
    trial.status = "COMPLETED"
    worker.end_trial(trial)


@pytest.fixture
def chief(tmp_path):
    server = ChiefServer(
        _oracle(tmp_path), token="t0k3n", lease=1.0, log=lambda s: None
    )
    server.start()
    yield server
    server.stop(0)


# -- the token -------------------------------------------------------------------
def test_a_call_without_the_token_is_refused(chief):
    channel = grpc.insecure_channel(f"127.0.0.1:{chief.port}")
    hello = channel.unary_unary(
        wire.method("Hello"),
        request_serializer=wire.encode,
        response_deserializer=wire.decode,
    )
    for metadata in ([], [(wire.TOKEN_KEY, "wrong")]):
        with pytest.raises(grpc.RpcError) as err:
            hello({}, metadata=metadata, timeout=5)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # keras-tuner's own service is behind the same gate.
    service, service_grpc = compat.oracle_service()
    with pytest.raises(grpc.RpcError) as err:
        service_grpc.OracleStub(channel).GetSpace(service.GetSpaceRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert hello({}, metadata=[(wire.TOKEN_KEY, "t0k3n")], timeout=5) == {
        "seed": 3,
        "lease": 1.0,
    }
    with pytest.raises(ChiefUnreachable, match="refused this worker.*KERAS_HPO_TOKEN"):
        _worker("worker-0", chief.port, token="wrong").hello()
    assert chief.oracle.trials == {}  # nothing was handed out


# -- the address -----------------------------------------------------------------
def _decode(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: 32-bit words in little-endian order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def _listening_addresses(port: int) -> list:
    """Local addresses of sockets listening on ``port`` (from /proc/net)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                found.append(_decode(address))
    return found


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_chief_listens_on_loopback_only_by_default(chief):
    assert chief.host == "127.0.0.1"
    listening = _listening_addresses(chief.port)
    assert listening  # gRPC may bind 127.0.0.1 as ::ffff:127.0.0.1
    for address in listening:
        mapped = getattr(address, "ipv4_mapped", None)
        assert str(mapped or address) == "127.0.0.1"
    other = _non_loopback_address()
    if other is not None:
        with pytest.raises(OSError):
            socket.create_connection((other, chief.port), timeout=2).close()


def test_a_chief_beyond_loopback_needs_a_token(monkeypatch):
    env = {
        "KERASTUNER_TUNER_ID": "chief",
        "KERASTUNER_ORACLE_IP": "0.0.0.0",
        "KERASTUNER_ORACLE_PORT": "8765",
    }
    with pytest.raises(ConfigError, match="KERASTUNER_ORACLE_IP.*KERAS_HPO_TOKEN"):
        Cluster.from_env(env)
    assert Cluster.from_env({**env, "KERAS_HPO_TOKEN": "s"}).host == "0.0.0.0"
    monkeypatch.delenv("KERAS_HPO_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="not a loopback address"):
        launch(["true"], 1, chief=("0.0.0.0", 8765))


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"KERASTUNER_ORACLE_PORT": "x"}, "KERASTUNER_ORACLE_PORT.*Received"),
        ({"KERASTUNER_TUNER_ID": ""}, "KERASTUNER_TUNER_ID.*must name"),
        ({"KERAS_HPO_LEASE": "0"}, "KERAS_HPO_LEASE.*seconds > 0"),
        ({"KERAS_HPO_PARENT": "-3"}, "KERAS_HPO_PARENT.*process ID of the launcher"),
    ],
)
def test_bad_environment_is_named(env, match):
    base = {
        "KERASTUNER_TUNER_ID": "worker-0",
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": "8765",
    }
    with pytest.raises(ConfigError, match=match):
        Cluster.from_env({**base, **env})
    assert Cluster.from_env({}) is None


def test_an_unreachable_chief_ends_the_worker_after_its_timeout():
    worker = _worker("worker-0", free_port(), timeout=1.0)
    start = time.monotonic()
    with pytest.raises(ChiefUnreachable, match="did not answer for 1s"):
        worker.hello()
    assert time.monotonic() - start < 5


# -- leases ------------------------------------------------------------------------
def test_an_expired_lease_hands_the_trial_out_again_and_refuses_the_late_worker(
    chief,
):
    slow, other = _worker("worker-0", chief.port), _worker("worker-1", chief.port)
    trial = slow.create_trial("worker-0")
    assert slow.numbers == {trial.trial_id: 1}
    time.sleep(1.3)  # no heartbeat for longer than the 1 s lease
    assert chief.expire_leases() == [trial.trial_id]
    again = other.create_trial("worker-1")
    assert again.trial_id == trial.trial_id
    assert other.numbers[trial.trial_id] == 1  # the chief's number, everywhere
    with pytest.raises(LeaseLost, match="another worker runs it"):
        _finish(slow, trial)
    _finish(other, again)
    assert chief.oracle.end_order == [trial.trial_id]
    assert chief.expired == [(trial.trial_id, "worker-0")]


def test_a_heartbeat_keeps_the_lease(chief):
    from keras_hpo.distributed import Lease

    worker = _worker("worker-0", chief.port)
    trial = worker.create_trial("worker-0")
    with Lease(worker, trial.trial_id) as lease:
        for _ in range(6):  # 1.8 s: longer than the lease
            time.sleep(0.3)
            assert chief.expire_leases() == []
    assert not lease.lost
    _finish(worker, trial)
    assert chief.oracle.end_order == [trial.trial_id]


def test_a_worker_reads_the_trial_it_ended_from_the_chief_s_answer(chief, monkeypatch):
    """No ``GetTrial`` call for the verdict, unless the trial is too large."""
    worker = _worker("worker-0", chief.port)
    calls = []
    call = worker.call

    def counted(name, *args, **kwargs):
        calls.append(name)
        return call(name, *args, **kwargs)

    monkeypatch.setattr(worker, "call", counted)
    trial = worker.create_trial("worker-0")
    _finish(worker, trial, score=0.25)
    ended = worker.get_trial(trial.trial_id)
    assert calls == ["CreateTrial", "UpdateTrial", "EndTrial"]
    assert ended.status == "COMPLETED" and ended.score == 0.25
    assert ended.get_state() == chief.oracle.trials[trial.trial_id].get_state()
    # Once: the next read asks the chief.
    assert worker.get_trial(trial.trial_id).score == 0.25
    assert calls[-1] == "GetTrial"
    # A trial over the limit is not sent along; the worker asks for it.
    monkeypatch.setattr(wire, "ENDED_MAX_BYTES", 10)
    second = worker.create_trial("worker-0")
    _finish(worker, second, score=0.75)
    calls.clear()
    assert worker.get_trial(second.trial_id).score == 0.75
    assert calls == ["GetTrial"]


def test_after_the_end_a_worker_reads_trials_from_the_shared_folder(
    tmp_path, monkeypatch
):
    """The chief may be gone: a callback's ``on_search_end`` must not wait."""
    server = ChiefServer(
        _oracle(tmp_path, max_trials=2), token="t0k3n", lease=5.0, log=print
    )
    server.start()
    local = _oracle(tmp_path)  # the worker shares the chief's project folder
    cluster = Cluster(
        "worker-0", "127.0.0.1", server.port, token="t0k3n", chief_timeout=10.0
    )
    worker = WorkerOracle(local, cluster)
    ended = []
    while (trial := worker.create_trial("worker-0")).status != "STOPPED":
        _finish(worker, trial, score=0.5 + len(ended))
        ended.append(trial.trial_id)
    assert worker.ended and len(ended) == 2
    server.stop(0)
    started = time.monotonic()
    first = worker.get_trial(ended[0])
    assert time.monotonic() - started < 5  # no wait for the chief (10 s)
    assert first.status == "COMPLETED" and first.score == 0.5
    assert first.get_state() == server.oracle.trials[ended[0]].get_state()
    # Without its file (no shared folder), the chief is asked briefly.
    client = sys.modules[WorkerOracle.__module__]
    monkeypatch.setattr(client, "_AFTER_THE_END_TIMEOUT", 0.5)
    with pytest.raises(ChiefUnreachable, match="ended.*no longer answers.*trial 9999"):
        worker.get_trial("9999")


def test_workers_see_each_other_s_running_curves_through_the_chief(chief):
    first, second = _worker("worker-0", chief.port), _worker("worker-1", chief.port)
    a = first.create_trial("worker-0")
    b = second.create_trial("worker-1")
    assert first.share_progress(a.trial_id, 0, [0.5]) == {}
    assert second.share_progress(b.trial_id, 0, [0.4, 0.3]) == {a.trial_id: [0.5]}
    assert first.share_progress(a.trial_id, 0, [0.5, 0.6]) == {b.trial_id: [0.4, 0.3]}
    # Another execution (or fold) is another curve.
    assert first.share_progress(a.trial_id, 1, [0.2]) == {}
    # A worker that does not hold the trial is not heard; an ended trial's
    # curve is gone (its result is on disk).
    assert second.share_progress(a.trial_id, 1, [9.0]) == {}
    assert chief.running_curves[a.trial_id] == (1, [0.2])
    _finish(first, a)
    assert second.share_progress(b.trial_id, 1, [0.1]) == {}
    assert set(chief.running_curves) == {b.trial_id}
    # Telling the chief renews the lease, as a heartbeat does.
    for _ in range(5):  # 1.5 s: longer than the 1 s lease
        time.sleep(0.3)
        second.share_progress(b.trial_id, 1, [0.1])
        assert chief.expire_leases() == []


def test_the_chief_says_idle_while_a_running_trial_may_come_back(tmp_path):
    server = ChiefServer(
        _oracle(tmp_path, max_trials=1), token=None, lease=1.0, log=lambda s: None
    )
    server.start()
    try:
        first, second = (
            _worker("w0", server.port, None),
            _worker("w1", server.port, None),
        )
        trial = first.create_trial("w0")
        assert second.create_trial("w1").status == "IDLE"  # not STOPPED: w0 may die
        assert not server.done()
        time.sleep(1.3)
        server.expire_leases()
        rerun = second.create_trial("w1")
        assert rerun.trial_id == trial.trial_id
        _finish(second, rerun)
        assert second.create_trial("w1").status == "STOPPED"
        assert server.stop_reason == "max_trials: 1 trials run"
        first.hello()  # w0 is back (its trial lost): it must be told
        assert not server.done()
        assert first.create_trial("w0").status == "STOPPED"
        assert server.done()
    finally:
        server.stop(0)


def test_a_worker_s_trials_list_their_values_in_the_declared_order(tmp_path):
    # keras-tuner's message groups the space by kind (fixed, floats, ints,
    # choices): read from it, a trial listed "optimizer batch_size dropout
    # learning_rate num_layers units activation" where one process lists
    # them as HyperMLP declares them.
    hp = keras_tuner.HyperParameters()
    hp.Int("num_layers", 1, 4)
    hp.Choice("activation", ["relu", "tanh"])
    hp.Float("dropout", 0.0, 0.5)
    hp.Fixed("optimizer", "adam")
    declared = [h.name for h in hp.space]
    oracle = RandomOracle(
        objective=keras_tuner.Objective("score", "min"),
        max_trials=2,
        hyperparameters=hp,
        seed=1,
    )
    oracle._set_project_dir(str(tmp_path), "search")
    oracle.verbose = 0
    server = ChiefServer(oracle, token=None, lease=5.0, log=lambda s: None)
    server.start()
    # A worker whose own oracle has another space: the message's order.
    other = _worker("w0", server.port, None)
    # A worker whose tuner declared the space in its own oracle, as in a search.
    local = RandomOracle(
        objective=keras_tuner.Objective("score", "min"), hyperparameters=hp.copy()
    )
    worker = WorkerOracle(local, Cluster("w1", "127.0.0.1", server.port, token=None))
    try:
        wire_order = list(other.create_trial("w0").hyperparameters.values)
        assert sorted(wire_order) == sorted(declared) and wire_order != declared
        trial = worker.create_trial("w1")
        assert list(trial.hyperparameters.values) == declared
        _finish(worker, trial)
        assert list(worker.get_trial(trial.trial_id).hyperparameters.values) == (
            declared
        )
        # What a worker sends the chief counts too (after its own oracle's).
        other.update_space(hp)
        again = other.create_trial("w0")  # its running trial, again
        assert list(again.hyperparameters.values) == declared
    finally:
        other.close()
        worker.close()
        server.stop(0)


def test_a_worker_told_the_search_ended_needs_the_chief_no_more(tmp_path):
    # The chief stops serving once every worker was told; what a worker's
    # search does after that (its callbacks read the space) must not wait
    # for it (it waited chief_timeout, and the launcher ended it).
    server = ChiefServer(
        _oracle(tmp_path, max_trials=1), token=None, lease=5.0, log=lambda s: None
    )
    server.start()
    worker = _worker("w0", server.port, None, timeout=30.0)
    try:
        space = [hp.name for hp in worker.get_space().space]
        _finish(worker, worker.create_trial("w0"))
        assert not worker.ended
        assert worker.create_trial("w0").status == "STOPPED"
        assert worker.ended and server.done()
    finally:
        server.stop(0)
    started = time.monotonic()
    assert [hp.name for hp in worker.get_space().space] == space == ["x"]
    assert time.monotonic() - started < 1.0
    with pytest.raises(ChiefUnreachable):  # every other call still asks it
        worker.call("Hello", {}, timeout=0.5)


def test_too_many_failed_trials_in_a_row_stop_the_search_as_in_one_process(
    tmp_path,
):
    oracle = _oracle(tmp_path, max_trials=5)
    oracle.max_consecutive_failed_trials = 1
    server = ChiefServer(oracle, lease=5.0, log=lambda line: None)
    server.start()
    worker = _worker("worker-0", server.port, None)
    trial = worker.create_trial("worker-0")
    trial.status, trial.message = "FAILED", "this trial cannot be trained"
    worker.end_trial(trial)  # accepted: the worker is not the one failing
    assert worker.create_trial("worker-0").status == "STOPPED"
    with pytest.raises(RuntimeError, match="1 trials failed in a row"):
        server.serve_until_done(poll=0.05)
    assert server.stop_reason.startswith("error: RuntimeError: 1 trials failed")
    assert oracle.end_order == [trial.trial_id]


def test_a_worker_reaches_a_chief_that_starts_late_at_once(tmp_path):
    # A worker of `keras-hpo launch` starts with its chief and asks before it
    # serves (as after a chief's crash). gRPC's default back-off between
    # tries grows to minutes: after 6 s of failed tries the next one would
    # come about 3 s after the chief serves. keras_hpo's comes within 0.5 s.
    port = free_port()
    worker = _worker("worker-0", port, None, timeout=30.0)
    answered = {}

    def ask() -> None:
        worker.hello()
        answered["at"] = time.monotonic()

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    time.sleep(6.0)
    server = ChiefServer(_oracle(tmp_path), port=port, lease=5.0, log=lambda s: None)
    server.start()
    serving = time.monotonic()
    try:
        asking.join(timeout=20.0)
        assert "at" in answered
        assert answered["at"] - serving < 1.5
    finally:
        server.stop(0)


def test_a_restarted_chief_gives_running_trials_back_to_their_workers(tmp_path):
    port = free_port()
    first = ChiefServer(_oracle(tmp_path), port=port, lease=5.0, log=lambda s: None)
    first.start()
    worker = _worker("worker-0", port, None)
    trial = worker.create_trial("worker-0")
    first.stop(0)  # the chief is gone; its state is on disk
    oracle = _oracle(tmp_path)
    oracle.reload()
    assert oracle._retry_queue == [trial.trial_id]
    second = ChiefServer(oracle, port=port, lease=5.0, log=lambda s: None)
    second.start()
    try:
        newcomer = _worker("worker-1", port, None)
        other = newcomer.create_trial("worker-1")
        assert other.trial_id != trial.trial_id  # kept for its worker
        assert worker.call("Renew", {"trial_id": trial.trial_id})["held"]
        _finish(worker, trial)
        _finish(newcomer, other)
        assert oracle.end_order == [trial.trial_id, other.trial_id]
    finally:
        second.stop(0)


def test_a_call_the_chief_dropped_is_asked_again_of_the_restarted_chief(tmp_path):
    # The chief goes away while a worker's call is in flight (killed, or
    # stopped to restart): the worker asks again once a chief serves, as it
    # waits for a chief that is not there yet (it used to give up at once).
    port = free_port()
    oracle = _oracle(tmp_path)
    create = oracle.create_trial

    def slow_create(tuner_id):
        time.sleep(1.5)
        return create(tuner_id)

    oracle.create_trial = slow_create
    first = ChiefServer(oracle, port=port, lease=5.0, log=lambda s: None)
    first.start()
    worker = _worker("worker-0", port, None, timeout=30.0)
    worker.hello()
    answer = {}

    def ask() -> None:
        try:
            answer["trial"] = worker.create_trial("worker-0")
        except Exception as err:  # noqa: BLE001 - the test reports it
            answer["error"] = err

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    time.sleep(0.5)
    first.stop(0)  # the call is in flight
    time.sleep(1.5)  # (the dropped call's trial is on disk by now)
    again = _oracle(tmp_path)
    again.reload()
    second = ChiefServer(again, port=port, lease=5.0, log=lambda s: None)
    second.start()
    try:
        asking.join(timeout=20.0)
        assert "error" not in answer
        assert answer["trial"].status == "RUNNING"
        assert again.ongoing_trials["worker-0"].trial_id == answer["trial"].trial_id
    finally:
        second.stop(0)


def test_a_trial_s_end_sent_again_is_answered_again(chief):
    # A worker whose EndTrial reached the chief but whose answer was lost
    # sends it again: the chief says yes (it used to say the trial was
    # another worker's, and the worker then dropped its result).
    worker, other = _worker("worker-0", chief.port), _worker("worker-1", chief.port)
    trial = worker.create_trial("worker-0")
    _finish(worker, trial)
    worker.end_trial(trial)  # the same end, again: no LeaseLost
    assert chief.oracle.end_order == [trial.trial_id]
    with pytest.raises(LeaseLost):  # not the worker that ended it
        other.end_trial(trial)
    assert chief.oracle.end_order == [trial.trial_id]


def test_a_chief_cannot_take_the_port_another_chief_serves(chief, tmp_path):
    # gRPC lets servers share a port (SO_REUSEPORT) unless told not to: two
    # searches' chiefs would then split the workers between them.
    second = ChiefServer(_oracle(tmp_path / "other"), port=chief.port, log=print)
    with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{chief.port}"):
        second.start()


def test_a_chief_heard_from_a_new_worker_while_it_checks_the_end(chief):
    # Workers are heard (gRPC's threads) while `done` reads who was heard.
    chief.stop_reason = "max_trials"
    for i in range(2000):
        chief._hear(f"told-{i}")
        chief.told.add(f"told-{i}")
    hearing = True

    def newcomers() -> None:
        count = 0
        while hearing and count < 20_000:
            chief._hear(f"new-{count}")
            count += 1

    thread = threading.Thread(target=newcomers, daemon=True)
    thread.start()
    try:
        for _ in range(300):
            chief.done()  # raised "dictionary changed size during iteration"
    finally:
        hearing = False
        thread.join()


def test_a_chief_address_may_put_an_ipv6_host_in_brackets():
    assert parse_address("[::1]:8765", "--chief") == ("::1", 8765)
    assert parse_address("::1:8765", "--chief") == ("::1", 8765)
    assert parse_address("10.0.0.5:8765", "--chief") == ("10.0.0.5", 8765)


def test_workers_argument_is_checked(tmp_path, tiny_classification):
    import keras_hpo

    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3), max_trials=1, directory=tmp_path
    )
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises((ConfigError, TypeError), match="`workers`.*Received"):
            tuner.search(*tiny_classification, epochs=1, workers=bad)


def test_the_lease_setting_is_read_and_checked():
    assert lease_from_env({}) == 30.0
    assert lease_from_env({"KERAS_HPO_LEASE": "6"}) == 6.0
    for bad in ("0", "-5", "x"):
        with pytest.raises(ConfigError, match="KERAS_HPO_LEASE.*seconds > 0"):
            lease_from_env({"KERAS_HPO_LEASE": bad})


# -- real processes ----------------------------------------------------------------
def _run(args, env=None, timeout=300):
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERAS_HPO_TOKEN"):
        full_env.pop(name, None)
    return subprocess.run(
        args, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO
    )


def _result(output: str) -> dict:
    line = next(
        x for x in output.splitlines() if x.split("] ")[-1].startswith("RESULT ")
    )
    return json.loads(line.split("RESULT ", 1)[1])


def _trial_files(project: Path) -> dict[str, dict]:
    """Each trial folder's file names and result.json (times left out)."""
    files = {}
    for folder in sorted(project.glob("trial_*")):
        result = json.loads((folder / "result.json").read_text())
        files[folder.name] = {
            "files": sorted(p.name for p in folder.iterdir()),
            "result": {k: v for k, v in result.items() if k not in TIMES},
        }
    return files


@pytest.mark.slow  # 22 s; the default run keeps the chief, lease and launcher tests
def test_two_workers_run_exactly_max_trials_with_one_process_s_results(tmp_path):
    parallel = _run(
        [sys.executable, SCRIPT, str(tmp_path / "two"), "--workers", "2"],
        env={"KERAS_HPO_LEASE": "7"},
    )
    assert parallel.returncode == 0, parallel.stdout[-3000:] + parallel.stderr[-3000:]
    assert "(lease 7s)" in parallel.stdout  # KERAS_HPO_LEASE sets search(workers=)'s
    # The same search in one process (this one), for reference.
    single = workers_script.results(workers_script.search(str(tmp_path / "one")))
    lines = parallel.stdout.splitlines()
    # Both workers trained, each line tagged; every trial line once.
    trained = [x for x in lines if x.startswith("[worker-") and "] [trial " in x]
    assert {x.split("]")[0] for x in trained} == {"[worker-0", "[worker-1"}
    assert sorted(x.split("] [trial ")[1].split("]")[0] for x in trained) == [
        "1/4",
        "2/4",
        "3/4",
        "4/4",
    ]
    assert "launch: ended" not in parallel.stderr  # they exited on their own
    assert _result(parallel.stdout) == single
    assert list(_result(parallel.stdout)) == ["0000", "0001", "0002", "0003"]
    two, one = tmp_path / "two" / "search", tmp_path / "one" / "search"
    assert _trial_files(two) == _trial_files(one)
    for name, files in _trial_files(one).items():  # the values in one order too
        values = files["result"]["values"]
        assert list(_trial_files(two)[name]["result"]["values"]) == list(values)
    oracle = json.loads((two / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0000", "0001", "0002", "0003"]
    assert oracle["ongoing_trials"] == {}
    search = json.loads((two / "search.json").read_text())
    assert search["stop_reason"] == "max_trials: 4 trials run"
    assert search["trials"] == 4
    runs = sorted(p.name for p in (two / "tensorboard").glob("trial_*"))
    assert runs == ["trial_0000", "trial_0001", "trial_0002", "trial_0003"]
    assert not list(two.glob("worker-*.json"))  # the chief owns the state


@pytest.mark.slow  # about 40 s: each trial starts a process
def test_workers_train_isolated_trials(tmp_path):
    # A worker's lease guard went with each trial to its process, and its
    # heartbeat thread cannot be pickled: every trial failed.
    done = _run(
        [sys.executable, SCRIPT, str(tmp_path), "--workers", "2", "--isolate"]
        + ["--max-trials", "2"]
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = _result(done.stdout)
    assert sorted(results) == ["0000", "0001"]
    assert all(r["status"] == "completed" for r in results.values())


def _start(directory, name, port, *extra, lease=3.0):
    env = worker_environment(name, "127.0.0.1", port, "t0k3n", lease=lease, threads=1)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    log = open(f"{directory}.{name}.log", "w")  # noqa: SIM115 - the process keeps it
    command = [sys.executable, SCRIPT, str(directory), "--epochs", "3", *extra]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _chief_and_two_workers(directory, *extra, lease=3.0):
    """A chief and two workers of the test script, as processes; and the port."""
    port = free_port()
    chief = _start(directory, "chief", port, *extra, lease=lease)
    workers = [
        _start(directory, f"worker-{i}", port, *extra, lease=lease) for i in (0, 1)
    ]
    return chief, workers, port


def _wait_for(path: str, text: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in Path(path).read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in {path} after {timeout}s")


@pytest.mark.slow
def test_a_worker_killed_mid_trial_has_its_trial_rerun_by_the_other(tmp_path):
    directory = tmp_path / "run"
    chief, workers, _ = _chief_and_two_workers(directory, "--sleep", "1")
    _wait_for(f"{directory}.worker-0.log", "[trial ")  # it finished one...
    time.sleep(1.5)  # ...and is in the middle of the next
    workers[0].send_signal(signal.SIGKILL)
    assert chief.wait(timeout=180) == 0
    assert workers[1].wait(timeout=15) == 0  # the finished chief ends it
    chief_log = Path(f"{directory}.chief.log").read_text()
    assert "worker-0 was silent for 3s: its trial" in chief_log
    rerun = chief_log.split("its trial ")[1].split()[0]
    results = _result(chief_log)
    assert sorted(results) == ["0000", "0001", "0002", "0003"]
    assert all(r["status"] == "completed" for r in results.values())
    oracle = json.loads((directory / "search" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == sorted(results)  # no duplicates
    survivor = Path(f"{directory}.worker-1.log").read_text()
    assert f"[trial {results[rerun]['number']}/4]" in survivor


@pytest.mark.slow
def test_a_stopper_sees_the_trials_other_workers_are_running(tmp_path):
    directory = tmp_path / "run"
    record = str(tmp_path / "asked")
    chief, workers, _ = _chief_and_two_workers(
        directory, "--sleep", "0.5", "--record-stopper", record
    )
    assert chief.wait(timeout=180) == 0
    assert [w.wait(timeout=15) for w in workers] == [0, 0]
    asked = {
        name: [
            json.loads(line)
            for line in Path(f"{record}.{name}").read_text().splitlines()
        ]
        for name in ("worker-0", "worker-1")
    }
    ran = {name: {a["trial"] for a in rows} for name, rows in asked.items()}
    assert ran["worker-0"] | ran["worker-1"] == {"0000", "0001", "0002", "0003"}
    assert not ran["worker-0"] & ran["worker-1"]
    for name, other in (("worker-0", "worker-1"), ("worker-1", "worker-0")):
        running = [
            (trial, values["values"])
            for row in asked[name]
            for trial, values in row["others"].items()
            if trial in ran[other] and not values["finished"]
        ]
        # The other worker's trial while it ran: its curve up to the epoch
        # it had reached (lower is better: -val_accuracy), as in its result.
        assert running, f"{name}'s stopper never saw {other}'s running trials"
        for trial, values in running:
            result = json.loads(
                (directory / "search" / f"trial_{trial}" / "result.json").read_text()
            )
            history = result["history"]["val_accuracy"]
            assert 1 <= len(values) <= 3
            assert values == pytest.approx([-v for v in history[: len(values)]])
    # Asked after epochs 1 and 2 of each trial, not after the last.
    epochs = sorted(row["epochs"] for rows in asked.values() for row in rows)
    assert epochs == [1] * 4 + [2] * 4


@pytest.mark.slow
def test_a_worker_back_after_its_lease_expired_counts_nothing_twice(tmp_path):
    # With every epoch's files written (checkpoint="every_epoch", TensorBoard),
    # the worker wrote the epoch it was in into the trial another worker ran
    # by then: two curves in one run, a kept model of the discarded run.
    from sklearn.datasets import load_digits

    import keras_hpo

    directory = tmp_path / "run"
    chief, workers, _ = _chief_and_two_workers(
        directory, "--sleep", "1", "--checkpoint", "every_epoch"
    )
    _wait_for(f"{directory}.worker-0.log", "[trial ")
    time.sleep(1.0)
    workers[0].send_signal(signal.SIGSTOP)  # frozen: no heartbeat...
    _wait_for(f"{directory}.chief.log", "worker-0 was silent")
    time.sleep(2.0)
    workers[0].send_signal(signal.SIGCONT)  # ...and back, its lease expired
    assert chief.wait(timeout=180) == 0
    for worker in workers:
        assert worker.wait(timeout=15) == 0
    chief_log = Path(f"{directory}.chief.log").read_text()
    frozen = chief_log.split("its trial ")[1].split()[0]
    results = _result(chief_log)
    assert sorted(results) == ["0000", "0001", "0002", "0003"]
    assert all(r["status"] == "completed" for r in results.values())
    project = directory / "search"
    oracle = json.loads((project / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == sorted(results)  # each ended once
    # Whoever ran the frozen trial, its result agrees with the oracle's record.
    for trial_id in results:
        folder = project / f"trial_{trial_id}"
        recorded = json.loads((folder / "trial.json").read_text())["score"]
        assert json.loads((folder / "result.json").read_text())["score"] == recorded
    scalars, _ = read_logs(project / "tensorboard")
    for run, tags in scalars.items():
        steps = [step for step, _ in tags.get("epoch_accuracy", [])]
        assert len(steps) == len(set(steps)), (run, steps)
    x, y = load_digits(return_X_y=True)
    x, y = (x[450:600] / 16.0).astype("float32"), y[450:600]  # the validation rows
    saved = keras_hpo.load(str(project))
    for trial_id, result in results.items():
        predicted = saved.trial_model(trial_id).predict(x, verbose=0).argmax(-1)
        assert float(np.mean(predicted == y)) == pytest.approx(result["score"])
    back = Path(f"{directory}.worker-0.log").read_text()
    if f"trial {frozen} is another worker's now" in back:
        other = Path(f"{directory}.worker-1.log").read_text()
        assert f"[trial {results[frozen]['number']}/4]" in other
    else:  # it renewed before anyone took the trial: it finished it
        assert f"reclaimed trial {frozen}" in chief_log


@pytest.mark.slow
def test_a_worker_that_lost_its_lease_while_writing_leaves_the_new_run_intact(
    tmp_path,
):
    # A worker renews its lease, then its writes stall longer than the lease:
    # the other worker runs the trial again. The first one's files land
    # before its refused end; nothing of it may spoil the new run (it wrote
    # a failed result and deleted the weights; the new run took that result).
    import keras_hpo

    directory = tmp_path / "run"
    chief, workers, _ = _chief_and_two_workers(
        directory, "--max-trials", "1", "--sleep", "1", "--stall", "5", lease=2.0
    )
    assert chief.wait(timeout=180) == 0
    for worker in workers:
        assert worker.wait(timeout=15) == 0
    logs = [Path(f"{directory}.worker-{i}.log").read_text() for i in (0, 1)]
    stalled, other = sorted(logs, key=lambda log: "stalling" not in log)
    assert "stalling 5s before writing trial 0000" in stalled
    assert "trial 0000 is another worker's now" in stalled
    assert "[trial 1/1]" in other and "stalling" not in other
    assert (
        _result(Path(f"{directory}.chief.log").read_text())["0000"]["status"]
        == "completed"
    )
    folder = directory / "search" / "trial_0000"
    result = json.loads((folder / "result.json").read_text())
    assert result["status"] == "completed"
    assert result["error"] is None
    assert result["score"] == json.loads((folder / "trial.json").read_text())["score"]
    model = keras_hpo.load(directory / "search").best_model()  # its weights
    assert model.predict(np.zeros((1, 64), "float32"), verbose=0).shape == (1, 10)


@pytest.mark.slow
def test_a_chief_killed_and_restarted_resumes_with_the_same_workers(tmp_path):
    directory = tmp_path / "run"
    args = ("--sleep", "1", "--max-trials", "6")
    chief, workers, port = _chief_and_two_workers(directory, *args, lease=4.0)
    _wait_for(f"{directory}.worker-0.log", "[trial ")
    time.sleep(1.0)
    chief.send_signal(signal.SIGKILL)
    time.sleep(3.0)
    restarted = _start(directory, "chief", port, *args, lease=4.0)
    assert restarted.wait(timeout=240) == 0
    for worker in workers:
        assert worker.wait(timeout=15) == 0
    log = Path(f"{directory}.chief.log").read_text()  # the restarted chief's
    assert "reclaimed trial" in log
    results = _result(log)
    assert sorted(results) == [f"{i:04d}" for i in range(6)]
    assert sorted(r["number"] for r in results.values()) == [1, 2, 3, 4, 5, 6]
    assert all(r["status"] == "completed" for r in results.values())


@pytest.mark.slow
def test_keras_hpo_launch_runs_the_chief_and_workers_and_ends_them(tmp_path):
    started = time.monotonic()
    run = _run(
        [
            sys.executable,
            "-m",
            "keras_hpo.cli",
            "launch",
            "--workers",
            "2",
            "--",
            sys.executable,
            SCRIPT,
            str(tmp_path),
            "--workers",  # search(workers=3): the launcher's 2 workers train
            "3",
        ]
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "launch: ended" not in run.stderr
    assert "search(workers=3) is ignored: this process is the chief" in (
        run.stdout + run.stderr
    )
    tags = {x.split("]")[0] for x in run.stdout.splitlines() if x.startswith("[")}
    assert {"[chief", "[worker-0", "[worker-1"} <= tags
    assert sorted(_result(run.stdout)) == ["0000", "0001", "0002", "0003"]
    assert time.monotonic() - started < 120


# -- the launcher, with commands that train nothing ----------------------------------
def _role_script(chief: str, worker: str) -> list[str]:
    """A command that runs ``chief`` or ``worker`` (Python) by its role."""
    code = (
        "import os, sys, time\n"
        "role = os.environ['KERASTUNER_TUNER_ID']\n"
        f"exec({chief!r} if role == 'chief' else {worker!r})\n"
    )
    return [sys.executable, "-c", code]


def test_launch_gives_each_worker_its_gpu_and_tags_its_lines(capfd):
    show = (
        "print(role, os.environ.get('CUDA_VISIBLE_DEVICES'), "
        "os.environ['KERASTUNER_ORACLE_IP'], "
        "'token' if os.environ.get('KERAS_HPO_TOKEN') else 'none', flush=True)"
    )
    assert launch(_role_script(show, show), gpus=["3", "5"]) == 0
    lines = sorted(capfd.readouterr().out.splitlines())
    assert lines == [
        "[chief] chief  127.0.0.1 token",
        "[worker-0] worker-0 3 127.0.0.1 token",
        "[worker-1] worker-1 5 127.0.0.1 token",
    ]


@pytest.mark.parametrize("hostname", [None, "hpo-chief-1"])
def test_workers_launched_for_a_chief_elsewhere_have_ids_unique_per_machine(
    capfd, monkeypatch, hostname
):
    # keras-tuner takes any tuner ID with "chief" in it for the chief's: a
    # worker ID made from the host name "hpo-chief-1" served as a second
    # chief (and took the project from the real one).
    if hostname is not None:
        monkeypatch.setattr(launch_module.socket, "gethostname", lambda: hostname)
    host = (hostname or socket.gethostname()).replace("chief", "chf")
    show = (
        "from keras_hpo.distributed.settings import Cluster\n"
        "print(role, Cluster.from_env().is_chief, flush=True)"
    )
    command = _role_script(show, show)
    assert launch(command, 2, chief=("127.0.0.1", free_port()), serve=True) == 0
    worker = f"worker-{host}-{os.getpid()}"
    assert sorted(capfd.readouterr().out.splitlines()) == [
        "[chief] chief True",
        f"[worker-0] {worker}-0 False",
        f"[worker-1] {worker}-1 False",
    ]


def test_the_chief_goes_on_while_its_workers_exit_and_still_ends_them(capfd):
    # After a search, the chief refits while its told workers exit (a
    # TensorFlow process takes a second or more); it still waits for them.
    slow_exit = WorkerProcesses([sys.executable, "-c", "import time; time.sleep(1)"], 2)
    slow_exit.start("127.0.0.1", 1, None)
    started = time.monotonic()
    reported = []
    thread = slow_exit.stop_later(grace=10.0, then=lambda: reported.append(1))
    assert time.monotonic() - started < 0.5
    assert not thread.daemon  # the chief's process exits after its workers
    thread.join(timeout=10.0)
    assert reported == [1]
    assert [p.returncode for p in slow_exit.processes.values()] == [0, 0]
    assert slow_exit.ended == [] and slow_exit.failures() is None

    stuck = WorkerProcesses([sys.executable, "-c", "import time; time.sleep(60)"], 2)
    stuck.start("127.0.0.1", 1, None)
    stuck.stop_later(grace=0.5).join(timeout=15.0)
    assert all(p.poll() is not None for p in stuck.processes.values())
    assert stuck.ended == ["worker-0", "worker-1"]
    # Ended by the chief, named as such, not reported as failed workers.
    assert "launch: ended worker-0, worker-1" in capfd.readouterr().err
    assert stuck.failures() is None


def _gone(pids: list[int], timeout: float) -> bool:
    """Whether every process in ``pids`` has exited within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(launch_module._alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_workers_end_when_the_process_that_started_them_is_killed():
    # A chief (or launcher) killed outright cannot end its workers: each
    # watches it and ends itself, instead of waiting for it for
    # KERAS_HPO_CHIEF_TIMEOUT (600 s by default).
    worker = (
        "from keras_hpo.tuners.workers import environment_cluster\n"
        "environment_cluster()\n"
        "print('watching', flush=True)\n"
        "import time; time.sleep(120)\n"
    )
    starter = (
        "import sys, time\n"
        "from keras_hpo.distributed.launch import WorkerProcesses\n"
        f"group = WorkerProcesses([sys.executable, '-c', {worker!r}], 2)\n"
        "group.start('127.0.0.1', 1, None)\n"
        "print('PIDS', *[p.pid for p in group.processes.values()], flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", starter],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    pids, watching = [], 0
    try:
        for line in parent.stdout:
            if line.startswith("PIDS "):
                pids = [int(x) for x in line.split()[1:]]
            watching += line.rstrip().endswith("] watching")
            if watching == 2:
                break
        assert len(pids) == 2 and watching == 2
        assert launch_module._alive(pids[0]) and launch_module._alive(pids[1])
        parent.kill()
        parent.wait()
        assert _gone(pids, 5.0)
    finally:
        parent.kill()
        for pid in pids:
            if launch_module._alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.slow  # 20 s
def test_a_chief_killed_outright_takes_its_workers_along(tmp_path):
    command = [sys.executable, "-m", "keras_hpo.cli", "tune", "--workers", "2"]
    command += ["--epochs", "1", "--limit", "400", "--max-trials", "100"]
    chief = subprocess.Popen(
        [*command, "--directory", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    try:
        for line in chief.stdout:
            if "] [trial " in line:
                break
        workers = subprocess.run(
            ["pgrep", "-P", str(chief.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(workers) == 2
        chief.kill()
        chief.wait()
        assert _gone([int(pid) for pid in workers], 5.0)
    finally:
        chief.kill()
    # Nothing finished is lost: the same command resumes the search.
    project = tmp_path / "digits_bayesian"
    done = [p.parent.name for p in project.glob("trial_*/result.json")]
    assert done
    # The trials its workers were running run first (no worker of the killed
    # search is left to come back for them): they waited one lease, 30 s.
    started = len(json.loads((project / "oracle.json").read_text())["start_order"])
    command[command.index("--max-trials") + 1] = str(started + 2)
    resumed = subprocess.run(
        [*command, "--directory", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:]
    assert "will run again" in resumed.stdout
    first = resumed.stdout.split("] [trial ")[1].split("/")[0]
    assert int(first) <= started, resumed.stdout[-3000:]


def test_launch_exits_with_the_chief_s_status_and_ends_stuck_workers(capfd):
    started = time.monotonic()
    command = _role_script("sys.exit(3)", "time.sleep(60)")
    status = launch(command, workers=2, grace=0.5)
    assert status == 3
    assert time.monotonic() - started < 10  # 0.5 s of grace, then SIGTERM
    assert (
        "launch: ended worker-0, worker-1: still running 0.5s after the chief "
        "exited with status 3"
    ) in capfd.readouterr().err


def test_launch_ends_the_chief_when_every_worker_exited(capfd):
    started = time.monotonic()
    status = launch(_role_script("time.sleep(60)", "sys.exit(1)"), workers=2)
    assert status == 1
    assert time.monotonic() - started < 20
    assert "every worker process exited before the search ended" in (
        capfd.readouterr().err
    )


def test_launch_waits_for_the_chief_when_a_worker_died_but_the_search_ended(capfd):
    # One worker killed mid-search (its trial ran again on the other), the
    # other told the search ended (exit 0): the chief refits and exits 0.
    chief = "time.sleep(3); print('refit done', flush=True)"
    worker = (
        "import signal\n"
        "if role == 'worker-1': os.kill(os.getpid(), signal.SIGKILL)\n"
        "time.sleep(0.5)"
    )
    status = launch(_role_script(chief, worker), workers=2)
    captured = capfd.readouterr()
    assert status == 0
    assert "[chief] refit done" in captured.out
    assert "ending the chief" not in captured.err
    assert "launch: workers exited with an error: worker-1 (exit -9)" in captured.err


def test_a_launcher_imports_neither_tensorflow_nor_keras_tuner():
    # `keras-hpo launch` runs in a process that must not spend seconds of the
    # cores its chief and workers start on.
    code = (
        "import sys, keras_hpo.distributed.launch\n"
        "print([m for m in ('tensorflow', 'keras', 'keras_tuner', 'grpc') "
        "if m in sys.modules])"
    )
    run = _run([sys.executable, "-c", code])
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.slow
def test_keras_hpo_tune_with_workers(tmp_path):
    # IMPORTANCE_AFTER trials: the search's end writes the importance.
    trials = str(IMPORTANCE_AFTER)
    run = _run(
        [
            sys.executable,
            "-m",
            "keras_hpo.cli",
            "tune",
            "--workers",
            "2",
            "--max-trials",
            trials,
            "--epochs",
            "1",
            "--limit",
            "400",
            "--directory",
            str(tmp_path),
        ]
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "launch: ended" not in run.stderr  # the workers exited on their own
    project = tmp_path / "digits_bayesian"
    summary = json.loads((project / "summary.json").read_text())
    assert summary["trials"] == IMPORTANCE_AFTER
    lines = run.stdout.splitlines()
    trained = [x for x in lines if "] [trial " in x]
    assert len(trained) == IMPORTANCE_AFTER
    # The plan and the best trial are the chief's lines, each printed once;
    # a worker says what it trains, and at the end how many trials it did.
    assert [x for x in lines if "Best trial " in x or "Searching with" in x] == [
        x for x in lines if x.startswith(("Best trial ", "Searching with"))
    ]
    assert run.stdout.count("Best trial ") == run.stdout.count("Searching with") == 1
    assert [x for x in lines if "Data set " in x] == [lines[0]]  # the chief's
    counts = {}
    for line in lines:
        tag, _, text = line.partition("] ")
        if text.startswith("Training trials of the chief's search"):
            counts.setdefault(tag, None)
        if text.startswith("This worker trained "):
            counts[tag] = int(text.split()[3])
    assert sorted(counts) == ["[worker-0", "[worker-1"]
    assert sum(counts.values()) == IMPORTANCE_AFTER
    # The chief wrote the importance and the reordered experiment, once.
    log_dir = project / "tensorboard"
    _, texts = read_logs(log_dir)
    assert len(texts["search"]["importance"]) == 1
    assert len([f for f in event_files(log_dir) if os.sep not in f]) == 1
    assert "Best model on the test split" in run.stdout
    assert run.stdout.count("Best model on the test split") == 1  # the chief's
