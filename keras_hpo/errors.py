"""Exceptions raised by keras_hpo.

Configuration mistakes raise the built-in ``ValueError`` / ``TypeError``
subclasses below, so that ``except ValueError`` keeps working, and each
message names the argument, echoes the value received and says the fix.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "ConfigError",
    "ConfigTypeError",
    "Described",
    "NotSearchedError",
    "ProjectInUseError",
    "SearchSpaceError",
    "bad_type",
    "bad_value",
]


class ConfigError(ValueError):
    """A configuration argument has an invalid value."""


class ConfigTypeError(TypeError):
    """A configuration argument has the wrong type."""


class NotSearchedError(ValueError, AttributeError):
    """A result was asked for before any trial completed.

    Like scikit-learn's ``NotFittedError``, it is both a ``ValueError`` and an
    ``AttributeError``, so ``hasattr(tuner, "best_params_")`` is ``False``.
    """


class ProjectInUseError(RuntimeError):
    """Another search owns the project folder (see `keras_hpo.tuners.project`)."""


class SearchSpaceError(ConfigError):
    """A search space cannot be used by the strategy it was given to."""


class Described:
    """A value a message shows by a description, with the value's own type.

    For values too large to print: ``bad_value("x", Described("array of shape
    (5, 10)", x), ...)`` reads "Received: x=array of shape (5, 10) (of type
    ndarray)", where the description itself would read "(of type str)".

    Args:
        text: What the message shows.
        value: The value received (its type is named).
    """

    def __init__(self, text: str, value: Any):
        self.text = text
        self.type_name = type(value).__name__


def _describe(value: Any) -> str:
    if isinstance(value, Described):
        return f"{value.text} (of type {value.type_name})"
    family = getattr(getattr(value, "dist", None), "name", None)
    if family is not None and hasattr(value, "args"):  # a frozen scipy distribution
        parts = [repr(a) for a in value.args]
        parts += [f"{k}={v!r}" for k, v in getattr(value, "kwds", {}).items()]
        return f"scipy.stats.{family}({', '.join(parts)})"
    text = repr(value)
    # A path is read from its end (the file's name), so it is kept longer.
    limit = 240 if isinstance(value, (str, os.PathLike)) else 80
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} (of type {type(value).__name__})"


def bad_value(argument: str, value: Any, problem: str, fix: str) -> ConfigError:
    """Builds a `ConfigError` that names the argument, the value and the fix.

    Args:
        argument: The argument's name as the user wrote it, e.g. ``"units"``.
        value: The value received.
        problem: What is wrong with it.
        fix: What to do instead.

    Returns:
        The error, ready to raise.
    """
    return ConfigError(
        f"`{argument}`: {problem}. Received: {argument}={_describe(value)}. {fix}"
    )


def bad_type(argument: str, value: Any, expected: str, fix: str) -> ConfigTypeError:
    """Builds a `ConfigTypeError` that names the argument, the value and the fix.

    Args:
        argument: The argument's name as the user wrote it.
        value: The value received.
        expected: The types accepted, in words.
        fix: What to do instead.

    Returns:
        The error, ready to raise.
    """
    return ConfigTypeError(
        f"`{argument}` must be {expected}. "
        f"Received: {argument}={_describe(value)}. {fix}"
    )
