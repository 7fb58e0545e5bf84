"""What data a search was run on: saved with it, compared when it is resumed.

A project resumed with other data (another CSV file under the same name, a
second ``fit`` on another table, a script pointed at another data set or
splitting its data another way) would rank trials trained on two data sets
together, and refit its best configuration on data that its scores do not
describe. The shape of a sample, a table's column names, the number of rows
and a digest of the rows' values (of ``x``, ``y`` and the validation data,
read from up to 1,024 rows spread over the data: a few milliseconds), one
of the sample weights, class weights and ``groups``, and the ``fit``
arguments that change what a score measures (``epochs``,
``steps_per_epoch``, ``initial_epoch``: trials of two trainings are not one
search's either) are saved with the search's identity
(`resume.search_identity`, under ``"data"``) and compared before the first
trial of a resumed search. Data that has no shape to read (a
``tf.data.Dataset``, a generator) is not compared, nor are the rows of a
project saved before they were recorded.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from keras_hpo.errors import ConfigError
from keras_hpo.tuners.data_checks import one_value_per_row

__all__ = ["check_same_data", "data_identity"]

#: Column names shown in a message, at most.
_SHOWN = 5

#: Rows read for the digest, at most (spread evenly over the data).
_DIGEST_ROWS = 1024


def _inputs(fit_args: tuple, fit_kwargs: dict) -> Any:
    return fit_args[0] if fit_args else fit_kwargs.get("x")


def data_identity(
    fit_args: tuple, fit_kwargs: dict, groups: Any = None
) -> dict[str, Any] | None:
    """The shape of a sample, a table's column names, and the rows of the data.

    Args:
        fit_args: ``search``'s positional arguments (``x`` first).
        fit_kwargs: Its keyword arguments.
        groups: ``search``'s ``groups`` (for a ``cv=`` splitter).

    Returns:
        ``{"features": [...]}`` (a sample's shape), with ``"columns"`` for a
        pandas DataFrame, and ``"rows"``, ``"digest"`` (`_rows`) and
        ``"weights"`` (`_weights`) when every part can be read; ``None`` for
        data without a shape to read.
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
    identity: dict[str, Any] = {"features": features, "training": _training(fit_kwargs)}
    if columns is not None:
        identity["columns"] = [str(c) for c in columns]
    rows = _rows(fit_args, fit_kwargs, x)
    if rows is not None:
        identity["rows"], identity["digest"] = rows
        identity["weights"] = _weights(fit_kwargs, groups, rows[0])
    return identity


#: ``fit`` arguments that change what a trial's score measures (a batch
#: size is a hyperparameter each trial records: `preflight.check_fit_knobs`).
_TRAINING = ("epochs", "steps_per_epoch", "initial_epoch")


def _training(fit_kwargs: dict) -> dict[str, Any]:
    """The `_TRAINING` arguments ``search`` got (numbers only)."""
    training = {}
    for name in _TRAINING:
        value = fit_kwargs.get(name)
        if isinstance(value, (bool, np.bool_)):
            continue
        if isinstance(value, (int, np.integer)):
            training[name] = int(value)
        elif isinstance(value, (float, np.floating)):
            training[name] = float(value)
    return training


def _training_text(training: dict[str, Any]) -> str:
    shown = ", ".join(f"{name}={value!r}" for name, value in sorted(training.items()))
    return shown or "fit's defaults (epochs=1)"


def _weights(fit_kwargs: dict, groups: Any, rows: int) -> str | None:
    """A digest of what weighs or groups the rows, or ``None`` if nothing does.

    ``class_weight``, ``groups``, and every other ``fit`` argument with one
    value per row (``sample_weight``, a pipeline's ``clf__sample_weight``):
    scores trained with other weights, or folds of other groups, are not
    the same search's.
    """
    parts = {"groups": groups} if groups is not None else {}
    for name, value in sorted(fit_kwargs.items()):
        if name in ("x", "y", "validation_data", "callbacks"):
            continue
        if name == "class_weight" and value is not None:
            parts[name] = repr(sorted(dict(value).items()))
        elif one_value_per_row(value, rows):
            parts[name] = value
    if not parts:
        return None
    digest = hashlib.blake2b(digest_size=16)
    for name, value in parts.items():
        digest.update(name.encode())
        sample = value.encode() if isinstance(value, str) else _sample(value)
        digest.update(sample if sample is not None else repr(value).encode())
    return digest.hexdigest()


def _rows(fit_args: tuple, fit_kwargs: dict, x: Any) -> tuple[int, str] | None:
    """The number of rows of ``x``, and a digest of the data's values.

    The digest reads ``x``, ``y`` and the validation data at up to
    `_DIGEST_ROWS` rows each, with ``validation_split``; numbers as float64
    (the same values in another dtype are the same data), anything else as
    text. ``None`` when some part has no rows to read.
    """
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    parts = [x, y]
    validation = fit_kwargs.get("validation_data")
    if isinstance(validation, (tuple, list)):
        parts += list(validation[:2])
    elif validation is not None:
        return None  # a Dataset: not read
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr(fit_kwargs.get("validation_split")).encode())
    for part in parts:
        if part is None:
            digest.update(b"none")
            continue
        sample = _sample(part)
        if sample is None:
            return None
        digest.update(sample)
    return len(x), digest.hexdigest()


def _sample(data: Any) -> bytes | None:
    """Up to `_DIGEST_ROWS` rows of ``data``, spread evenly, as bytes to hash."""
    try:
        count = len(data)
    except TypeError:
        return None
    rows = np.unique(np.linspace(0, count - 1, min(count, _DIGEST_ROWS)).astype(int))
    try:
        taken = data.iloc[rows] if hasattr(data, "iloc") else np.asarray(data)[rows]
        sample = np.asarray(taken)
    except (TypeError, ValueError, IndexError):
        return None
    shape = repr((count, *sample.shape[1:])).encode()
    if sample.dtype.kind in "biuf":
        return shape + np.ascontiguousarray(sample, dtype=np.float64).tobytes()
    return shape + "\x1f".join(str(v) for v in sample.ravel()).encode()


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
    if not differences and "weights" in saved and "weights" in current:
        if saved["weights"] != current["weights"]:
            differences.append(
                "its sample weights, class weights or groups differ (scores "
                "trained with other weights, or on folds of other groups)"
            )
    if not differences and "digest" in saved and "digest" in current:
        if saved["digest"] != current["digest"]:
            before_rows, rows = saved.get("rows"), current["rows"]
            counts = (
                f"{before_rows} rows then, {rows} now"
                if before_rows != rows
                else f"the same number, {rows}, with other values"
            )
            differences.append(
                f"its rows differ ({counts}: another file or split; a script that "
                "splits or shuffles its data at random must seed it to resume)"
            )
    return differences


def check_same_data(
    project_dir: str,
    saved: dict[str, Any] | None,
    current: dict[str, Any] | None,
    same_tuner: bool = False,
) -> None:
    """Refuses to resume a project with other data.

    Args:
        project_dir: The project being resumed.
        saved: The search identity the project was saved with (its
            ``"data"`` is compared; a project without one is not).
        current: This search's `data_identity` (``None``: not compared).
        same_tuner: Whether ``saved`` is this tuner's earlier search (a
            second ``search`` or ``fit`` call): the way out is then a new
            tuner.

    Raises:
        ConfigError: If a sample's shape, the table's columns, or the rows
            differ, or the trials trained for other epochs (``epochs``,
            ``steps_per_epoch``, ``initial_epoch``).
    """
    before = saved.get("data") if isinstance(saved, dict) else None
    if not isinstance(before, dict) or current is None:
        return
    if not isinstance(before.get("features"), list):
        return
    differences = _differences(before, current)
    if not differences:
        _check_same_training(project_dir, before, current, same_tuner)
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


def _check_same_training(
    project_dir: str, before: dict[str, Any], current: dict[str, Any], same_tuner: bool
) -> None:
    """Refuses to resume trials trained for other epochs."""
    saved, now = before.get("training"), current.get("training")
    if not isinstance(saved, dict) or saved == now:
        return  # a project saved before it was recorded is not compared
    way_out = (
        "Create a new tuner for it, with overwrite=True to replace this project or "
        "a new project_name to keep both."
        if same_tuner
        else "Pass the same arguments to resume, or overwrite=True to start "
        "afresh, or a new project_name to keep both."
    )
    raise ConfigError(
        f"{project_dir} holds trials trained with {_training_text(saved)}; "
        f"resuming it with {_training_text(now)} would rank trials of two "
        f"trainings together. {way_out}"
    )
