"""A user's data-aware hypermodel, the view callbacks get, the registry guard."""

from __future__ import annotations

import threading

import keras
import keras_tuner
import pytest
from keras_hpo.callbacks import SearchCallback

import keras_hpo
from keras_hpo.compat import gradient_registry
from keras_hpo.errors import ConfigError
from keras_hpo.protocols import DataAwareHyperModel
from keras_hpo.protocols import Labels
from keras_hpo.protocols import is_plain_fit
from keras_hpo.protocols import plain_fit
from keras_hpo.tuners.graph_memory import released_gradient_functions
from keras_hpo.tuners.view import SearchView


class Mine(keras_tuner.HyperModel):
    """Not a HyperMLP: implements the protocol itself."""

    def __init__(self):
        super().__init__()
        self.features = None
        self.adapted = 0

    ready = property(lambda self: self.features is not None)
    default_objective = "val_accuracy"
    labels = Labels("classification", 3)
    important_hyperparameters = ("width",)
    knobs = None

    def declare_hyperparameters(self, hp):
        hp.Int("width", 2, 8)

    def adapt(self, x, y=None):
        self.features = x.shape[1]
        self.adapted += 1

    def search_identity(self):
        return {"kind": "mine"}

    def build(self, hp):
        model = keras.Sequential(
            [
                keras.Input((self.features,)),
                keras.layers.Dense(hp.Int("width", 2, 8), activation="relu"),
                keras.layers.Dense(3, activation="softmax"),
            ]
        )
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        return model


def test_hypermlp_and_a_users_hypermodel_implement_the_protocol():
    assert isinstance(keras_hpo.HyperMLP(num_classes=3), DataAwareHyperModel)
    assert isinstance(Mine(), DataAwareHyperModel)
    assert not isinstance(keras_tuner.HyperModel(), DataAwareHyperModel)
    assert is_plain_fit(Mine()) and is_plain_fit(keras_hpo.HyperMLP(num_classes=3))

    class OwnFit(keras_hpo.HyperMLP):
        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, **kwargs)

    class MarkedFit(keras_hpo.HyperMLP):
        @plain_fit
        def fit(self, hp, model, *args, **kwargs):
            return model.fit(*args, **kwargs)

    assert not is_plain_fit(OwnFit(num_classes=3))
    assert is_plain_fit(MarkedFit(num_classes=3))


def test_a_users_data_aware_hypermodel_gets_what_hypermlp_gets(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    model = Mine()
    tuner = keras_hpo.RandomSearch(
        model,
        max_trials=1,
        seed=1,
        directory=tmp_path,
        project_name="p",
        verbose=0,
        refit=False,
    )
    assert tuner.oracle.objective.name == "val_accuracy"  # its default objective
    assert tuner.identity["kind"] == "mine"
    bad = y.copy()
    bad[0] = 5
    with pytest.raises(ConfigError, match=r"`y`"):
        tuner.search(x, bad, validation_split=0.2, epochs=1)
    tuner.search(x, y, validation_split=0.2, epochs=1)
    assert model.adapted >= 1 and model.features == x.shape[1]
    assert [r.status.value for r in tuner.results()] == ["completed"]
    assert tuner.view.importance == ("width",)


class Watch(SearchCallback):
    def __init__(self):
        self.seen = []

    def on_search_begin(self, search):
        self.seen.append(("begin", type(search), search.strategy))
        with pytest.raises(TypeError):
            search.trial_results["x"] = None  # read-only

    def on_trial_end(self, search, result):
        self.seen.append(("trial", result.trial_id, len(search.trial_results)))

    def on_search_end(self, search):
        names = [hp.name for hp in search.space]
        self.seen.append(
            ("end", search.stop_reason, names, search.best_result().number)
        )


def test_search_callbacks_get_a_read_only_view(tmp_path, tiny_classification):
    x, y = tiny_classification
    watch = Watch()
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(num_classes=3),
        param_grid={"units": [4, 8]},
        directory=tmp_path,
        project_name="p",
        verbose=0,
        tensorboard_dir=None,
        search_callbacks=[watch],
        refit=False,
    )
    tuner.search(x, y, validation_split=0.2, epochs=1)
    assert watch.seen[0] == ("begin", SearchView, "GridOracle")
    assert watch.seen[1:3] == [("trial", "0000", 1), ("trial", "0001", 2)]
    assert watch.seen[3][:2] == ("end", "the search space is exhausted")
    assert "units" in watch.seen[3][2]
    assert not hasattr(tuner.view, "oracle")


def test_overlapping_blocks_leave_the_registry_alone():
    registry = gradient_registry()
    name = "CustomGradient-keras-hpo-test"
    inside = threading.Event()
    leave = threading.Event()

    def other():
        with released_gradient_functions():
            inside.set()
            leave.wait(10)

    try:
        with released_gradient_functions():
            thread = threading.Thread(target=other)
            thread.start()
            inside.wait(10)
            registry[name] = None  # registered while two blocks are open
            leave.set()
            thread.join(10)
        assert name in registry  # not removed: the blocks overlapped
        with released_gradient_functions():
            registry[name + "-alone"] = None
        assert name + "-alone" not in registry  # a lone block cleans up
    finally:
        registry.pop(name, None)
        registry.pop(name + "-alone", None)
