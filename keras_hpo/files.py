"""State files written so that a killed process never leaves half of one."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

__all__ = ["RESTART", "atomic_write_json", "foreign_file", "read_json"]


def atomic_write_json(path: str, data: Any) -> None:
    """Writes JSON so that a reader sees the old file or the new one, never half.

    Args:
        path: Destination file.
        data: JSON-serialisable data.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1, allow_nan=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
