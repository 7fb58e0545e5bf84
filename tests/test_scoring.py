"""scoring=: scikit-learn's scorer names and Keras metrics rank the trials."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

import keras_hpo


def _regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(240, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 3.0).astype("float32")
    return x, y


def test_neg_rmse_is_computed_on_the_validation_split_every_epoch(tmp_path):
    x, y = _regression_data()
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(task="regression", learning_rate=[1e-2, 3e-2]),
        max_trials=2,
        scoring="neg_root_mean_squared_error",
        seed=1,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    assert tuner.oracle.objective.name == "val_neg_root_mean_squared_error"
    assert tuner.oracle.objective.direction == "max"
    tuner.search(x, y, validation_split=0.25, epochs=4)
    # Keras validates on the last quarter; the scorer read the same rows.
    x_val, y_val = x[180:], y[180:]
    best = tuner.best_result()
    curve = best.history["val_neg_root_mean_squared_error"]
    assert len(curve) == 4 and all(v < 0 for v in curve)
    assert best.score == max(curve) == tuner.best_score_
    predicted = tuner.best_model().predict(x_val, verbose=0)[:, 0]
    rmse = float(np.sqrt(np.mean((predicted - y_val) ** 2)))
    assert tuner.best_score_ == pytest.approx(-rmse, rel=1e-5)
    # The loss the model logs is the same error, squared.
    assert best.metrics["val_loss"] == pytest.approx(rmse**2, rel=1e-4)
    table = tuner.cv_results_
    assert table["mean_test_score"] == [r.score for r in tuner.results()]
    assert table["rank_test_score"][table["trial_id"].index(best.trial_id)] == 1
    # score() is the scoring's: the refit model's -RMSE.
    refit = tuner.best_estimator_.predict(x_val, verbose=0)[:, 0]
    refit_rmse = float(np.sqrt(np.mean((refit - y_val) ** 2)))
    assert tuner.score(x_val, y_val) == pytest.approx(-refit_rmse, rel=1e-5)
    np.testing.assert_allclose(tuner.predict(x_val), refit, rtol=1e-6)
    with pytest.raises(AttributeError, match="predict_proba is for classifiers"):
        tuner.predict_proba(x_val)


@pytest.mark.slow  # 9 s; one scoring= score is recorded and refit in the default run
def test_several_scores_are_recorded_and_refit_names_the_one_that_ranks(
    tmp_path, tiny_classification
):
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=2,
        scoring=["accuracy", "f1_macro"],
        refit="f1_macro",
        cv=2,
        seed=3,
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    assert tuner.oracle.objective.name == "val_f1_macro"
    tuner.search(x, y, epochs=3)
    table = tuner.cv_results_
    for name in ("accuracy", "f1_macro"):
        for column in ("split0", "split1"):
            assert f"{column}_test_{name}" in table
        assert f"mean_test_{name}" in table and f"rank_test_{name}" in table
    assert "mean_test_score" not in table
    for row, result in enumerate(tuner.results()):
        f1 = [fold["metrics"]["val_f1_macro"] for fold in result.folds]
        accuracy = [fold["metrics"]["val_accuracy"] for fold in result.folds]
        assert [table[f"split{k}_test_f1_macro"][row] for k in (0, 1)] == f1
        assert table["mean_test_accuracy"][row] == pytest.approx(np.mean(accuracy))
        assert result.score == pytest.approx(np.mean(f1), 1e-12)


def test_a_keras_metric_name_is_compiled_into_the_models(tmp_path):
    x, y = _regression_data()
    hypermodel = keras_hpo.HyperMLP(task="regression")
    tuner = keras_hpo.RandomSearch(
        hypermodel,
        max_trials=1,
        scoring="mse",
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    assert hypermodel.metrics == ["mse"]
    assert tuner.oracle.objective.name == "val_mse"
    assert tuner.oracle.objective.direction == "min"
    tuner.search(x, y, validation_split=0.25, epochs=2)
    result = tuner.results()[0]
    assert result.score == min(result.history["val_mse"])


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"scoring": "nonsense"}, ValueError, "get_scorer_names"),
        ({"scoring": 5}, TypeError, "scoring=5"),
        ({"scoring": ["accuracy", "f1_macro"]}, ValueError, 'refit="accuracy"'),
        (
            {"scoring": "accuracy", "objective": "val_loss"},
            ValueError,
            "objective='val_loss'",
        ),
        ({"refit": "yes", "scoring": ["accuracy", "f1_macro"]}, ValueError, "refit"),
        (
            {"refit": "accuracy", "scoring": ["accuracy", "f1_macro", "accuracy"]},
            ValueError,
            "`scoring`: holds 'accuracy' more than once",
        ),
        (
            {"scoring": [lambda e, x, y: 0.0, lambda e, x, y: 1.0]},
            ValueError,
            "holds '<lambda>' more than once (a list's scores are named by their "
            "metric or function name). Received: scoring=[<function",
        ),
    ],
)
def test_bad_scoring_is_refused_with_the_fix(tmp_path, kwargs, error, words):
    with pytest.raises(error) as info:
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3), directory=str(tmp_path), **kwargs
        )
    assert words in str(info.value)


def test_an_oracle_that_ranks_by_another_metric_is_refused(tmp_path):
    oracle = keras_hpo.oracles.RandomOracle(
        objective=keras_tuner.Objective("val_accuracy", "max"), max_trials=1
    )
    with pytest.raises(ValueError, match="val_f1_macro"):
        keras_hpo.SearchTuner(
            oracle,
            keras_hpo.HyperMLP(num_classes=3),
            scoring="f1_macro",
            directory=str(tmp_path),
        )


def test_a_scorer_that_cannot_score_the_model_fails_the_trial_with_its_reason(
    tmp_path, tiny_classification
):
    # roc_auc is for two classes: scikit-learn refuses three. Each trial
    # failed as "diverged: val_roc_auc became nan", the reason lost.
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, units=8),
        max_trials=1,
        scoring="roc_auc",
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    tuner.search(x, y, validation_split=0.25, epochs=1)
    (result,) = tuner.results()
    assert result.status.value == "failed"
    assert "scoring 'roc_auc' cannot score this model: " in result.error
    assert "multi_class" in result.error and "nan" not in result.error


@pytest.mark.parametrize(("num_classes", "shape"), [(3, "(2, 3)"), (2, "(3, 2)")])
def test_a_keras_metric_that_cannot_score_the_outputs_is_refused_before_training(
    tmp_path, tiny_classification, num_classes, shape
):
    # "mae" on class probabilities failed every trial with a TensorFlow
    # shape error. With 2 classes the probe takes 3 samples: labels of 2
    # samples would broadcast against 2 columns and pass.
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=num_classes, units=8),
        max_trials=1,
        scoring="mae",
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    with pytest.raises(keras_hpo.ConfigError) as info:
        tuner.search(x, y % num_classes, validation_split=0.25, epochs=1)
    assert str(info.value).startswith(
        "`scoring`: this Keras metric cannot score the model's outputs (shape "
        f"{shape}) against y (shape ({shape[1]},)): Incompatible shapes"
    )
    assert "Received: scoring='mae'" in str(info.value)
    assert tuner.results() == []
