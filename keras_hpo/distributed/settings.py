"""Who this process is in a multi-worker search, read from the environment.

A multi-worker search uses keras-tuner's chief/worker engine and its three
environment variables:

* ``KERASTUNER_TUNER_ID``: ``chief`` for the process that serves the oracle
  (it trains nothing), any other name (``worker-0``...) for a worker;
* ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT``: where the chief
  listens (the chief binds to that address; workers connect to it).

keras_hpo adds:

* ``KERAS_HPO_TOKEN``: a shared secret every call carries (gRPC metadata);
  the chief refuses calls without it. Required when the chief listens on
  anything but a loopback address. Never printed.
* ``KERAS_HPO_LEASE``: seconds a worker's trial stays its own without a
  heartbeat (the chief's setting; default 30). Workers renew the lease
  four times per lease while training; a trial whose lease expires is
  handed out again.
* ``KERAS_HPO_CHIEF_TIMEOUT``: seconds a worker waits for an unreachable
  chief (starting, or restarting after a crash) before it gives up
  (default 600).
* ``KERAS_HPO_LAUNCHED``: set by the launcher: a worker ends its process
  when the search ends, so the code after ``search()`` runs on the chief
  only.
* ``KERAS_HPO_PARENT``: set by the launcher (``keras-hpo launch``, or the
  chief of ``search(workers=N)``) to its process ID: a process it started
  ends once the launcher has exited (`keras_hpo.distributed.launch.end_with_parent`).

It owns the reading and checking of these variables and nothing else.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping

from keras_hpo.errors import bad_value

__all__ = [
    "CHIEF",
    "ENV_CHIEF_TIMEOUT",
    "ENV_IP",
    "ENV_LAUNCHED",
    "ENV_LEASE",
    "ENV_PARENT",
    "ENV_PORT",
    "ENV_TOKEN",
    "ENV_TUNER_ID",
    "Cluster",
    "check_exposure",
    "is_loopback",
    "lease_from_env",
    "parse_address",
]

ENV_TUNER_ID = "KERASTUNER_TUNER_ID"
ENV_IP = "KERASTUNER_ORACLE_IP"
ENV_PORT = "KERASTUNER_ORACLE_PORT"
ENV_TOKEN = "KERAS_HPO_TOKEN"
ENV_LEASE = "KERAS_HPO_LEASE"
ENV_CHIEF_TIMEOUT = "KERAS_HPO_CHIEF_TIMEOUT"
ENV_LAUNCHED = "KERAS_HPO_LAUNCHED"
ENV_PARENT = "KERAS_HPO_PARENT"

#: The tuner ID of the process that serves the oracle.
CHIEF = "chief"
#: Seconds a trial's lease lasts without a heartbeat, by default.
DEFAULT_LEASE = 30.0
#: Seconds a worker waits for an unreachable chief, by default.
DEFAULT_CHIEF_TIMEOUT = 600.0


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine's loopback interface only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_address(text: str, argument: str) -> tuple[str, int]:
    """``HOST:PORT`` as ``(host, port)``; an IPv6 host with or without brackets.

    Raises:
        ConfigError: If it is not ``HOST:PORT`` with a port in 1..65535.
    """
    host, _, port = str(text).rpartition(":")
    if host.startswith("[") and host.endswith("]"):  # [::1]:8765
        host = host[1:-1]
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise bad_value(
            argument,
            text,
            "must be HOST:PORT with a port between 1 and 65535",
            "E.g. 127.0.0.1:8765, or 10.0.0.5:8765 for a chief on another machine.",
        )
    return host, int(port)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise bad_value(
            name, text, "must be a number of seconds > 0", f"E.g. {name}={default:g}."
        )
    return value


def lease_from_env(env: Mapping[str, str] | None = None) -> float:
    """The lease ``KERAS_HPO_LEASE`` sets (seconds), or the default.

    Raises:
        ConfigError: If it is set to anything but a number of seconds > 0.
    """
    return _seconds(os.environ if env is None else env, ENV_LEASE, DEFAULT_LEASE)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """This process's place in a multi-worker search.

    Attributes:
        tuner_id: ``"chief"``, or this worker's name.
        host: Where the chief listens.
        port: The chief's port.
        token: The shared secret (``None``: calls carry none).
        lease: Seconds a trial's lease lasts without a heartbeat.
        chief_timeout: Seconds a worker waits for an unreachable chief.
        launched: Whether a keras_hpo launcher started this process.
        parent: The process ID of the launcher that started this process
            (``None``: none did, or it did not say).
    """

    tuner_id: str
    host: str
    port: int
    token: str | None = dataclasses.field(default=None, repr=False)
    lease: float = DEFAULT_LEASE
    chief_timeout: float = DEFAULT_CHIEF_TIMEOUT
    launched: bool = False
    parent: int | None = None

    @property
    def is_chief(self) -> bool:
        """Whether this process serves the oracle (keras-tuner's test)."""
        return CHIEF in self.tuner_id

    @property
    def address(self) -> str:
        """``host:port`` of the chief."""
        return f"{self.host}:{self.port}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Cluster | None:
        """The cluster the environment describes, or ``None`` (one process).

        Raises:
            ConfigError: If the variables are incomplete or malformed, or a
                chief would listen beyond loopback without a token.
        """
        env = os.environ if env is None else env
        if ENV_IP not in env:
            return None
        port = env.get(ENV_PORT, "")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise bad_value(
                ENV_PORT,
                port,
                f"must be the chief's port (1..65535) when {ENV_IP} is set",
                f"Set {ENV_PORT}, or unset {ENV_IP} to search in one process.",
            )
        tuner_id = env.get(ENV_TUNER_ID, "")
        if not tuner_id:
            raise bad_value(
                ENV_TUNER_ID,
                tuner_id,
                f"must name this process when {ENV_IP} is set",
                f'Set {ENV_TUNER_ID}="chief" on the chief and "worker-0", '
                '"worker-1"... on the workers.',
            )
        cluster = cls(
            tuner_id=tuner_id,
            host=env[ENV_IP],
            port=int(port),
            token=env.get(ENV_TOKEN) or None,
            lease=lease_from_env(env),
            chief_timeout=_seconds(env, ENV_CHIEF_TIMEOUT, DEFAULT_CHIEF_TIMEOUT),
            launched=env.get(ENV_LAUNCHED) == "1",
            parent=_process_id(env),
        )
        if cluster.is_chief:
            check_exposure(cluster.host, cluster.token)
        return cluster


def _process_id(env: Mapping[str, str]) -> int | None:
    """``KERAS_HPO_PARENT`` as a process ID (``None`` when unset or empty).

    Raises:
        ConfigError: If it is set to anything but a process ID.
    """
    text = env.get(ENV_PARENT, "")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise bad_value(
            ENV_PARENT,
            text,
            "must be the process ID of the launcher that started this process",
            f"Unset {ENV_PARENT}; keras-hpo launch sets it.",
        )
    return int(text)


def check_exposure(host: str, token: str | None) -> None:
    """Refuses a chief beyond loopback without a token.

    Raises:
        ConfigError: If ``host`` is not a loopback address and no token is set.
    """
    if not is_loopback(host) and not token:
        raise bad_value(
            ENV_IP,
            host,
            "is not a loopback address, and no token is set: anyone who can "
            "reach it could ask for trials and report results",
            f"Set {ENV_TOKEN} to a shared secret on the chief and every worker "
            "(e.g. from `python -c 'import secrets; print(secrets.token_hex(16))'`), "
            "or listen on 127.0.0.1.",
        )
