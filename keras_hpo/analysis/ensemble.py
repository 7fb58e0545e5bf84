"""An ensemble of trained models as one ordinary Keras model.

`build_ensemble` wraps the top trials' models, each called on the same
inputs, into one functional Keras model: ``"mean"`` averages their outputs
(class probabilities, or regression values), with ``weights`` a weighted
average, ``"vote"`` outputs each class's share of the members' votes (each
member votes for its most probable class; ties go to the class with the
highest mean probability). `greedy_weights` chooses the weights of
``"greedy"``: Caruana et al.'s ensemble selection (ICML 2004, as
auto-sklearn does), starting from the best member, others added one at a
time, with replacement, while their average's validation score (accuracy,
or loss) improves. The result saves
and loads with ``model.save`` / ``keras.models.load_model`` like any model
(``"vote"`` uses `MajorityVote`, registered with Keras when
``keras_hpo`` is imported). This module builds models; it must not train
them or know about trials.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keras_hpo.errors import bad_value
from keras_hpo.hypermodels.tabular import TabularModel

__all__ = ["METHODS", "MajorityVote", "build_ensemble", "greedy_weights"]

#: The ways members are combined.
METHODS = ("mean", "vote", "greedy")

#: The weight of the mean probability in a vote: it only breaks ties.
_TIE_BREAK = 1e-4


@keras.saving.register_keras_serializable(package="keras_hpo")
class MajorityVote(keras.layers.Layer):
    """Each class's share of votes from several models' probabilities.

    Called on a list of tensors of shape (batch, classes) (one per member),
    it returns (batch, classes) shares that sum to 1; with one output unit
    (a binary classifier's probability of class 1) the share of members
    that say class 1. A tie goes to the class with the highest mean
    probability (it adds at most ``1e-4`` to a share before normalising).
    """

    def call(self, inputs: list[Any]) -> Any:
        """The vote shares of the members' outputs ``inputs``."""
        ops = keras.ops
        stacked = ops.stack(inputs, axis=0)  # (members, batch, classes)
        mean = ops.mean(stacked, axis=0)
        if stacked.shape[-1] == 1:
            votes = ops.mean(ops.cast(stacked >= 0.5, mean.dtype), axis=0)
            return ops.clip(votes + _TIE_BREAK * (mean - 0.5), 0.0, 1.0)
        classes = stacked.shape[-1]
        votes = ops.mean(ops.one_hot(ops.argmax(stacked, axis=-1), classes), axis=0)
        votes = ops.cast(votes, mean.dtype) + _TIE_BREAK * mean
        return votes / ops.sum(votes, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape: list[tuple]) -> tuple:
        """One member's output shape."""
        return tuple(input_shape[0])


def greedy_weights(
    predictions: list[np.ndarray],
    y: Any,
    task: str | None,
    rounds: int = 20,
    *,
    by: str = "loss",
) -> list[float]:
    """Ensemble selection: how much of each member the average should hold.

    Starts from the first member (the best trial: members come best
    first), then adds, one round at a time and with replacement, the member
    whose addition improves the (equally weighted) average most; it stops
    when no addition improves it, or after ``rounds``. "Improves" is judged
    by ``by``: ``"loss"`` (the cross-entropy for classifiers, the mean
    squared error otherwise, so also R^2) or, for classifiers,
    ``"accuracy"`` (ties broken by the cross-entropy), so the selection
    optimizes what the search ranked trials by, as Caruana et al. (2004)
    optimize their metric. A member's weight is how often it was added:
    the first member alone, if nothing improves on it.

    Args:
        predictions: Each member's outputs on the validation data, the
            member to start from first.
        y: The validation targets (labels, one-hot rows, or values).
        task: ``"classification"``, ``"binary"``, ``"regression"`` or ``None``.
        rounds: The most members added after the first.
        by: ``"loss"`` or ``"accuracy"`` (classifiers only).

    Returns:
        One weight per member, summing to 1.

    Raises:
        ValueError: For an unknown ``by``, or ``"accuracy"`` without a
            classifier.
    """
    if by not in ("loss", "accuracy"):
        raise bad_value("by", by, "is not a criterion", "Pass 'loss' or 'accuracy'.")
    if by == "accuracy":
        _require_classifier("by", by, task, "Pass by='loss'.")
    outputs = [np.asarray(p, dtype="float64") for p in predictions]
    target = np.asarray(y)
    if task == "classification" and target.ndim == 2 and target.shape[1] > 1:
        target = target.argmax(-1)

    def loss(average: np.ndarray) -> float:
        if task == "classification":
            labels = target.reshape(-1).astype(int)
            chosen = average[np.arange(len(average)), labels]
            return float(-np.mean(np.log(np.clip(chosen, 1e-7, 1.0))))
        if task == "binary":
            p = np.clip(average.reshape(-1), 1e-7, 1 - 1e-7)
            t = target.reshape(-1)
            return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))
        return float(
            np.mean(
                (average.reshape(len(average), -1) - target.reshape(len(average), -1))
                ** 2
            )
        )

    def accuracy(average: np.ndarray) -> float:
        if task == "binary":
            said = average.reshape(-1) > 0.5
            return float(np.mean(said == (target.reshape(-1) > 0.5)))
        return float(np.mean(average.argmax(-1) == target.reshape(-1)))

    def worse(average: np.ndarray) -> tuple[float, ...]:
        """Lower is better: the loss, or (minus the accuracy, the loss)."""
        if by == "accuracy":
            return (-accuracy(average), loss(average))
        return (loss(average),)

    counts = np.zeros(len(outputs))
    counts[0], total = 1, outputs[0].copy()
    best = worse(total)
    for _ in range(rounds):
        n = counts.sum()
        tried = [worse((total + out) / (n + 1)) for out in outputs]
        pick = min(range(len(tried)), key=tried.__getitem__)
        if tried[pick] >= best:
            break
        counts[pick] += 1
        total += outputs[pick]
        best = tried[pick]
    return [float(c) for c in counts / counts.sum()]


def build_ensemble(
    models: list[keras.Model],
    method: str = "mean",
    *,
    task: str | None = None,
    names: list[str] | None = None,
    name: str = "ensemble",
    weights: list[float] | None = None,
) -> keras.Model:
    """One Keras model combining ``models``, which take the same inputs.

    Args:
        models: Trained models with the same inputs and output shape (the
            ensemble holds copies of them, without their optimizers).
        method: ``"mean"`` (average the outputs; ``"greedy"`` is its
            synonym here, with ``weights`` from `greedy_weights`) or
            ``"vote"`` (majority vote of classifiers).
        task: What the models predict (``"classification"``, ``"binary"``,
            ``"regression"``; ``None``: unknown); ``"vote"`` needs a
            classifier.
        names: A unique name per member (e.g. ``trial_0003``), so the
            members can be told apart in ``model.summary()`` and saved
            together. Defaults to ``member_<i>``.
        name: The ensemble model's name.
        weights: With ``"mean"``, each member's weight (summing to 1);
            members of weight 0 are left out. ``None``: equal weights.

    Returns:
        A functional Keras model, compiled as the first member was (so
        ``evaluate`` reports the same metrics), never trained.

    Raises:
        ValueError: For an unknown method, a vote of a regression, no
            models, or members whose outputs differ in shape.
    """
    if method not in METHODS:
        raise bad_value(
            "method",
            method,
            "is not a way to combine models",
            f"Pass one of {', '.join(map(repr, METHODS))}.",
        )
    if not models:
        raise bad_value("models", models, "is empty", "Pass at least one model.")
    if method == "vote":
        _require_classifier(
            "method",
            method,
            task,
            "Pass method='mean' (it averages regression outputs).",
        )
    shapes = {tuple(m.outputs[0].shape[1:]) for m in models}
    if len(shapes) > 1:
        raise bad_value(
            "models",
            f"{len(models)} models with output shapes {sorted(shapes)}",
            "cannot be combined: their outputs differ in shape",
            "Ensemble trials of one search (one task, one output layer).",
        )
    names = names or [f"member_{i}" for i in range(len(models))]
    if weights is not None:
        if len(weights) != len(models) or min(weights) < 0 or sum(weights) <= 0:
            raise bad_value(
                "weights",
                weights,
                f"must be {len(models)} non-negative numbers, not all 0",
                "Pass one weight per model (or None for equal weights).",
            )
        if method == "vote":
            raise bad_value(
                "weights",
                weights,
                "are for an average, not a vote",
                "Pass method='mean' with weights, or no weights.",
            )
        kept = [i for i, w in enumerate(weights) if w > 0]
        total = float(sum(weights))
        models = [models[i] for i in kept]
        names = [names[i] for i in kept]
        weights = [weights[i] / total for i in kept]
    config = models[0].get_compile_config()
    models = [
        _uncompiled(model, member) for model, member in zip(models, names, strict=True)
    ]
    inputs = _fresh_inputs(models[0])
    outputs = [model(inputs) for model in models]
    if len(outputs) == 1:
        combined = outputs[0]
    elif method != "vote" and weights is not None and len(set(weights)) > 1:
        scaled = [
            keras.layers.Rescaling(w, name=f"weight_{member}")(out)
            for w, member, out in zip(weights, names, outputs, strict=True)
        ]
        combined = keras.layers.Add(name="weighted_mean")(scaled)
    elif method != "vote":
        combined = keras.layers.Average(name="mean")(outputs)
    else:
        combined = MajorityVote(name="vote")(outputs)
    # Members tuned on a table take named columns: so does the ensemble,
    # and a DataFrame too, as each member does (`TabularModel`).
    kind = TabularModel if isinstance(inputs, dict) else keras.Model
    ensemble = kind(inputs, combined, name=name)
    if config:
        ensemble.compile_from_config(config)
    return ensemble


def _require_classifier(name: str, value: str, task: str | None, fix: str) -> None:
    """Raises the error of an argument that needs classifiers, for another task."""
    if task not in ("classification", "binary"):
        raise bad_value(
            name,
            value,
            f"needs classifiers, and these models predict {task or 'an unknown task'}",
            fix,
        )


def _uncompiled(model: keras.Model, name: str) -> keras.Model:
    """A copy of ``model`` with its weights, named ``name``, without optimizer.

    A compiled member would carry its optimizer into the ensemble's file,
    and loading it would warn that the optimizer's variables do not match.
    """
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.name = name
    return copy


def _fresh_inputs(model: keras.Model) -> Any:
    """New ``keras.Input``s shaped like ``model``'s, in the same structure."""
    try:
        struct = model.input
    except (AttributeError, ValueError):
        struct = list(model.inputs)
    if isinstance(struct, (list, tuple)) and len(struct) == 1:
        struct = struct[0]
    if isinstance(struct, dict):
        return {
            key: keras.Input(shape=t.shape[1:], dtype=t.dtype, name=key)
            for key, t in struct.items()
        }
    return keras.tree.map_structure(
        lambda t: keras.Input(shape=t.shape[1:], dtype=t.dtype), struct
    )
