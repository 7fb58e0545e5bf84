"""Checks of the data given to ``search()``, made before any training."""

from __future__ import annotations

from typing import Any

from keras_hpo.errors import bad_value

__all__ = ["check_fit_data", "num_samples"]


def num_samples(data: Any) -> int | None:
    """The length of the sample axis of an array or a list, else ``None``."""
    shape = getattr(data, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    if isinstance(data, (list, tuple)) and data and not hasattr(data[0], "shape"):
        return len(data)
    return None


def check_fit_data(fit_args: tuple, fit_kwargs: dict) -> int | None:
    """Refuses training data that cannot train, naming the argument.

    Args:
        fit_args: The positional arguments of ``search()`` (``x, y, ...``).
        fit_kwargs: Its keyword arguments (``x=``, ``y=``,
            ``validation_data=``, ``validation_split=``...).

    Returns:
        The number of training samples, when known.

    Raises:
        ValueError: If the data is unusable.
    """
    x = fit_args[0] if fit_args else fit_kwargs.get("x")
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    nx, ny = num_samples(x), num_samples(y)
    if nx == 0:
        raise bad_value("x", x, "no samples", "Pass at least one training sample.")
    if nx is not None and ny is not None and nx != ny:
        raise bad_value(
            "y",
            f"{ny} labels",
            f"x has {nx} samples but y has {ny}",
            "Pass one label per sample.",
        )
    return nx
