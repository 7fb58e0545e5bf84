"""Fused trials: many same-depth MLP trials trained as one Keras model."""

from keras_hpo.fused.model import FusedMLP
from keras_hpo.fused.model import SliceMetrics
from keras_hpo.fused.model import slice_rows
from keras_hpo.fused.model import sliced_optimizer
from keras_hpo.fused.planning import StepCost
from keras_hpo.fused.planning import plan_groups
from keras_hpo.fused.spec import NotFusable
from keras_hpo.fused.spec import SliceSpec
from keras_hpo.fused.spec import check_same_group
from keras_hpo.fused.spec import read_mlp

__all__ = [
    "FusedMLP",
    "NotFusable",
    "SliceMetrics",
    "SliceSpec",
    "StepCost",
    "check_same_group",
    "plan_groups",
    "read_mlp",
    "slice_rows",
    "sliced_optimizer",
]
