"""Search callbacks: observers of a whole search, one trial at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import keras
    from keras_tuner.engine.trial import Trial

    from keras_hpo.tuners.results import TrialResult
    from keras_hpo.tuners.view import SearchView

__all__ = ["SearchCallback"]


class SearchCallback:
    """Base class for objects told about a search's progress.

    Pass instances to a tuner's ``search_callbacks=``. Unlike Keras callbacks,
    which see the epochs of one training, these see the search: its start,
    each finished trial (with its `TrialResult`) and its end. Override what
    you need; every method does nothing by default.

    A search callback can also hand Keras callbacks to each training with
    `trial_callbacks` (that is how `TensorBoardLogger` records each epoch).

    Every hook gets a `keras_hpo.tuners.view.SearchView` of the search (its
    space, objective, folders, results so far, stop reason), read-only:
    callbacks observe the search, they do not steer it. With
    ``isolate_trials=True``, `trial_callbacks` is called in the search's
    process and its callbacks are sent to the trial's process (they must be
    picklable).

    Example:
        >>> class Count(SearchCallback):
        ...     def __init__(self):
        ...         self.n = 0
        ...     def on_trial_end(self, search, result):
        ...         self.n += 1
    """

    def on_search_begin(self, search: SearchView) -> None:
        """Called once before the first trial of a `search` call."""

    def on_trial_begin(self, search: SearchView, trial: Trial) -> None:
        """Called when a trial starts, before its model is built."""

    def trial_callbacks(
        self, search: SearchView, trial: Trial, execution: int
    ) -> list[keras.callbacks.Callback]:
        """Keras callbacks to add to one training of a trial.

        Args:
            search: The view of the search.
            trial: The trial being trained.
            execution: 0-based index of the execution (see
                ``executions_per_trial``).

        Returns:
            New callbacks for this training only (none by default).
        """
        return []

    def on_trial_end(self, search: SearchView, result: TrialResult) -> None:
        """Called after each trial has ended and been recorded."""

    def on_search_end(self, search: SearchView) -> None:
        """Called once when a `search` call ends."""
