"""State files written so that a killed process never leaves half of one."""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

__all__ = [
    "RESTART",
    "atomic_write",
    "atomic_write_json",
    "check_trial_file",
    "check_trial_id",
    "file_signature",
    "foreign_file",
    "read_json",
    "temp_name",
    "writes_done_on_exit",
]


def temp_name(path: str, suffix: str = "") -> str:
    """A temporary file name next to ``path``, unique to this process and call.

    Two processes (or two threads) writing the same file never share a
    temporary file, so neither can truncate, rename or delete the other's.

    Args:
        path: The destination file.
        suffix: Appended to the name (e.g. ``".weights.h5"``, which Keras
            requires of a weights file).
    """
    directory, name = os.path.split(path)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    return os.path.join(directory, f".{name}.tmp-{token}{suffix}")


def _write_error(err: OSError, path: str) -> OSError:
    """The same kind of error, naming the destination (not a temp file)."""
    detail = err.strerror or str(err)
    message = f"Could not write {path}: {detail}."
    if err.errno == errno.ENOSPC:
        try:
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
            message += f" {free / 2**20:.1f} MiB are free on that disk."
        except OSError:
            pass
        message += (
            " Free some space (or choose another directory); the search resumes "
            "where it stopped when run again."
        )
    new = type(err)(err.errno, message) if err.errno else OSError(message)
    return new


def atomic_write(path: str, write: Callable[[str], None]) -> None:
    """Writes a file so that a reader sees the old file or the new one, never half.

    ``write(tmp)`` writes the content to a temporary file next to ``path``
    (named by `temp_name`, created with the user's umask like any other
    file), which is then renamed over ``path``. On any failure the temporary
    file is removed and the error names ``path`` itself.

    Args:
        path: Destination file.
        write: Writes the whole content to the path it is given.

    Raises:
        OSError: If the file cannot be written (disk full, read-only folder);
            the message names ``path`` and, for a full disk, the free space.
    """
    # Keras picks the format by the file's extension: keep it.
    suffix = next((s for s in (".weights.h5", ".keras") if path.endswith(s)), "")
    tmp = temp_name(path, suffix)
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise _write_error(err, path) from err
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


def atomic_write_json(
    path: str,
    data: Any,
    indent: int | None = 1,
    written: Callable[[], None] | None = None,
) -> None:
    """Writes JSON atomically (see `atomic_write`), synced to the disk.

    Inside `writes_done_on_exit`, the JSON is encoded now and written on
    that context's exit.

    Args:
        path: Destination file.
        data: JSON-serialisable data.
        indent: Indentation for people to read; ``None`` writes one line,
            several times faster for a large file (Python's C encoder).
        written: Called once the file is in place (not for a version that a
            newer one staged by another thread replaced first).

    Raises:
        OSError: If the file cannot be written; the message names ``path``.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    text = json.dumps(data, indent=indent, allow_nan=True)
    staged = getattr(_staging, "writes", None)
    if staged is not None:
        with _staging_lock:
            _in_flight.setdefault(path, [0, -1])[0] += 1
            staged.append((next(_order), path, text, written))
        return
    atomic_write(path, lambda tmp: _write_synced(tmp, text))
    if written is not None:
        written()


def _write_synced(tmp: str, text: str) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


#: The writes `atomic_write_json` staged in this thread (inside
#: `writes_done_on_exit`; ``None`` outside).
_staging = threading.local()
#: Guards `_order` and `_in_flight`, and orders the renames of staged writes.
_staging_lock = threading.Lock()
#: The order in which writes were staged, across threads.
_order = itertools.count()
#: File -> [its staged writes not yet done, order of the newest one in place].
_in_flight: dict[str, list[int]] = {}


@contextlib.contextmanager
def writes_done_on_exit() -> Iterator[None]:
    """Within it, `atomic_write_json` encodes at once and writes on exit.

    For a server answering calls under one lock (the chief): a call encodes
    the state it changed while it holds the lock, and writes, syncs and
    renames the files after it let go of it, so the other calls do not wait
    for the disk. The call answers after the exit, so what it acknowledges
    is on disk, as with writes made at once. Of several versions of one file
    staged by different threads, the newest staged is the one left in
    place: an older one that comes second is dropped. Nested uses write on
    the outermost exit.

    Raises:
        OSError: On exit, if a file could not be written (the first error;
            the other files are still written).
    """
    if getattr(_staging, "writes", None) is not None:
        yield
        return
    writes: list[tuple[int, str, str, Callable[[], None] | None]] = []
    _staging.writes = writes
    try:
        yield
    finally:
        _staging.writes = None
        _write_staged(writes)


def _write_staged(writes: list) -> None:
    """Puts each file's last staged version in place (`writes_done_on_exit`)."""
    last = {path: (order, text, written) for order, path, text, written in writes}
    error: OSError | None = None
    try:
        for path, (order, text, written) in last.items():
            try:
                _put_in_place(path, order, text, written)
            except OSError as err:
                error = error or err
    finally:
        with _staging_lock:
            for _, path, _, _ in writes:
                entry = _in_flight[path]
                entry[0] -= 1
                if not entry[0]:
                    del _in_flight[path]
    if error is not None:
        raise error


def _put_in_place(
    path: str, order: int, text: str, written: Callable[[], None] | None
) -> None:
    """Writes one staged version, unless a newer one is in place already."""
    with _staging_lock:
        if _in_flight[path][1] > order:
            return
    tmp = temp_name(path)
    try:
        _write_synced(tmp, text)
        with _staging_lock:
            if _in_flight[path][1] < order:
                os.replace(tmp, path)
                _in_flight[path][1] = order
                if written is not None:
                    written()
    except OSError as err:
        raise _write_error(err, path) from err
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)


#: What to do about a damaged state file, unless the caller knows better.
RESTART = (
    "Start the search afresh with overwrite=True, or give it a new project_name "
    "to keep this folder as it is."
)


def read_json(path: str, fix: str = RESTART) -> Any:
    """Reads a JSON file, naming the file in the error if it is damaged.

    Args:
        path: The file.
        fix: What the user can do about a damaged file.

    Raises:
        ValueError: If the file is not valid JSON (or not UTF-8 text).
    """
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a valid JSON file ({err}). {fix}") from err


def foreign_file(path: str, expected: str, fix: str = RESTART) -> ValueError:
    """The error for a JSON file that is not what a keras_hpo search writes."""
    return ValueError(
        f"{path} is not {expected}: it was not written by keras_hpo "
        f"(or by this version). {fix}"
    )


#: What a trial ID may be made of: it becomes a folder name, ``trial_<id>``.
TRIAL_ID = re.compile(r"[0-9A-Za-z_-]+\Z")


def check_trial_id(trial_id: Any, path: str, fix: str = RESTART) -> str:
    """Refuses a trial ID read from ``path`` that could not be ours.

    IDs become folder and log-run names, so one such as ``"../../x"`` would
    make a search write outside its project.

    Args:
        trial_id: The ID read from the file.
        path: The file it was read from, for the message.
        fix: What the user can do about it.

    Returns:
        The ID.

    Raises:
        ValueError: If the ID is not a string of ``[0-9A-Za-z_-]``.
    """
    if not isinstance(trial_id, str) or not TRIAL_ID.match(trial_id):
        raise ValueError(
            f"{path} names a trial {trial_id!r}, which is not a keras_hpo trial ID "
            f"(letters, digits, '_' and '-' only): the file was altered or not "
            f"written by keras_hpo. {fix}"
        )
    return trial_id


def check_trial_file(trial_id: Any, path: str, what: str) -> str:
    """Refuses a trial's file that names another trial than its folder's.

    A file moved or swapped into another ``trial_<id>`` folder would make a
    resume mix two trials' results.

    Args:
        trial_id: The trial ID the file holds.
        path: The file, in its trial's folder.
        what: What the file is, for the message (``"the result"``).

    Returns:
        The ID.

    Raises:
        ValueError: If the ID is not ours (`check_trial_id`) or is not the
            folder's.
    """
    check_trial_id(trial_id, path)
    folder = os.path.basename(os.path.dirname(path))
    if folder != f"trial_{trial_id}":
        raise ValueError(
            f"{path} is {what} of trial {trial_id!r}, not of the trial of its "
            f"folder {folder}: the file was moved or altered. Put it back in "
            f"trial_{trial_id}/. {RESTART}"
        )
    return trial_id


def file_signature(path: str) -> tuple[int, int, int] | None:
    """Identifies one version of a file (``None`` if there is none).

    Files written by `atomic_write` are new files, so the signature changes
    with every write, whoever makes it.
    """
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)
