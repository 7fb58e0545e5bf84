"""Reading TensorBoard logs back with TensorBoard's own reader (test helper)."""

from __future__ import annotations

import glob
import os

from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util

__all__ = ["event_files", "hparams", "read_logs"]


def read_logs(log_dir) -> tuple[dict, dict]:
    """Every run's scalars and texts, as TensorBoard loads them.

    Returns:
        ``(scalars, texts)``: run -> tag -> [(step, value)], and run -> tag
        -> [text]. Runs are relative to ``log_dir`` (``"."`` for itself).
    """
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    scalars, texts = {}, {}
    for run in mux.Runs():
        for tag in mux.GetAccumulator(run).Tags()["tensors"]:
            plugin = mux.SummaryMetadata(run, tag).plugin_data.plugin_name
            events = mux.Tensors(run, tag)
            if plugin == "scalars":
                scalars.setdefault(run, {})[tag] = [
                    (e.step, float(tensor_util.make_ndarray(e.tensor_proto)))
                    for e in events
                ]
            elif plugin == "text":
                texts.setdefault(run, {})[tag] = [
                    tensor_util.make_ndarray(e.tensor_proto).item().decode()
                    for e in events
                ]
    return scalars, texts


def hparams(log_dir) -> tuple:
    """The HParams experiment and every session, as TensorBoard parses them.

    Returns:
        ``(experiment, sessions, ends)``: the ``Experiment`` proto (``None``
        if absent), run -> ``SessionStartInfo`` and run -> ``SessionEndInfo``.
    """
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(log_dir))
    mux.Reload()
    content = mux.PluginRunToTagToContent(hparams_metadata.PLUGIN_NAME)
    experiment, sessions, ends = None, {}, {}
    for run, tags in content.items():
        for tag, data in tags.items():
            if tag == hparams_metadata.EXPERIMENT_TAG:
                experiment = hparams_metadata.parse_experiment_plugin_data(data)
            elif tag == hparams_metadata.SESSION_START_INFO_TAG:
                sessions[run] = hparams_metadata.parse_session_start_info_plugin_data(
                    data
                )
            elif tag == hparams_metadata.SESSION_END_INFO_TAG:
                ends[run] = hparams_metadata.parse_session_end_info_plugin_data(data)
    return experiment, sessions, ends


def event_files(log_dir) -> list[str]:
    """Every event file under ``log_dir``, relative to it."""
    pattern = os.path.join(str(log_dir), "**", "events.out.tfevents.*")
    paths = glob.glob(pattern, recursive=True)
    return sorted(os.path.relpath(p, str(log_dir)) for p in paths)
