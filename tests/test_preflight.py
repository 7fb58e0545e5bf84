"""The metrics a model logs are known before the first trial, cheaply."""

from __future__ import annotations

import keras
import numpy as np

from keras_hpo.tuners.preflight import logged_metrics


def small(kind=keras.Model) -> keras.Model:
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Dense(8, activation="relu")(inputs)
    )
    model = kind(inputs, outputs)
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(2, "top2")],
        weighted_metrics=["accuracy"],
    )
    return model


class ExtraLogs(keras.Model):
    """A model whose own ``test_step`` logs one more value."""

    def test_step(self, data):
        logs = super().test_step(data)
        return {**logs, "extra": logs["loss"] * 2}


def test_logged_metrics_are_what_evaluate_logs_without_running_it():
    x = np.random.default_rng(0).random((2, 4), dtype=np.float32)
    y = np.array([0, 2])
    evaluated = set(small().evaluate(x, y, verbose=0, return_dict=True))
    assert evaluated == {"loss", "accuracy", "top2", "weighted_accuracy"}
    model = small()
    assert logged_metrics(model, x, y) == evaluated
    assert model.test_function is None  # read from the built model, not run


def test_a_model_with_its_own_test_step_is_evaluated():
    x = np.random.default_rng(0).random((2, 4), dtype=np.float32)
    model = small(ExtraLogs)
    names = logged_metrics(model, x, np.array([0, 2]))
    assert names == {"loss", "accuracy", "top2", "weighted_accuracy", "extra"}
    assert model.test_function is not None


def test_the_training_rows_are_counted_as_keras_cuts_them():
    # 101 rows, validation_split=0.2: Keras trains on floor(80.8) = 80 rows
    # (81 were counted, and TensorBoard's samples per second with them).
    import keras_hpo
    from keras_hpo.tuners.preflight import prepare_data

    x = np.zeros((101, 4), dtype="float32")
    y = np.arange(101) % 3
    hypermodel = keras_hpo.HyperMLP(num_classes=3)
    for split in (0.2, np.float32(0.2)):
        kwargs = {"validation_split": split}
        assert prepare_data(hypermodel, True, (x, y), kwargs) == 80
