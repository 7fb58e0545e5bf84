"""A project folder on disk: whose it is, who owns it now, what may delete it.

A search writes everything under ``<directory>/<project_name>``. Three rules
keep a user's files safe there:

* **Provably ours.** A folder keras_hpo creates (or finds empty) gets a
  marker file, `PROJECT_FILE`. ``overwrite=True`` deletes only a folder that
  carries it, never ``directory`` itself, never anything outside it, never
  through a symbolic link. ``project_name`` is one folder name.
* **One owner at a time.** A process works on a project only while it holds
  the project's lock (`ProjectLock`): an OS lock on `LOCK_FILE` that the
  kernel releases when the process dies, so a killed search never leaves a
  stale lock. A second process fails at once, naming the owner.
* **Resume or refuse.** A folder holding any keras_hpo state is resumed or
  refused, never started over (`check_resumable`).
"""

from __future__ import annotations

import datetime
import errno
import json
import os
import shutil
import socket
import sys
from typing import Any

from keras_hpo.compat import has_chief_oracle
from keras_hpo.compat import is_chief_oracle
from keras_hpo.errors import ProjectInUseError
from keras_hpo.errors import bad_type
from keras_hpo.errors import bad_value
from keras_hpo.files import RESTART
from keras_hpo.files import atomic_write_json
from keras_hpo.files import read_json

__all__ = [
    "LOCK_FILE",
    "PROJECT_FILE",
    "ProjectLock",
    "check_project_name",
    "check_resumable",
    "open_project",
    "is_empty",
    "mark_project",
    "overwrite_project",
    "project_identity",
]

#: The marker that makes a folder a keras_hpo project (JSON).
PROJECT_FILE = "keras_hpo_project.json"
#: The file a project's owner holds an OS lock on; it says who the owner is.
LOCK_FILE = "keras_hpo.lock"
_MARK = "keras_hpo project"

_CHIEF_WORKER = (
    "To train one search's trials in several processes, run it with "
    "search(..., workers=N) or `keras-hpo launch --workers N -- python "
    'script.py` (see the README\'s "Many GPUs and machines"); otherwise '
    "give each process its own project_name."
)


def check_project_name(project_name: Any) -> str | None:
    """Refuses a ``project_name`` that is not one plain folder name.

    Raises:
        ConfigTypeError: If it is not a string (or ``None``).
        ConfigError: If it is empty, ``.`` or ``..``, absolute, or holds a
            path separator.
    """
    if project_name is None:
        return None
    fix = 'Pass one folder name, e.g. project_name="mnist_bayesian".'
    if not isinstance(project_name, str):
        raise bad_type("project_name", project_name, "a folder name (str)", fix)
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    if (
        project_name in ("", ".", "..")
        or os.path.isabs(project_name)
        or any(sep in project_name for sep in separators)
        or "\0" in project_name
    ):
        raise bad_value(
            "project_name",
            project_name,
            "must be one folder name inside `directory` (no path separators, "
            "not '.', '..' or empty)",
            fix + " Put the parent folders in directory=...",
        )
    return project_name


def is_empty(path: str) -> bool:
    """Whether ``path`` is missing or an empty folder (lock file aside)."""
    if not os.path.lexists(path):
        return True
    if os.path.islink(path) or not os.path.isdir(path):
        return False
    return not [name for name in os.listdir(path) if name != LOCK_FILE]


def _is_marked(project_dir: str) -> bool:
    marker = os.path.join(project_dir, PROJECT_FILE)
    if os.path.islink(marker) or not os.path.isfile(marker):
        return False
    try:
        with open(marker, encoding="utf-8") as handle:
            return json.load(handle).get("format") == _MARK
    except (OSError, ValueError, AttributeError):
        return False


def mark_project(project_dir: str) -> None:
    """Writes the marker that makes ``project_dir`` a keras_hpo project.

    Call it only for a folder keras_hpo created or found empty.
    """
    atomic_write_json(
        os.path.join(project_dir, PROJECT_FILE),
        {
            "format": _MARK,
            "version": 1,
            "created": datetime.datetime.now().astimezone().isoformat(),
        },
    )


def project_identity(project_dir: str) -> str:
    """Which project a folder holds: its name and when it was created.

    A project made again (``overwrite=True``) is another project. Read from
    `PROJECT_FILE`; the name alone for a folder without one.
    """
    name = os.path.basename(os.path.normpath(project_dir))
    try:
        created = read_json(os.path.join(project_dir, PROJECT_FILE), "")["created"]
    except (OSError, ValueError, KeyError, TypeError):
        return repr(name)
    return f"{name!r} created {created}"


def overwrite_project(directory: str, project_name: str) -> None:
    """Deletes the project folder ``directory/project_name`` for a fresh start.

    Only a keras_hpo project folder is deleted: a real folder (not a link)
    directly inside ``directory`` that carries `PROJECT_FILE`. The caller
    holds the project's lock; the lock file is kept.

    Raises:
        ConfigError: If the path is not such a folder; the message names
            it, says why, and says what to do.
    """
    project_dir = os.path.join(directory, project_name)
    if is_empty(project_dir):
        return
    reason = None
    if os.path.islink(project_dir):
        reason = "it is a symbolic link (to " + os.path.realpath(project_dir) + ")"
    elif not os.path.isdir(project_dir):
        reason = "it is a file, not a folder"
    elif os.path.dirname(os.path.realpath(project_dir)) != os.path.realpath(directory):
        reason = "it is not a folder directly inside `directory`"
    elif not _is_marked(project_dir):
        reason = f"it holds files that keras_hpo did not make (no {PROJECT_FILE} in it)"
    if reason:
        raise bad_value(
            "overwrite",
            True,
            f"refusing to delete {os.path.abspath(project_dir)}: {reason}",
            "keras_hpo deletes only a project folder it made itself. Pass a new "
            "project_name, or delete or move that folder yourself if it is "
            "yours to delete.",
        )
    for name in os.listdir(project_dir):
        if name == LOCK_FILE:
            continue
        path = os.path.join(project_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def check_resumable(project_dir: str, tuner_file: str) -> None:
    """Makes sure a folder with keras_hpo state is resumed, never restarted.

    keras-tuner starts afresh when the tuner's state file is missing, and
    its new trials then overwrite the finished ones. Here a missing tuner
    file is recreated when the oracle's state is there (the tuner file
    holds no trial), and a folder with trials but no oracle state is
    refused.

    Args:
        project_dir: The project folder.
        tuner_file: The tuner's state file (``tuner0.json``).

    Raises:
        FileNotFoundError: If the folder holds trials or search state but no
            ``oracle.json``.
    """
    if os.path.exists(tuner_file) or not os.path.isdir(project_dir):
        return
    oracle_file = os.path.join(project_dir, "oracle.json")
    if os.path.exists(oracle_file):
        atomic_write_json(tuner_file, {})
        print(
            f"{tuner_file} was missing; resuming from {oracle_file}.",
            file=sys.stderr,
            flush=True,
        )
        return
    state = [
        name
        for name in sorted(os.listdir(project_dir))
        if name.startswith("trial_") or name in ("search.json", "summary.json")
    ]
    if state:
        shown = ", ".join(state[:4]) + (", ..." if len(state) > 4 else "")
        raise FileNotFoundError(
            f"{oracle_file} is missing, but {project_dir} holds a search "
            f"({shown}), so it can neither be resumed nor started over without "
            f"losing its trials. Restore the file. {RESTART}"
        )


class ProjectLock:
    """The OS lock that makes one process the owner of a project folder.

    ``acquire`` takes an exclusive, non-blocking lock on `LOCK_FILE` and
    writes the owner's pid, host and start time into it; ``release`` (or
    the owner's death: the kernel drops the lock) lets it go. The lock is
    per open file, so two tuners in one process on one project exclude each
    other too while both hold it.

    Args:
        project_dir: The project folder (created if needed).
    """

    def __init__(self, project_dir: str):
        self.project_dir = project_dir
        self.path = os.path.join(project_dir, LOCK_FILE)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Takes the lock, or fails at once.

        Raises:
            ProjectInUseError: If another process (or another tuner of this
                one) holds it; the message names the project and the owner.
        """
        if self._fd is not None:
            return
        os.makedirs(self.project_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            _lock(fd)
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise ProjectInUseError(
                f"{os.path.abspath(self.project_dir)} is in use by another search "
                f"({self.owner()}). A project has one owner at a time: wait for "
                "that search to end, or pass another project_name. " + _CHIEF_WORKER
            ) from None
        self._fd = fd
        owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.datetime.now().astimezone().isoformat(),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(owner).encode())

    def owner(self) -> str:
        """Who holds the lock, as its file says (pid, host, since when)."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                owner = json.load(handle)
            return f"pid {owner['pid']} on host {owner['host']}, since {owner['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "its owner has not written its pid yet"

    def release(self) -> None:
        """Lets the lock go (the file stays; it is reused)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            _unlock(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> ProjectLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __getstate__(self) -> dict[str, Any]:
        # A copy (an isolated trial's process) never holds the lock.
        return {"project_dir": self.project_dir, "path": self.path, "_fd": None}


if sys.platform == "win32":  # pragma: no cover - not tested here
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 1 << 20, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _check_directory(directory: Any) -> str:
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise bad_type(
            "directory", directory, "a folder path", 'E.g. directory="runs".'
        )
    if directory is not None and not os.fspath(directory):
        raise bad_value("directory", directory, "is empty", 'E.g. directory="runs".')
    path = os.fspath(directory) if directory is not None else "."
    existing = os.path.abspath(path)
    while not os.path.lexists(existing) and os.path.dirname(existing) != existing:
        existing = os.path.dirname(existing)
    if os.path.exists(existing) and not os.path.isdir(existing):
        if existing == os.path.abspath(path):
            problem = "is a file, not a folder"
        else:
            problem = f"goes through {existing!r}, which is a file, not a folder"
        raise bad_value(
            "directory",
            directory,
            problem + "; the search writes its project folder inside `directory`",
            'Name a folder (it is created if missing), e.g. directory="runs".',
        )
    return path


def open_project(kwargs: dict) -> tuple[ProjectLock, bool]:
    """Checks a tuner's project arguments, takes the lock, overwrites if asked.

    ``kwargs`` are the keras-tuner ``Tuner`` arguments; ``overwrite`` is
    taken out of them (keras-tuner's own overwriting deletes without these
    rules) and ``directory`` is set to the checked folder.

    Returns:
        ``(lock, worker)``: the project's lock, held unless this process is
        a worker of keras-tuner's chief/worker mode (``worker`` True: the
        chief owns the project; workers share it).

    Raises:
        ConfigError: For a bad ``directory``, ``project_name`` or
            ``overwrite``.
        ProjectInUseError: If another process holds the project.
    """
    directory = _check_directory(kwargs.get("directory"))
    project_name = check_project_name(kwargs.get("project_name"))
    overwrite = kwargs.pop("overwrite", False)
    if not isinstance(overwrite, bool):
        raise bad_type("overwrite", overwrite, "True or False", "E.g. False.")
    kwargs["directory"] = directory
    project_dir = os.path.join(directory, project_name or "untitled_project")
    if os.path.exists(project_dir) and not os.path.isdir(project_dir):
        raise bad_value(
            "project_name",
            project_name or "untitled_project",
            f"{project_dir!r} is a file, not a project folder",
            "Pass another project_name, or another directory=.",
        )
    lock = ProjectLock(project_dir)
    if has_chief_oracle() and not is_chief_oracle():
        return lock, True
    fresh = is_empty(project_dir)
    lock.acquire()
    try:
        if overwrite:
            overwrite_project(directory, project_name or "untitled_project")
            fresh = True
        else:
            tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
            check_resumable(project_dir, os.path.join(project_dir, f"{tuner_id}.json"))
        if fresh:
            mark_project(project_dir)
    except BaseException:
        lock.release()
        raise
    return lock, False
