"""The HParams dashboard: a search's domains and one session per trial."""

from __future__ import annotations

import time
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp
from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.plugins.hparams import summary_v2 as hparams_api

from keras_hpo.search_space.importance import IMPORTANCE

__all__ = [
    "IMPORTANCE",
    "STATUS_COLUMN",
    "STATUS_VALUES",
    "experiment_summary",
    "metric_columns",
    "order_hyperparameters",
    "session_end_summary",
    "session_start_summary",
]

#: How many hyperparameter columns TensorBoard's HParams table shows by default.
DEFAULT_COLUMNS = 5

#: The pseudo-hyperparameter that carries each trial's `TrialStatus` value
#: (TensorBoard's own session status only knows success and failure); a
#: discrete column, so the dashboard can filter trials by how they ended.
STATUS_COLUMN = "trial_status"
STATUS_VALUES = ("completed", "stopped_early", "pruned", "failed")


def order_hyperparameters(
    space: Iterable[kt_hp.HyperParameter], importance: Sequence[str] = IMPORTANCE
) -> list:
    """Orders a search space so that the hyperparameters that matter come first.

    The rule: hyperparameters that take more than one value before fixed ones;
    among them, unconditional ones before conditional ones (for instance
    ``units_2``, active only with 3 layers); then the names in ``importance``
    in that order; then the order of declaration.

    Args:
        space: The hyperparameters.
        importance: Names, most important first (the hypermodel's own order,
            see `keras_hpo.protocols.DataAwareHyperModel`).
    """
    space = list(space)

    def rank(item: tuple[int, kt_hp.HyperParameter]) -> tuple:
        position, hp = item
        fixed = isinstance(hp, kt_hp.Fixed)
        known = importance.index(hp.name) if hp.name in importance else len(importance)
        return (fixed, bool(hp.conditions), known, position)

    return [hp for _, hp in sorted(enumerate(space), key=rank)]


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return str(value)


def _domain(hp: kt_hp.HyperParameter):
    if isinstance(hp, kt_hp.Boolean):
        return hparams_api.Discrete([False, True]), "boolean"
    if isinstance(hp, kt_hp.Fixed):
        return hparams_api.Discrete([_plain(hp.value)]), "fixed"
    if isinstance(hp, kt_hp.Choice):
        values = [_plain(v) for v in hp.values]
        if len({type(v) for v in values}) > 1:
            values = [str(v) for v in values]
        return hparams_api.Discrete(values), "one of the listed values"
    sampling = getattr(hp, "sampling", "linear") or "linear"
    scale = {"log": "log scale", "reverse_log": "reverse-log scale"}.get(
        sampling, "linear scale"
    )
    step = f", step {hp.step}" if getattr(hp, "step", None) else ""
    if isinstance(hp, kt_hp.Int):
        return hparams_api.IntInterval(int(hp.min_value), int(hp.max_value)), (
            f"integer in [{hp.min_value}, {hp.max_value}], {scale}{step}"
        )
    return hparams_api.RealInterval(float(hp.min_value), float(hp.max_value)), (
        f"in [{hp.min_value:g}, {hp.max_value:g}], {scale}{step}"
    )


def _conditions(hp: kt_hp.HyperParameter) -> str:
    parts = []
    for condition in hp.conditions:
        config = condition.get_config()
        parts.append(f"{config.get('name')} in {config.get('values')}")
    return f"; active when {' and '.join(parts)}" if parts else ""


def metric_columns(objective: str, logged: Iterable[str], epochs: bool = True) -> list:
    """The HParams metrics of a search: its objective first.

    Per trial, the trial's own run holds ``best/<metric>`` (every metric at
    the best epoch), ``epochs_run`` and ``best_epoch``; the final epoch's
    values are read from the ``train`` and ``validation`` runs under the
    trial, as Keras names them (``epoch_<metric>``).

    Args:
        objective: The objective's name, e.g. ``"val_accuracy"``.
        logged: Every metric name the model logs (``val_`` ones included).
        epochs: Whether trials train in epochs; without (scikit-learn
            estimators) only the scores are columns: nothing writes the
            others.
    """
    names = [objective] + sorted(set(logged) - {objective})
    where = "at the trial's best epoch" if epochs else "of the trial"
    columns = [
        hparams_api.Metric(
            f"best/{objective}",
            display_name=f"{objective} (best epoch)" if epochs else objective,
            description=f"The objective {where}: its score.",
        )
    ]
    if not epochs:
        return columns + [
            hparams_api.Metric(f"best/{name}", display_name=name) for name in names[1:]
        ]
    for name in sorted(names, key=lambda n: (not n.startswith("val_"), n)):
        group = "validation" if name.startswith("val_") else "train"
        tag = f"epoch_{name[4:] if name.startswith('val_') else name}"
        columns.append(
            hparams_api.Metric(tag, group=group, display_name=f"{name} (last epoch)")
        )
    for name in names[1:]:
        columns.append(
            hparams_api.Metric(f"best/{name}", display_name=f"{name} (best epoch)")
        )
    columns.append(hparams_api.Metric("epochs_run", display_name="epochs run"))
    columns.append(
        hparams_api.Metric("best_epoch", display_name="best epoch (1-based)")
    )
    return columns


def experiment_summary(
    space: Iterable[kt_hp.HyperParameter],
    metrics: list,
    importance: Sequence[str] = IMPORTANCE,
) -> summary_pb2.Summary:
    """The HParams experiment: every hyperparameter's domain, and the metrics.

    TensorBoard (2.21) lists hyperparameters with ``differs`` set first, each
    group by name, and shows the first `DEFAULT_COLUMNS`; ``differs`` is set
    on the `DEFAULT_COLUMNS` most important tunable hyperparameters, so those
    are the columns a user sees first. ``trial_status`` comes last.

    Args:
        space: The search space (keras-tuner hyperparameters), in any order;
            it is ordered by `order_hyperparameters`.
        metrics: From `metric_columns`.
        importance: As for `order_hyperparameters`.
    """
    infos = []
    for rank, hp in enumerate(order_hyperparameters(space, importance)):
        domain, description = _domain(hp)
        info = api_pb2.HParamInfo(
            name=hp.name,
            description=description + _conditions(hp),
            differs=rank < DEFAULT_COLUMNS and not isinstance(hp, kt_hp.Fixed),
        )
        domain.update_hparam_info(info)
        infos.append(info)
    status = api_pb2.HParamInfo(
        name=STATUS_COLUMN, description="How the trial ended (not a hyperparameter)."
    )
    hparams_api.Discrete(list(STATUS_VALUES)).update_hparam_info(status)
    infos.append(status)
    experiment = api_pb2.Experiment(
        hparam_infos=infos,
        metric_infos=[metric.as_proto() for metric in metrics],
        time_created_secs=time.time(),
    )
    return _plugin_summary(
        metadata.EXPERIMENT_TAG,
        plugin_data_pb2.HParamsPluginData(experiment=experiment),
    )


def _plugin_summary(tag: str, data: plugin_data_pb2.HParamsPluginData):
    summary = summary_pb2.Summary()
    summary.value.add(
        tag=tag,
        metadata=metadata.create_summary_metadata(data),
        tensor=metadata.NULL_TENSOR,
    )
    return summary


def session_start_summary(
    group: str, values: dict[str, Any], status: str, start_time: float
) -> summary_pb2.Summary:
    """A trial's session: its hyperparameter values and status, named ``group``."""
    plain = {name: _plain(value) for name, value in values.items() if value is not None}
    plain[STATUS_COLUMN] = status
    return hparams_api.hparams_pb(plain, trial_id=group, start_time_secs=start_time)


def session_end_summary(status: str, end_time: float | None = None):
    """The end of a trial's session.

    TensorBoard's session status is success for every trial with a score
    (completed, stopped early or pruned) and failure for failed ones; the
    exact `TrialStatus` value is the ``trial_status`` column.
    """
    info = plugin_data_pb2.SessionEndInfo(
        status=api_pb2.STATUS_FAILURE if status == "failed" else api_pb2.STATUS_SUCCESS,
        end_time_secs=time.time() if end_time is None else end_time,
    )
    return _plugin_summary(
        metadata.SESSION_END_INFO_TAG,
        plugin_data_pb2.HParamsPluginData(session_end_info=info),
    )
