"""Starting the processes of a multi-worker search, and ending all of them.

`WorkerProcesses` starts N workers running one command, each with
keras-tuner's variables set (`worker_environment`), prints their lines
with a ``[worker-i]`` tag, and ends them (SIGTERM, then SIGKILL) when the
search is over, so no worker is left behind. `launch` is ``keras-hpo
launch``: it also starts the chief as a process of the same command (or
connects the workers to a chief elsewhere) and exits with the chief's
status, non-zero when the search failed.

On a CPU-only machine each worker gets an equal share of the cores for
TensorFlow's thread pools (``TF_NUM_INTRAOP_THREADS``,
``TF_NUM_INTEROP_THREADS``, ``OMP_NUM_THREADS``), so that N workers do not
fight over them; with ``gpus`` each worker sees one GPU
(``CUDA_VISIBLE_DEVICES``) and the chief none. It owns processes and their
output; it must not know what they train.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence

from keras_hpo.distributed.settings import CHIEF
from keras_hpo.distributed.settings import ENV_IP
from keras_hpo.distributed.settings import ENV_LAUNCHED
from keras_hpo.distributed.settings import ENV_LEASE
from keras_hpo.distributed.settings import ENV_PARENT
from keras_hpo.distributed.settings import ENV_PORT
from keras_hpo.distributed.settings import ENV_TOKEN
from keras_hpo.distributed.settings import ENV_TUNER_ID
from keras_hpo.distributed.settings import check_exposure
from keras_hpo.errors import bad_value

__all__ = [
    "WorkerProcesses",
    "end_with_parent",
    "free_port",
    "launch",
    "script_command",
    "worker_environment",
]

#: Seconds a process gets to end after SIGTERM before SIGKILL.
TERMINATE_GRACE = 5.0


def script_command() -> list[str]:
    """The command line that started this process (``python -m`` included).

    Raises:
        ConfigError: In an interactive session (a notebook, the REPL): there
            is no script for the workers to run.
    """
    import __main__

    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    interactive = (
        "ipykernel" in sys.modules
        or hasattr(sys, "ps1")
        or (not getattr(__main__, "__file__", None) and "-c" not in argv[1:2])
    )
    if interactive:
        raise bad_value(
            "workers",
            "an interactive session",
            "needs a script: each worker runs the command that started this "
            "process again, and an interactive session has none",
            "Put the search in a script (search(...) under "
            'if __name__ == "__main__":) and run it, or run '
            "`keras-hpo launch --workers N -- python your_script.py`.",
        )
    return [sys.executable, *argv[1:]]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def worker_environment(
    tuner_id: str,
    host: str,
    port: int,
    token: str | None,
    *,
    lease: float | None = None,
    threads: int | None = None,
    gpu: str | None = None,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The environment of one process of the search.

    Args:
        tuner_id: ``"chief"`` or the worker's name.
        host: Where the chief listens.
        port: Its port.
        token: The shared token (``None``: none).
        lease: The chief's lease in seconds (``None``: its default).
        threads: TensorFlow threads (``None``: TensorFlow's default).
        gpu: The one GPU this process sees (``""``: none; ``None``: as now).
        base: The environment to start from (default: this process's).
    """
    env = dict(os.environ if base is None else base)
    env.update(
        {
            ENV_TUNER_ID: tuner_id,
            ENV_IP: host,
            ENV_PORT: str(port),
            ENV_LAUNCHED: "1",
            ENV_PARENT: str(os.getpid()),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop(ENV_TOKEN, None)
    if token:
        env[ENV_TOKEN] = token
    if lease is not None:
        env[ENV_LEASE] = f"{lease:g}"
    if threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            env[name] = str(threads)
        env["TF_NUM_INTEROP_THREADS"] = "1"
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    return env


#: Seconds between two checks that the launcher is still running.
PARENT_POLL = 0.5
_watched: set[int] = set()


def end_with_parent(parent: int, poll: float = PARENT_POLL) -> None:
    """Ends this process (SIGTERM) once the process ``parent`` has exited.

    A process that `launch` or ``search(workers=N)`` started watches the
    one that started it, so a launcher or chief that is killed (SIGKILL,
    a scheduler's SIGTERM, the out-of-memory killer) leaves no worker
    waiting for it: the workers' running trials rerun when the search is
    resumed. Liveness is checked by process ID, not by being this
    process's parent, so a wrapper in between (``conda run``, ``bash -c``)
    changes nothing. A daemon thread, one per ``parent``; POSIX only.
    """
    if os.name != "posix" or parent in _watched:
        return
    _watched.add(parent)

    def watch() -> None:
        while _alive(parent):
            time.sleep(poll)
        try:
            print(
                f"keras-hpo: the process that started this one (pid {parent}) "
                "has exited; ending",
                file=sys.stderr,
                flush=True,
            )
        except (OSError, ValueError):  # its pipe went with it
            pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (another user's counts; a zombie does not)."""
    if os.path.isdir("/proc/self"):  # Linux: a dead, unreaped launcher is "Z"
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _host_id() -> str:
    """This machine and launcher, for worker IDs: ``<hostname>-<pid>``.

    keras-tuner takes any tuner ID with "chief" in it for the chief's, so
    a host name's "chief" is written "chf" (``hpo-chief-1``: ``hpo-chf-1``).
    """
    host = socket.gethostname().replace(CHIEF, "chf")
    return f"{host}-{os.getpid()}"


def _threads_each(workers: int, gpus: Sequence[str] | None) -> int | None:
    """Each worker's share of the cores on a CPU-only run (``None``: GPUs)."""
    if gpus:
        return None
    return max(1, (os.cpu_count() or 1) // workers)


class _Tagged(threading.Thread):
    """Prints a process's lines with a tag, as they come."""

    def __init__(self, process: subprocess.Popen, tag: str):
        super().__init__(name=f"output-{tag}", daemon=True)
        self.process = process
        self.tag = tag

    def run(self) -> None:
        for line in self.process.stdout:
            sys.stdout.write(f"[{self.tag}] {line}")
            sys.stdout.flush()


class WorkerProcesses:
    """N worker processes of one command (see the module docstring).

    Args:
        command: The command each worker runs.
        workers: How many.
        gpus: One GPU ID per worker (then ``workers`` is their number).
        threads: TensorFlow threads per worker (default: an equal share of
            the cores on a CPU-only run).
        prefix: The workers' tuner IDs are ``<prefix>-<i>`` (unique per
            search: the chief tells workers apart by them).
    """

    def __init__(
        self,
        command: Sequence[str],
        workers: int,
        gpus: Sequence[str] | None = None,
        threads: int | None = None,
        prefix: str = "worker",
    ):
        self.command = list(command)
        self.prefix = prefix
        self.workers = len(gpus) if gpus else workers
        self.gpus = list(gpus) if gpus else None
        self.threads = threads or _threads_each(self.workers, self.gpus)
        self.processes: dict[str, subprocess.Popen] = {}
        #: Workers `stop` had to end (they did not exit on their own).
        self.ended: list[str] = []
        self._outputs: list[_Tagged] = []

    def start(
        self, host: str, port: int, token: str | None, lease: float | None = None
    ) -> None:
        """Starts the workers, connected to the chief at ``host:port``."""
        for i in range(self.workers):
            name = f"worker-{i}"
            env = worker_environment(
                f"{self.prefix}-{i}",
                host,
                port,
                token,
                lease=lease,
                threads=self.threads,
                gpu=self.gpus[i] if self.gpus else None,
            )
            self.processes[name] = self.spawn(env, name)

    def spawn(self, env: dict[str, str], tag: str) -> subprocess.Popen:
        """Starts the command with ``env``, its lines printed with ``tag``."""
        process = subprocess.Popen(
            self.command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # a Ctrl-C reaches the launcher, which ends it
        )
        output = _Tagged(process, tag)
        output.start()
        self._outputs.append(output)
        return process

    def all_exited(self) -> str | None:
        """Why serving cannot go on (every worker exited), or ``None``."""
        if not self.processes or any(p.poll() is None for p in self.processes.values()):
            return None
        codes = ", ".join(f"{n}: {p.returncode}" for n, p in self.processes.items())
        return (
            f"every worker process exited before the search ended ({codes}); "
            "their output above says why"
        )

    def told(self) -> list[str]:
        """The workers that exited cleanly: the chief told them the search ended."""
        return [n for n, p in self.processes.items() if p.poll() == 0]

    def failures(self) -> str | None:
        """Which workers exited with an error, or ``None``.

        A worker that `stop` had to end is not one: `stop` names those.
        """
        bad = {
            n: p.returncode
            for n, p in self.processes.items()
            if p.returncode and n not in self.ended
        }
        if not bad:
            return None
        return "workers exited with an error: " + ", ".join(
            f"{n} (exit {c})" for n, c in bad.items()
        )

    def stop(self, grace: float = TERMINATE_GRACE, why: str | None = None) -> None:
        """Waits ``grace`` seconds for the workers to end, then ends them.

        The names of those it had to end are in `ended`; it says so, and
        why (default: still running ``grace`` seconds after the search
        ended).
        """
        ended = _end(list(self.processes.values()), grace)
        names = {id(p): n for n, p in self.processes.items()}
        self.ended = [names[id(p)] for p in ended]
        for output in self._outputs:
            output.join(timeout=2.0)
        if self.ended:
            why = why or f"still running {grace:g}s after the search ended"
            print(
                f"launch: ended {', '.join(self.ended)}: {why}",
                file=sys.stderr,
                flush=True,
            )

    def stop_later(
        self, grace: float = TERMINATE_GRACE, then: Callable[[], None] | None = None
    ) -> threading.Thread:
        """`stop` in a thread, then ``then()``; this process goes on meanwhile.

        For a search that ended: the workers were told and exit on their
        own (a TensorFlow process takes a second or more), while the chief
        refits. The thread is not a daemon, so this process exits only once
        the workers have.

        Returns:
            The thread (started).
        """

        def stop() -> None:
            self.stop(grace)
            if then is not None:
                then()

        thread = threading.Thread(target=stop, name="stop-workers", daemon=False)
        thread.start()
        return thread


def _end(processes: list[subprocess.Popen], grace: float) -> list[subprocess.Popen]:
    """Waits up to ``grace`` seconds, then SIGTERM, then SIGKILL.

    Returns:
        The processes that had to be ended (still running after ``grace``).
    """
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    ended = [p for p in processes if p.poll() is None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in processes if p.poll() is None]
        for process in alive:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        for process in alive:
            try:
                process.wait(timeout=TERMINATE_GRACE)
            except subprocess.TimeoutExpired:
                pass
    return ended


def launch(
    command: Sequence[str],
    workers: int = 1,
    *,
    gpus: Sequence[str] | None = None,
    chief: tuple[str, int] | None = None,
    serve: bool = True,
    token: str | None = None,
    lease: float | None = None,
    grace: float = TERMINATE_GRACE,
) -> int:
    """``keras-hpo launch``: the chief and N workers of a command; its status.

    Args:
        command: The user's command (a script that calls ``search``).
        workers: Worker processes on this machine.
        gpus: One worker per GPU ID instead.
        chief: ``(host, port)`` of the chief (default: 127.0.0.1 and a free
            port). With ``serve`` the chief runs here, bound to that
            address; without, the workers connect to a chief elsewhere.
        serve: Whether this machine runs the chief.
        token: The shared token (default: ``KERAS_HPO_TOKEN``, or a fresh one
            for a chief on loopback).
        lease: The chief's lease in seconds (default: its own default).
        grace: Seconds the workers get to exit on their own once the chief
            has, before they are ended.

    Returns:
        The chief's exit status (with ``serve``), or the first non-zero
        worker status (without): non-zero when the search failed.

    Raises:
        ConfigError: If a chief beyond loopback has no token.
    """
    host, port = chief or ("127.0.0.1", 0)
    token = token or os.environ.get(ENV_TOKEN) or None
    if serve:
        check_exposure(host, token)
        token = token or secrets.token_hex(16)
        port = port or free_port(host)
    # Workers of several machines on one chief need IDs unique across them.
    prefix = "worker" if chief is None else f"worker-{_host_id()}"
    group = WorkerProcesses(command, workers, gpus, prefix=prefix)
    chief_process = None
    try:
        if serve:
            env = worker_environment(
                CHIEF, host, port, token, lease=lease, gpu="" if gpus else None
            )
            chief_process = group.spawn(env, CHIEF)
        group.start(host, port, token, lease)
        while True:
            if chief_process is not None and chief_process.poll() is not None:
                break
            # Workers exit 0 once the chief told them the search ended; the
            # chief may still be finishing it (its files, the refit): wait,
            # also when another worker died on the way (its trial ran again).
            # Only when none was told would the chief wait for no one.
            if group.all_exited() and (
                chief_process is None or (group.failures() and not group.told())
            ):
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("launch: interrupted; ending every process", file=sys.stderr, flush=True)
        _end([*group.processes.values(), *filter(None, [chief_process])], 0.0)
        return 130
    if chief_process is not None and chief_process.poll() is None:
        # Every worker exited, some with an error: the chief would wait for
        # trials that no one runs.
        print(
            "launch: "
            + (group.all_exited() or "the workers exited")
            + "; ending the chief",
            file=sys.stderr,
            flush=True,
        )
        _end([chief_process], 0.0)
        group.stop(0.0)
        return 1
    why = None  # the default: still running after the search ended
    if chief_process is not None and chief_process.returncode != 0:
        why = (
            f"still running {grace:g}s after the chief exited with status "
            f"{chief_process.returncode}"
        )
    group.stop(grace, why=why)
    if chief_process is not None:
        status = chief_process.returncode
        if status == 0 and group.failures():
            print(f"launch: {group.failures()}", file=sys.stderr, flush=True)
        return status
    return next((p.returncode for p in group.processes.values() if p.returncode), 0)
