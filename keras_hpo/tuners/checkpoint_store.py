"""Which trials keep weights on disk, and rebuilding a model from them.

`CheckpointStore` holds each trained trial's `WeightsHandle` until the trial
is recorded, then keeps or drops it by the policy (``checkpoint=``,
``keep_top_k``), and loads a kept trial's weights into a rebuilt model. It
owns the best-weights files (``trial_<id>/checkpoint.weights.h5``, with the
architecture beside, ``checkpoint.model.json``) and nothing else: ranking
comes from the result store, and resume files of ``checkpoint="every_epoch"``
are `keras_hpo.tuners.checkpoint`'s.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

from keras_hpo.tuners.checkpoint import BEST_FILE
from keras_hpo.tuners.outcome import WeightsHandle
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.weights import architecture_file
from keras_hpo.tuners.weights import load_saved_model
from keras_hpo.tuners.weights import load_weights

__all__ = ["CheckpointStore"]


class CheckpointStore:
    """Keeps the weights of the trials the policy says, in their folders.

    Args:
        project_dir: The project's folder.
        checkpoint: ``"best"`` (the ``keep_top_k`` best trials keep their
            best epoch's weights), ``"every_epoch"`` (every trial keeps them)
            or ``"none"``.
        keep_top_k: How many trials ``"best"`` keeps.
    """

    def __init__(self, project_dir: str, checkpoint: str, keep_top_k: int):
        self.project_dir = project_dir
        self.checkpoint = checkpoint
        self.keep_top_k = keep_top_k
        self._pending: dict[str, WeightsHandle] = {}

    def path(self, trial_id: str) -> str:
        """A trial's best-weights file."""
        return os.path.join(self.project_dir, f"trial_{trial_id}", BEST_FILE)

    def hold(self, trial_id: str, weights: WeightsHandle | None) -> None:
        """Holds a trained trial's weights until `settle` (``None``: none)."""
        if weights is not None:
            self._pending[trial_id] = weights

    def discard(self, trial_id: str) -> None:
        """Forgets a trial's held weights without writing them."""
        handle = self._pending.pop(trial_id, None)
        if handle is not None:
            handle.discard()

    def settle(
        self, result: TrialResult, ranked: list[TrialResult], ended: Iterable[str]
    ):
        """Writes the ended trial's held weights if kept; drops those pushed out.

        Args:
            result: The trial that ended, with its score.
            ranked: Every trial with a score, best first (``result`` included).
            ended: Every ended trial's ID.
        """
        handle = self._pending.pop(result.trial_id, None)
        if handle is None or not result.ok:
            if handle is not None:
                handle.discard()
            return
        keep = {result.trial_id}
        if self.checkpoint == "best":
            keep = {r.trial_id for r in ranked[: self.keep_top_k]}
        if result.trial_id in keep:
            # With "every_epoch", `LastEpoch` wrote the best epoch's already.
            handle.write(self.path(result.trial_id), self.checkpoint != "every_epoch")
        else:
            handle.discard()
        self.prune(ranked, ended)

    def prune(self, ranked: list[TrialResult], ended: Iterable[str]) -> None:
        """Drops the weights of ended trials outside the ``keep_top_k`` best.

        Only with ``checkpoint="best"``; the others keep every trial's.

        Args:
            ranked: Every trial with a score, best first.
            ended: The ended trials whose weights may be dropped.
        """
        if self.checkpoint != "best":
            return
        keep = {r.trial_id for r in ranked[: self.keep_top_k]}
        for trial_id in ended:
            if trial_id not in keep:
                self.drop(trial_id)

    def drop(self, trial_id: str) -> None:
        """Deletes a trial's best-weights file and architecture, if there are."""
        weights = self.path(trial_id)
        for path in (weights, architecture_file(weights)):
            if os.path.exists(path):
                os.remove(path)

    def load(self, trial_id: str, build: Callable[[], Any], as_saved: bool = False):
        """A rebuilt model with a trial's kept weights.

        Args:
            trial_id: The trial.
            build: Builds the trial's model (untrained).
            as_saved: Make the model from the architecture saved beside the
                weights (compiled as it was) when there is one that Keras
                can read, rather than with ``build``: it holds what the
                trial's model learned from its own training rows besides
                its weights (a ``cv=`` fold's standardisation, categories).

        Raises:
            FileNotFoundError: If no weights were kept for it.
        """
        path = self.path(trial_id)
        if not os.path.exists(path):
            kept = (
                "keeps no trial's weights"
                if self.checkpoint == "none"
                else f"keeps the best {self.keep_top_k} trials' weights"
            )
            raise FileNotFoundError(
                f"No weights were kept for trial {trial_id} ({path}): "
                f"checkpoint={self.checkpoint!r} {kept}. Rebuild it with "
                "tuner.hypermodel.build(hp) and train it, or search with "
                "checkpoint='best' or 'every_epoch'."
            )
        if as_saved and os.path.exists(architecture_file(path)):
            try:
                return load_saved_model(path)
            except ValueError:  # a layer class not registered: build it
                pass
        model = build()
        load_weights(model, path)
        return model
