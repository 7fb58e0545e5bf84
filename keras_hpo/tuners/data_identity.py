"""What data a search was run on: saved with it, compared when it is resumed.

A project resumed with other data (another CSV file under the same name, a
second ``fit`` on another table, a script pointed at another data set) would
rank trials trained on two data sets together, and refit its best
configuration on data that its scores do not describe. The shape of a
sample, and a table's column names, are saved with the search's identity
(`resume.search_identity`, under ``"data"``) and compared before the first
trial of a resumed search. Rows may change (more data, another split); the
features may not. Data that has no shape to read (a ``tf.data.Dataset``, a
generator) is not compared.
"""

from __future__ import annotations

from typing import Any

from keras_hpo.errors import ConfigError

__all__ = ["check_same_data", "data_identity"]

#: Column names shown in a message, at most.
_SHOWN = 5


def _inputs(fit_args: tuple, fit_kwargs: dict) -> Any:
    return fit_args[0] if fit_args else fit_kwargs.get("x")


def data_identity(fit_args: tuple, fit_kwargs: dict) -> dict[str, Any] | None:
    """The shape of a sample, and a table's column names, of ``search``'s data.

    Args:
        fit_args: ``search``'s positional arguments (``x`` first).
        fit_kwargs: Its keyword arguments.

    Returns:
        ``{"features": [...]}`` (a sample's shape), with ``"columns"`` for a
        pandas DataFrame; ``None`` for data without a shape to read.
    """
    x = _inputs(fit_args, fit_kwargs)
    columns = getattr(x, "columns", None)
    shape = getattr(x, "shape", None)
    if shape is None or isinstance(x, dict) or not hasattr(x, "__len__"):
        return None
    try:
        features = [int(d) for d in tuple(shape)[1:]]
    except (TypeError, ValueError):  # an unknown dimension
        return None
    identity: dict[str, Any] = {"features": features}
    if columns is not None:
        identity["columns"] = [str(c) for c in columns]
    return identity


def _features(identity: dict[str, Any]) -> str:
    features = identity["features"]
    if len(features) == 1:
        return f"{features[0]} feature{'s' if features[0] != 1 else ''}"
    return f"samples of shape {tuple(features)}"


def _names(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    differences = []
    if saved.get("features") != current["features"]:
        differences.append(
            f"it was searched on {_features(saved)}, this data has {_features(current)}"
        )
    before, now = saved.get("columns"), current.get("columns")
    if isinstance(before, list) and now is not None and before != now:
        gone = [c for c in before if c not in now]
        new = [c for c in now if c not in before]
        if gone:
            differences.append(f"the columns {_names(gone)} are missing")
        if new:
            differences.append(f"the columns {_names(new)} are new")
        if not gone and not new:
            differences.append("the columns are in another order")
    return differences


def check_same_data(
    project_dir: str,
    saved: dict[str, Any] | None,
    current: dict[str, Any] | None,
    same_tuner: bool = False,
) -> None:
    """Refuses to resume a project with data of other features.

    Args:
        project_dir: The project being resumed.
        saved: The search identity the project was saved with (its
            ``"data"`` is compared; a project without one is not).
        current: This search's `data_identity` (``None``: not compared).
        same_tuner: Whether ``saved`` is this tuner's earlier search (a
            second ``search`` or ``fit`` call): the way out is then a new
            tuner.

    Raises:
        ConfigError: If a sample's shape, or the table's columns, differ.
    """
    before = saved.get("data") if isinstance(saved, dict) else None
    if not isinstance(before, dict) or current is None:
        return
    if not isinstance(before.get("features"), list):
        return
    differences = _differences(before, current)
    if not differences:
        return
    way_out = "Pass overwrite=True to start afresh, or a new project_name to keep both."
    if same_tuner:
        way_out = (
            "A tuner searches one data set: create a new one for this data, with "
            "overwrite=True to replace this project or a new project_name to keep "
            "both."
        )
    raise ConfigError(
        f"{project_dir} holds a search of other data, so resuming it would rank "
        f"trials trained on two data sets together and refit the best of them on "
        f"this one: {'; '.join(differences)}. {way_out}"
    )
