"""A finished trial's traced graphs are freed, so memory stays flat.

TensorFlow keeps every traced train step alive through the custom gradient
that Keras' all-reduce registers per trace (see
``keras_hpo/tuners/graph_memory.py``); these tests count what is left.
"""

from __future__ import annotations

import gc

import keras
import numpy as np
import pytest
from tensorflow.python.framework import func_graph
from tensorflow.python.framework import ops

import keras_hpo
from keras_hpo.tuners.graph_memory import released_gradient_functions


def custom_gradients() -> set[str]:
    return {
        k for k in ops._gradient_registry._registry if k.startswith("CustomGradient-")
    }


def live_graphs() -> int:
    gc.collect()
    return sum(isinstance(o, func_graph.FuncGraph) for o in gc.get_objects())


def small_model() -> keras.Model:
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        "adam",
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def test_plain_training_registers_gradients_that_the_block_removes(tiny_classification):
    x, y = tiny_classification
    before = custom_gradients()
    model = small_model()
    model.fit(x, y, epochs=1, verbose=0)
    leaked = custom_gradients() - before
    assert leaked, "TensorFlow no longer leaks here: graph_memory.py can go"

    with released_gradient_functions():
        kept = small_model()
        kept.fit(x, y, epochs=1, verbose=0)
        assert custom_gradients() - before - leaked
    assert custom_gradients() == before | leaked

    # A model trained inside the block keeps working after it.
    loss_before = kept.evaluate(x, y, verbose=0)[0]
    kept.fit(x, y, epochs=3, verbose=0)
    assert kept.evaluate(x, y, verbose=0)[0] < loss_before
    assert kept.predict(x[:5], verbose=0).shape == (5, 3)


@pytest.mark.slow  # about 17 s; the default run has to stay under 12 minutes
def test_a_search_leaves_no_trial_graphs_behind(tmp_path, tiny_classification):
    x, y = tiny_classification
    gradients = custom_gradients()

    def search(trials: int, name: str) -> keras_hpo.RandomSearch:
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3),
            max_trials=trials,
            seed=3,
            directory=str(tmp_path),
            project_name=name,
            tensorboard_dir=None,
            refit=False,
        )
        tuner.search(x, y, validation_split=0.25, epochs=1, batch_size=50)
        assert len(tuner.results()) == trials
        return tuner

    search(2, "two")
    after_two = live_graphs()
    tuner = search(8, "eight")
    assert live_graphs() <= after_two
    assert custom_gradients() == gradients
    # The best model, rebuilt from kept weights, still predicts and trains.
    best = tuner.best_model()
    assert np.isfinite(best.predict(x[:4], verbose=0)).all()
    best.fit(x, y, epochs=1, verbose=0)


class _FreezeProbe(keras_hpo.HyperMLP):
    """Records the size of Python's frozen generation as each trial trains."""

    def __init__(self, fail_at: int | None = None):
        super().__init__(num_classes=3)
        self.frozen: list[int] = []
        self.fail_at = fail_at

    def fit(self, hp, model, *args, **kwargs):
        self.frozen.append(gc.get_freeze_count())
        if len(self.frozen) == self.fail_at:
            raise KeyboardInterrupt
        return super().fit(hp, model, *args, **kwargs)


def test_a_search_freezes_the_heap_while_it_runs_and_always_unfreezes(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    assert gc.get_freeze_count() == 0
    for name, probe in (("ends", _FreezeProbe()), ("killed", _FreezeProbe(2))):
        tuner = keras_hpo.RandomSearch(
            probe,
            max_trials=3,
            refit=False,  # the refit's fit comes after the search
            seed=3,
            directory=str(tmp_path),
            project_name=name,
            tensorboard_dir=None,
        )
        try:
            tuner.search(x, y, validation_split=0.25, epochs=1, batch_size=50)
        except KeyboardInterrupt:
            assert name == "killed"
        assert len(probe.frozen) == (3 if name == "ends" else 2)
        # Everything alive when the search began was frozen while it ran ...
        assert min(probe.frozen) > 10_000
        # ... and is given back to the collector when it ends, however it ends.
        assert gc.get_freeze_count() == 0
