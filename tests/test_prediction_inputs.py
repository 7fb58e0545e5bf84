"""predict, predict_proba and score refuse bad input by name (real Keras models)."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from keras_hpo.tuners.estimator import estimator_predict
from keras_hpo.tuners.estimator import estimator_score


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]
    )


def _predict(model, x):
    return estimator_predict(model, x, "classification", sklearn=False)


def test_good_input_in_every_form_search_takes(model):
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    labels = _predict(model, x)
    assert labels.shape == (5,) and set(labels) <= {0, 1, 2}
    np.testing.assert_array_equal(_predict(model, x.tolist()), labels)
    frame = pd.DataFrame(x, columns=list("abcd"))
    np.testing.assert_array_equal(_predict(model, frame), labels)
    np.testing.assert_array_equal(
        _predict(model, x.astype("int64")), _predict(model, x.astype("int64").tolist())
    )
    accuracy = estimator_score(
        model, x, labels, task="classification", num_classes=3, sklearn=False
    )
    assert accuracy == 1.0
    # As many values per sample in another shape (2x2 images for a model of
    # 4 features): reshaped, as Keras' own error said nothing of ours.
    np.testing.assert_array_equal(_predict(model, x.reshape(5, 2, 2)), labels)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (
            np.array([[0.0, 1.0, np.nan, 2.0], [1.0, 1.0, 1.0, 1.0]]),
            "`x`: the model's predictions for them would be meaningless. Received: "
            "x='1 sample(s) with NaN or infinite values, the first at index 0' (of "
            "type str). Impute "
            "or drop those samples first, as for the data the search was given.",
        ),
        (
            np.zeros((3, 5)),
            "`x`: samples of shape (5,), but the model takes samples of shape (4,). "
            "Received: x=array of shape (3, 5) (of type ndarray). Pass the features "
            "the search was tuned on, in the same order.",
        ),
        (
            np.zeros(4),
            "`x`: a 1-D array: one sample needs its sample axis. Received: x=array "
            "of shape (4,) (of type ndarray). Pass x.reshape(1, -1) for one sample, or "
            "a 2-D array of samples.",
        ),
        (
            np.zeros((0, 4)),
            "`x`: no samples. Received: x=array of shape (0, 4) (of type ndarray). "
            "Pass at least one sample.",
        ),
    ],
    ids=["nan", "columns", "one-sample", "empty"],
)
def test_bad_input_is_refused_by_name(model, x, message):
    with pytest.raises(ValueError) as info:
        _predict(model, x)
    assert str(info.value) == message
    with pytest.raises(ValueError):  # score sees the same check
        estimator_score(
            model,
            x,
            np.zeros(len(x)),
            task="classification",
            num_classes=3,
            sklearn=False,
        )


def test_text_features_and_a_table_model_given_an_array_are_refused(model):
    with pytest.raises(TypeError, match="`x` must be numeric features"):
        _predict(model, np.array([["a", "b", "c", "d"]]))
    inputs = {name: keras.Input((1,), name=name) for name in ("size", "colour")}
    joined = keras.layers.Concatenate()([inputs["size"], inputs["colour"]])
    table = keras.Model(inputs, keras.layers.Dense(1)(joined))
    with pytest.raises(TypeError) as info:
        estimator_predict(table, np.zeros((2, 2)), "regression", sklearn=False)
    assert "a pandas DataFrame (the model was tuned on a table)" in str(info.value)
    assert "with the columns size, colour" in str(info.value)
    frame = pd.DataFrame({"size": [1.0, 2.0], "colour": [0.5, 0.25]})
    assert estimator_predict(table, frame, "regression", sklearn=False).shape == (2,)
