"""What the execution layer asks of a hypermodel, as a small protocol.

Any ``keras_tuner.HyperModel`` (or a ``build(hp)`` function) can be searched.
A hypermodel that also implements `DataAwareHyperModel` gets more from the
tuners: it learns from the data before the first trial (input shape,
scaling), the data is checked against its labels before any training, a
search without ``objective=`` uses its default, the HParams dashboard shows
its important hyperparameters first, and a resumed search checks that its
scores still mean the same. `keras_hpo.HyperMLP` implements it; so can a
user's hypermodel. The tuners test ``isinstance(model, DataAwareHyperModel)``
and never name a hypermodel class.

This module owns the protocol and nothing else: it must not import a
hypermodel or a tuner.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import Protocol
from typing import runtime_checkable

__all__ = [
    "DataAwareHyperModel",
    "FusableHyperModel",
    "Labels",
    "is_plain_fit",
    "plain_fit",
]


class Labels(NamedTuple):
    """What a hypermodel's labels must look like (checked before training).

    Attributes:
        task: ``"classification"`` (integers in ``[0, num_classes)``),
            ``"binary"`` (0 or 1) or ``"regression"`` (finite numbers).
        num_classes: The number of classes, for ``"classification"``.
        output_dim: The number of regression targets.
    """

    task: str
    num_classes: int | None = None
    output_dim: int = 1


@runtime_checkable
class DataAwareHyperModel(Protocol):
    """A hypermodel that learns from the data and describes its search.

    Members (all required):

    * ``ready``: whether ``build`` has what it needs without data (else the
      tuner declares the space with `declare_hyperparameters` and calls
      `adapt` when ``search`` gets the data).
    * ``default_objective``: the metric to optimise when none is given.
    * ``labels``: a `Labels`, or ``None`` to leave labels unchecked.
    * ``important_hyperparameters``: names, most important first (the
      HParams dashboard's column order).
    * ``knobs``: name -> `keras_hpo.search_space.Knob`, to check a
      scikit-learn ``param_grid`` against (``None``: any names).
    * `declare_hyperparameters`, `adapt`, `search_identity` below.
    """

    @property
    def ready(self) -> bool:
        """Whether ``build`` can run before `adapt`."""

    @property
    def default_objective(self) -> str:
        """The objective used when the tuner is given none."""

    @property
    def labels(self) -> Labels | None:
        """The rule the labels ``y`` must follow, or ``None``."""

    @property
    def important_hyperparameters(self) -> Sequence[str]:
        """Hyperparameter names, most important first."""

    @property
    def knobs(self) -> Mapping[str, Any] | None:
        """The knobs a scikit-learn ``param_grid`` may name."""

    def declare_hyperparameters(self, hp: Any) -> None:
        """Declares the whole search space on ``hp`` without building."""

    def adapt(self, x: Any, y: Any = None) -> Any:
        """Learns what building needs from the training data."""

    def search_identity(self) -> dict[str, Any]:
        """What its scores depend on besides the objective (task, loss...).

        Saved with a project; a resumed search with another identity is
        refused, since its scores would not compare.
        """


@runtime_checkable
class FusableHyperModel(Protocol):
    """A hypermodel whose trials can train together as one fused model.

    With ``fuse=K`` the tuners group trials by `fusion_key`, choose groups
    with `fusion_shape` (``fuse="auto"``: padding against per-step cost) and
    train each group as the model `build_fused` returns (see
    `keras_hpo.tuners.group_runner` for what that model must do).
    `keras_hpo.HyperMLP` implements it; a user's hypermodel can too.
    Optional: ``fusion_batch_size(hp)``, a trial's batch size, which
    ``fuse="auto"`` costs the trial's steps at (32 without it, unless
    ``search(batch_size=...)`` says).
    """

    def fusion_key(self, hp: Any) -> Any:
        """Trials with equal keys may share a fused model (``None``: never)."""

    def fusion_shape(self, hp: Any) -> Sequence[int]:
        """The layer widths, input to output, that a fused model pads to."""

    def build_fused(self, models: Sequence[Any], seed: int | None = None) -> Any:
        """One compiled fused model from the trials' own models and weights.

        The group runner trains it with the hypermodel's ``fit`` and needs
        what `keras_hpo.fused.FusedMLP` offers: logs ``fused_<metric>``
        (one value per slice; ``fused_loss`` included), ``numpy_weights()``,
        ``copy_to(k, model, arrays)`` (slice ``k``'s weights into trial
        ``k``'s own model), ``stop_slice(k)`` and ``subset(keep, seed)``.
        The simplest way is to return ``FusedMLP.from_models(models, seed)``.

        Raises:
            keras_hpo.fused.NotFusable: With the reason, if they cannot fuse.
        """


def plain_fit(fit: Callable) -> Callable:
    """Marks a hypermodel's ``fit`` as training with ``model.fit`` as given.

    The tuner then checks the data, the validation data and the logged
    metrics before the first trial, as it does for keras-tuner's default
    ``HyperModel.fit``. A subclass that overrides a marked ``fit`` is not
    marked (its own ``fit`` may make its data), unless it marks its own.
    """
    fit.keras_hpo_plain_fit = True
    return fit


def is_plain_fit(hypermodel: Any) -> bool:
    """Whether ``hypermodel.fit`` is keras-tuner's default or marked plain."""
    import keras_tuner

    fit = type(hypermodel).fit
    return fit is keras_tuner.HyperModel.fit or bool(
        getattr(fit, "keras_hpo_plain_fit", False)
    )
