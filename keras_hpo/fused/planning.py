"""Which trials train together: buckets by shape, then groups by cost.

`plan_groups` first buckets trials by their hypermodel's ``fusion_key``
(same depth, optimizer, batch size and epochs for `HyperMLP`) and depth,
then, in each bucket, sorts them by size so that similar widths share a
group (padding is what a group pays for its widest member). With a fixed
``size`` it cuts each bucket into groups of up to ``size``; with
``auto=True`` a `StepCost` model, at each trial's batch size, adds a trial
to a group only while one fused step costs less than the separate steps it
replaces, so a heterogeneous space is split (or left unfused) where padding
would cost more than fusing saves.

It owns that choice; it must not build or train.
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["StepCost", "plan_groups"]


@dataclass(frozen=True)
class StepCost:
    """Seconds of one training step: a fixed part plus a part per multiply-add.

    A step of a fused group of K models costs ``fixed + per_mac * batch * K *
    sum(in_max * out_max)``; K separate models cost K fixed parts plus their
    own multiply-adds. The defaults are the least-squares fit that
    ``benchmarks/fused_padding.py`` measured for `FusedMLP` training steps
    on digits (batch 32; 1 to 32 slices of 16 to 512 units) on a 2-core
    Xeon with TensorFlow 2.21 (``benchmarks/results/fused_padding.md``);
    on a GPU the fixed part dominates even more, so fusing pays off sooner.

    Attributes:
        fixed: Seconds per step that do not depend on the model's size.
        per_mac: Seconds per multiply-add per sample.
    """

    fixed: float = 2.85e-3
    per_mac: float = 1.94e-10

    def group(self, shapes: Sequence[Sequence[int]], batch: int) -> float:
        """One step of the shapes as one fused model (padded to the widest)."""
        widest = [max(dims) for dims in zip(*shapes, strict=True)]
        macs = sum(a * b for a, b in zip(widest[:-1], widest[1:], strict=True))
        return self.fixed + self.per_mac * batch * len(shapes) * macs

    def separate(self, shapes: Sequence[Sequence[int]], batch: int) -> float:
        """One step of each shape as its own model."""
        return sum(self.group([shape], batch) for shape in shapes)


def plan_groups(
    keys: Sequence[Hashable],
    shapes: Sequence[Sequence[int]],
    size: int,
    *,
    auto: bool = False,
    batch: int | Sequence[int] = 32,
    cost: StepCost | None = None,
) -> list[list[int]]:
    """Groups trial indices for fused training.

    Args:
        keys: Each trial's fusion key; ``None`` never fuses.
        shapes: Each trial's layer widths (input to output).
        size: The largest group (at least 1).
        auto: Let `StepCost` decide where a group ends.
        batch: The batch size, for the cost model: one for all, or each
            trial's (a bucket is costed at its first trial's; keys that
            bucket trials of one batch size make that exact).
        cost: The cost model (default `StepCost()`).

    Raises:
        ValueError: If ``size`` is below 1, or the lengths differ.

    Returns:
        Groups of indices; every index appears once, groups of one train
        unfused. Buckets keep the order in which their first trial came.
    """
    if size < 1:
        raise ValueError(f"plan_groups: size must be at least 1, got {size!r}.")
    one = isinstance(batch, numbers.Integral)
    batches = [int(batch)] * len(keys) if one else [int(b) for b in batch]
    if not len(keys) == len(shapes) == len(batches):
        raise ValueError(
            f"plan_groups: {len(keys)} keys, {len(shapes)} shapes and "
            f"{len(batches)} batch sizes: give one of each per trial."
        )
    cost = cost or StepCost()
    buckets: dict[Hashable, list[int]] = {}
    groups: list[list[int]] = []
    for index, key in enumerate(keys):
        if key is None:
            groups.append([index])
        else:
            # Trials of one key but another depth cannot share a model.
            buckets.setdefault((key, len(shapes[index])), []).append(index)
    for members in buckets.values():
        batch = batches[members[0]]
        ordered = sorted(members, key=lambda i: (_macs(shapes[i]), i))
        group: list[int] = []
        for index in ordered:
            candidate = [*group, index]
            fits = len(candidate) <= size
            if fits and auto and group:
                shapes_of = [shapes[i] for i in candidate]
                fits = cost.group(shapes_of, batch) <= cost.group(
                    [shapes[i] for i in group], batch
                ) + cost.separate([shapes[index]], batch)
            if fits:
                group = candidate
            else:
                groups.append(group)
                group = [index]
        if group:
            groups.append(group)
    return groups


def _macs(shape: Sequence[int]) -> int:
    return sum(a * b for a, b in zip(shape[:-1], shape[1:], strict=True))
