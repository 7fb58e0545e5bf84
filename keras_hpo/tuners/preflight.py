"""The checks a search makes before its first trial trains.

Bad data, an objective that is never logged or an early-stopping monitor
that does not exist fail here, in a second, with an error that names the
argument, instead of in every trial. A data-aware hypermodel (see
`keras_hpo.protocols`) is adapted to the data here. These checks only run
for a "plain" fit (keras-tuner's default ``HyperModel.fit`` or one marked
`keras_hpo.protocols.plain_fit`, and ``run_trial`` not overridden): a
user's own ``fit`` may make its validation data and metrics itself. This
module owns the checks; it must not record anything, nor train beyond the
two-sample probe of `check_hook_hyperparameters`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras_tuner.engine import hyperparameters as kt_hp

from keras_hpo import compat
from keras_hpo.errors import bad_value
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.search_space.sklearn_grid import SUBGRID
from keras_hpo.tuners.adaptation import adapt_to
from keras_hpo.tuners.data_checks import LabelRule
from keras_hpo.tuners.data_checks import check_fit_data
from keras_hpo.tuners.data_checks import num_samples

__all__ = [
    "check_fit_knobs",
    "check_hook_hyperparameters",
    "check_metrics_exist",
    "check_objective_is_logged",
    "check_scoring_metrics",
    "logged_metrics",
    "prepare_data",
]


def _xy(fit_args: tuple, fit_kwargs: dict) -> tuple[Any, Any]:
    x = fit_args[0] if fit_args else fit_kwargs.get("x")
    y = fit_args[1] if len(fit_args) > 1 else fit_kwargs.get("y")
    return x, y


def _has_validation(fit_kwargs: dict) -> bool:
    return bool(
        fit_kwargs.get("validation_data") is not None
        or fit_kwargs.get("validation_split")
    )


def prepare_data(
    hypermodel: Any, plain: bool, fit_args: tuple, fit_kwargs: dict
) -> int | None:
    """Checks the data given to ``search`` and adapts the hypermodel to it.

    Args:
        hypermodel: The tuner's hypermodel; adapted if data-aware.
        plain: Whether trials train with a plain fit (labels are then
            checked against the hypermodel's `Labels`).
        fit_args: As given to ``search``.
        fit_kwargs: As given to ``search``.

    Returns:
        Training samples per epoch, when known.

    Raises:
        ConfigError: For bad data (see `data_checks.check_fit_data`).
    """
    aware = isinstance(hypermodel, DataAwareHyperModel)
    labels = None
    if aware and plain and hypermodel.labels is not None:
        labels = LabelRule(*hypermodel.labels)
    raw = bool(getattr(hypermodel, "preprocessing", None))
    nx = check_fit_data(fit_args, fit_kwargs, labels, raw_features=raw)
    x, y = _xy(fit_args, fit_kwargs)
    split = fit_kwargs.get("validation_split") or 0.0
    samples = None
    if nx is not None and isinstance(split, numbers.Real) and 0 <= split < 1:
        samples = int(math.floor(nx * (1.0 - float(split))))  # as Keras cuts
    if aware and x is not None and nx is not None:
        # Not from the rows a validation_split keeps to score the trials.
        adapt_to(hypermodel, fit_args, fit_kwargs)
    return samples


def check_fit_knobs(hypermodel: Any, space: Any, fit_kwargs: dict) -> None:
    """Refuses a ``batch_size`` given to ``search`` while the search tunes it.

    `HyperMLP.fit` trains at the ``batch_size`` given to ``search``: every
    trial would train at that size and record the value it was drawn, so
    ``cv_results_`` and ``best_params_`` would name batch sizes that never
    trained. (A fixed knob is only the default that the given size replaces;
    the tuner records the given size as the trials',
    ``SearchTuner._record_fit_batch_size``.)

    Args:
        hypermodel: The tuner's hypermodel (knobs are read from its
            ``templates``, as `HyperMLP` keeps them).
        space: The search space.
        fit_kwargs: As given to ``search``.

    Raises:
        ConfigError: If ``batch_size`` is given and tuned.
    """
    template = (getattr(hypermodel, "templates", None) or {}).get("batch_size")
    given = fit_kwargs.get("batch_size")
    if template is None or given is None:
        return
    tuned = [
        hp
        for hp in space.space
        if hp.name == template.name and not isinstance(hp, kt_hp.Fixed)
    ]
    if tuned:
        raise bad_value(
            "batch_size",
            given,
            "given to search() while the search tunes the batch size: every trial "
            "would train at this size and still record the size it was drawn",
            "Leave batch_size out of search() to tune it, or stop tuning it (one "
            "value in HyperMLP(batch_size=...), not in param_grid or "
            "param_distributions).",
        )


def check_objective_is_logged(name: str, fit_kwargs: dict) -> None:
    """Refuses a ``val_`` objective when ``search`` got no validation data."""
    if name.startswith("val_") and not _has_validation(fit_kwargs):
        raise bad_value(
            "objective",
            name,
            "a validation metric, but search() was given no validation data",
            "Pass validation_data=(x_val, y_val) or validation_split=0.2 to "
            f"search(), or choose an objective on the training data such as "
            f"{name[4:]!r}.",
        )


def check_metrics_exist(
    build: Callable[[], Any],
    monitored: dict[str, str],
    fit_args: tuple,
    fit_kwargs: dict,
    added: tuple[str, ...] = (),
) -> list[str]:
    """Fails before training if a monitored metric is not logged.

    The metrics are read from an untrained model, built for two samples of
    the data (`logged_metrics`).

    Args:
        build: Builds an untrained model of the search space.
        monitored: Argument name -> the metric it monitors (``objective``,
            ``early_stopping``).
        fit_args: As given to ``search``.
        fit_kwargs: As given to ``search``.
        added: Names that callbacks add to the logs (``scoring=``'s
            scikit-learn scores).

    Returns:
        Every metric name the model logs (``val_`` ones with validation
        data), or ``[]`` when they cannot be known up front.

    Raises:
        ConfigError: Naming the argument whose metric is not logged.
    """
    x, y = _xy(fit_args, fit_kwargs)
    if num_samples(x) is None or num_samples(y) is None:
        return []
    try:
        logged = logged_metrics(build(), x[:2], y[:2])
    except Exception:  # noqa: BLE001 - the trials will report the real error
        return []
    names = set(logged)
    if _has_validation(fit_kwargs):
        names |= {f"val_{name}" for name in logged}
    names |= set(added)
    for argument, name in monitored.items():
        if name not in names:
            raise bad_value(
                argument,
                name,
                "this metric is not logged by the model",
                f"Use one of: {', '.join(sorted(names))}.",
            )
    return sorted(names)


def check_scoring_metrics(
    build: Callable[[], Any], metrics: list[str], fit_args: tuple, fit_kwargs: dict
) -> None:
    """Fails before training if a ``scoring=`` Keras metric cannot score the model.

    Each metric is computed, as ``compile`` would make it, on an untrained
    model's outputs for a few samples of the data: a metric made for
    another task (``"mae"`` on a classifier's class probabilities) fails
    here with its reason, not inside every trial's training step. The
    number of samples differs from the outputs' width, so that labels of
    one column never broadcast against them by chance.

    Args:
        build: Builds an untrained model of the search space.
        metrics: The Keras metric names of ``scoring=``.
        fit_args: As given to ``search``.
        fit_kwargs: As given to ``search``.

    Raises:
        ConfigError: Naming ``scoring``, the metric and the error.
    """
    x, y = _xy(fit_args, fit_kwargs)
    y = y.to_numpy() if hasattr(y, "to_numpy") else y
    if not metrics or not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        return
    try:
        model = build()
        width = model(x[:2]).shape[-1]
        n = 3 if width == 2 else 2
        outputs = model(x[:n])
    except Exception:  # noqa: BLE001 - the trials will report the real error
        return
    if len(x) < n or len(y) < n:
        return
    for name in metrics:
        metric = keras.metrics.get(name)
        if not isinstance(metric, keras.metrics.Metric):
            metric = keras.metrics.MeanMetricWrapper(metric, name=name)
        try:
            metric.update_state(y[:n], outputs)
        except Exception as error:  # noqa: BLE001 - reported with its reason
            reason = str(error).strip().splitlines()[0]
            reason = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:.*$", "", reason)
            reason = reason[:200].rstrip(". ")
            raise bad_value(
                "scoring",
                name,
                f"this Keras metric cannot score the model's outputs (shape "
                f"{tuple(outputs.shape)}) against y (shape {y[:n].shape}): {reason}",
                "Use a metric made for this task's labels and outputs, or a "
                "scikit-learn scorer name (sklearn.metrics.get_scorer_names(), "
                'e.g. "f1_macro" or "roc_auc_ovr" for classes).',
            ) from None


def logged_metrics(model: keras.Model, x: Any, y: Any) -> set[str]:
    """The names of the metrics ``model.evaluate(x, y)`` logs.

    A built model with Keras' own ``test_step`` and metrics logs exactly the
    results of its compiled metrics: with NumPy data they are read from the
    model built for the data's shapes, without tracing a step (0.04 s
    against 0.19 s for a small MLP). Any other model is evaluated.
    """
    own = model.built and all(
        getattr(type(model), name) is getattr(keras.Model, name)
        for name in ("test_step", "compute_metrics", "get_metrics_result")
    )
    if own and isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        compat.symbolic_build(model, (x, y, None))
        return set(model.get_metrics_result())
    return set(model.evaluate(x, y, verbose=0, return_dict=True))


def check_hook_hyperparameters(
    hypermodel: Any, space: Any, fit_args: tuple, fit_kwargs: dict
) -> None:
    """Refuses a ``param_grid`` name that neither a knob nor a hook declares.

    A subclass of `HyperMLP` may name, in a ``param_grid``, hyperparameters
    its hooks declare (``hp.Boolean("batch_norm")`` in ``hidden_block``,
    ``hp.Choice("lr_decay", ...)`` in ``fit``). They are found by building
    a model from a space with the knobs only and, if a name is still
    unexplained, by calling the hypermodel's ``fit`` on two samples for one
    epoch.

    Args:
        hypermodel: The adapted hypermodel (``declares_in_hooks`` true).
        space: The oracle's search space.
        fit_args: As given to ``search``.
        fit_kwargs: As given to ``search``.

    Raises:
        ValueError: Naming ``param_grid``, the name, and every name the
            hypermodel knows.
    """
    probe = kt_hp.HyperParameters()
    hypermodel.declare_hyperparameters(probe)
    knobs = {hp.name for hp in probe.space}
    wanted = [
        hp.name for hp in space.space if hp.name not in knobs and hp.name != SUBGRID
    ]
    if not wanted:
        return
    try:
        model = hypermodel.build(probe)
    except Exception:  # noqa: BLE001 - the trials report a build that fails
        return
    declared = {hp.name for hp in probe.space}
    x, y = _xy(fit_args, fit_kwargs)
    if any(name not in declared for name in wanted) and num_samples(y) is not None:
        try:
            hypermodel.fit(probe, model, x[:2], y[:2], epochs=1, verbose=0)
        except Exception:  # noqa: BLE001, S110 - the trials report real errors
            pass
        declared = {hp.name for hp in probe.space}
    unknown = [name for name in wanted if name not in declared]
    if unknown:
        raise bad_value(
            "param_grid",
            unknown[0],
            f"{unknown[0]!r} is neither a knob of HyperMLP nor a hyperparameter "
            f"that {type(hypermodel).__name__}'s hooks declare",
            f"Use one of: {', '.join(sorted(declared))}.",
        )
