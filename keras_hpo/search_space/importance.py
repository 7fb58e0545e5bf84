"""Which hyperparameters usually matter most, for ordering them in reports.

It owns one ordered tuple of names; it must not depend on anything else.
"""

from __future__ import annotations

__all__ = ["IMPORTANCE"]

#: Hyperparameter names in the order of how much they usually matter for an
#: MLP (learning rate first). `HyperMLP` reports this order; the HParams
#: dashboard falls back to it for hypermodels that name no order of their own.
IMPORTANCE = (
    "learning_rate",
    "num_layers",
    "units",
    "dropout",
    "batch_size",
    "optimizer",
    "activation",
)
