"""HyperMLP(preprocessing="auto"): a table with text and missing values, end to end.

The seed's regression: scikit-learn's diabetes data with a derived text
column and missing values injected, ranked by
``scoring="neg_root_mean_squared_error"``, the imputation, scaling and
one-hot encoding inside the model (Keras layers), through Python, through
``keras_hpo.load`` in another process and through ``keras-hpo tune`` /
``keras-hpo predict`` on a CSV.
"""

from __future__ import annotations

import json

import keras
import keras_tuner
import numpy as np
import pandas as pd
import pytest
from conftest import run_python
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold

import keras_hpo
from keras_hpo import cli
from keras_hpo.hypermodels import tabular
from keras_hpo.hypermodels.tabular import FillMissing
from keras_hpo.hypermodels.tabular import TabularSchema
from keras_hpo.hypermodels.tabular import embedding_width


def diabetes_table(seed: int = 0) -> pd.DataFrame:
    """Diabetes with a text column ("age_group", "sex") and 10% NaN in bmi, bp."""
    frame = load_diabetes(as_frame=True).frame
    rng = np.random.default_rng(seed)
    frame["age_group"] = pd.cut(
        frame["age"], [-1, -0.03, 0.03, 1], labels=["young", "middle", "old"]
    ).astype(object)
    frame["sex"] = np.where(frame["sex"] > 0, "M", "F").astype(object)
    for column in ("bmi", "bp"):
        frame.loc[rng.random(len(frame)) < 0.1, column] = np.nan
    frame.loc[rng.random(len(frame)) < 0.05, "age_group"] = None
    return frame.drop(columns=["age"])


def _hypermodel(**kwargs):
    return keras_hpo.HyperMLP(
        "regression",
        preprocessing="auto",
        num_layers=1,
        units=[32, 64],
        dropout=0.0,
        learning_rate=0.05,
        batch_size=16,
        **kwargs,
    )


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    table = diabetes_table()
    train, test = table.iloc[:340], table.iloc[340:]
    x, y = train.drop(columns=["target"]), train["target"].to_numpy("float32")
    directory = tmp_path_factory.mktemp("tabular")
    tuner = keras_hpo.RandomSearch(
        _hypermodel(),
        max_trials=2,
        seed=1,
        scoring="neg_root_mean_squared_error",
        directory=str(directory),
        project_name="diabetes",
        verbose=0,
    )
    tuner.search(x, y, validation_split=0.2, epochs=40)
    x_test = test.drop(columns=["target"])
    return tuner, x_test, test["target"].to_numpy("float32"), directory


def test_the_schema_reads_numbers_text_and_missing_values():
    table = diabetes_table().drop(columns=["target"])
    schema = TabularSchema.from_frame(table)
    assert schema.categorical == ["sex", "age_group"]
    assert schema.vocabularies == {
        "sex": ["F", "M"],
        "age_group": ["middle", "old", "young"],
    }
    assert "bmi" in schema.numeric and len(schema.numeric) == 8
    bmi = table["bmi"].to_numpy()
    index = schema.numeric.index("bmi")
    assert schema.medians[index] == pytest.approx(np.nanmedian(bmi))
    filled = np.where(np.isnan(bmi), np.nanmedian(bmi), bmi)
    assert schema.means[index] == pytest.approx(filled.mean())


def test_a_table_with_text_and_nan_is_searched_and_scored_by_rmse(searched):
    tuner, x_test, y_test, _ = searched
    results = tuner.results()
    assert len(results) == 2 and all(r.ok for r in results)  # none failed
    assert tuner.oracle.objective.name == "val_neg_root_mean_squared_error"
    assert tuner.best_score_ < 0  # greater is better: the RMSE negated
    predictions = tuner.predict(x_test)
    assert predictions.shape == (len(x_test),) and np.isfinite(predictions).all()
    rmse = float(np.sqrt(np.mean((predictions - y_test) ** 2)))
    assert tuner.score(x_test, y_test) == pytest.approx(-rmse, rel=1e-5)
    # Better than predicting the mean: the preprocessing feeds the model.
    assert rmse < 0.9 * float(np.std(y_test))
    model = tuner.best_estimator_
    assert sorted(model.input) == sorted(x_test.columns)
    kinds = {type(layer).__name__ for layer in model.layers}
    assert {"FillMissing", "Normalization", "StringLookup"} <= kinds


def test_the_model_takes_raw_rows_missing_values_and_unseen_categories(searched):
    tuner, x_test, _, _ = searched
    rows = x_test.iloc[:4].copy()
    rows.loc[rows.index[0], "bmi"] = np.nan
    rows.loc[rows.index[1], "age_group"] = "unheard-of"
    rows.loc[rows.index[2], "sex"] = None
    assert np.isfinite(tuner.predict(rows)).all()
    # A missing bmi is the training median, exactly.
    filled = rows.iloc[:1].copy()
    layer = next(
        lay for lay in tuner.best_estimator_.layers if isinstance(lay, FillMissing)
    )
    schema = tuner.hypermodel.schema
    filled.loc[filled.index[0], "bmi"] = layer.values[schema.numeric.index("bmi")]
    np.testing.assert_allclose(
        tuner.predict(rows.iloc[:1]), tuner.predict(filled), rtol=1e-6
    )
    with pytest.raises(ValueError, match="lacks 'bmi'"):
        tuner.predict(rows.drop(columns=["bmi"]))


def test_best_estimator_itself_predicts_a_raw_dataframe(searched, tmp_path):
    tuner, x_test, y_test, _ = searched
    model = tuner.best_estimator_
    assert isinstance(model, keras.Model)
    # The Keras model itself, no tuner in between: raw rows, text and NaN.
    raw = model.predict(x_test, verbose=0)
    np.testing.assert_allclose(raw[:, 0], tuner.predict(x_test), rtol=1e-6)
    loss = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(float(np.mean((raw[:, 0] - y_test) ** 2)), rel=1e-4)
    # Saved and loaded as any Keras model, it still takes the DataFrame.
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(x_test, verbose=0), raw, rtol=1e-6)


def test_keras_hpo_predict_reads_raw_rows_for_a_search_run_from_python(
    searched, tmp_path
):
    # No summary.json (keras-hpo tune writes it): the model's named inputs
    # say that the CSV is a table, with text and empty cells.
    tuner, x_test, _, directory = searched
    rows = x_test.iloc[:6]
    path = tmp_path / "new.csv"
    rows.to_csv(path, index=False)
    out = tmp_path / "predicted.csv"
    project = str(directory / "diabetes")
    assert cli.main(["predict", project, "--csv", str(path), "--output", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == ",".join([*rows.columns, "prediction"]) and len(lines) == 7
    predicted = [float(line.rsplit(",", 1)[1]) for line in lines[1:]]
    np.testing.assert_allclose(predicted, tuner.predict(rows), rtol=1e-4)
    # Text where the model takes numbers is refused by column and row.
    bad = rows.copy()
    bad["bmi"] = bad["bmi"].astype(object)
    bad.loc[bad.index[2], "bmi"] = "abc"
    with pytest.raises(ValueError) as info:
        tuner.predict(bad)
    assert str(info.value).startswith(
        "`x`: 1 value(s) of column 'bmi' are not numbers, and the model takes "
        "numbers there. Received: x=\"column 'bmi', row 2: 'abc'\""
    )
    # An array where the model takes a table is refused by name.
    with pytest.raises(TypeError, match="a pandas DataFrame \\(the model was tuned"):
        tuner.predict(rows.select_dtypes("number").to_numpy())


def test_an_ensemble_of_table_models_takes_raw_rows(searched, tmp_path):
    tuner, x_test, _, _ = searched
    ensemble = tuner.ensemble(k=2)
    members = tuner.get_best_models(2)
    expected = np.mean([m.predict(x_test, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x_test, verbose=0), expected, rtol=1e-5)
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    again = keras.saving.load_model(path)
    np.testing.assert_allclose(again.predict(x_test, verbose=0), expected, rtol=1e-5)


# Slow: a process start, about 7 s; the default run has to stay under 12
# minutes. test_saved's new-process test covers keras_hpo.load in another
# process, and test_best_estimator_itself_predicts_a_raw_dataframe the
# tabular model saved and loaded.
@pytest.mark.slow
def test_another_process_loads_the_tabular_model(searched, tmp_path):
    tuner, x_test, y_test, directory = searched
    x_test.to_pickle(tmp_path / "x.pkl")
    script = f"""
import json, pandas as pd, keras_hpo
search = keras_hpo.load({str(directory / "diabetes")!r})
x = pd.read_pickle({str(tmp_path / "x.pkl")!r})
print(json.dumps(search.predict(x).tolist()))
"""
    done = run_python(["-c", script])
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(loaded, tuner.predict(x_test), rtol=1e-6)


class _Preprocessing(keras.callbacks.Callback):
    """Records each trained model's fill values and categories (class-wide,
    as the tuner deep-copies the callbacks it is given)."""

    seen: list[tuple[list[float], list[str]]] = []

    def on_train_begin(self, logs=None):
        fill = self.model.get_layer("fill_missing").values
        categories = self.model.get_layer("one_hot_0").get_vocabulary()
        _Preprocessing.seen.append((list(fill), list(categories)))


def test_each_fold_imputes_and_encodes_from_its_training_rows_only(tmp_path):
    # A Pipeline in GridSearchCV fits its imputer and encoder per fold: a
    # category seen only in a fold's scored rows is unknown to that fold's
    # model, and the medians are its training rows'.
    rng = np.random.default_rng(0)
    n = 120
    number = rng.normal(size=n)
    number[:60] += 10.0
    number[::7] = np.nan
    kind = np.where(rng.random(n) < 0.5, "x", "y").astype(object)
    kind[:60:5] = "rare"  # only in the first half
    # Recorded from the second half on: no value in fold 1's training rows
    # (its every trial failed there, though the whole data was accepted).
    late = np.where(np.arange(n) < 60, np.nan, rng.normal(size=n))
    x = pd.DataFrame({"number": number, "kind": kind, "late": late})
    y = np.nan_to_num(number, nan=0.0).astype("float32") + (kind == "x")
    _Preprocessing.seen = []
    tuner = keras_hpo.RandomSearch(
        _hypermodel(),
        max_trials=1,
        cv=KFold(2),
        directory=str(tmp_path),
        verbose=0,
        tensorboard_dir=None,
    )
    tuner.search(x, y, epochs=1, callbacks=[_Preprocessing()])
    halves = [slice(60, None), slice(0, 60)]  # fold k's training rows
    # The folds', then the refit's (all the rows: "rare" is one of its).
    assert len(_Preprocessing.seen) == 3 and "rare" in _Preprocessing.seen[2][1]
    assert tuner.cv_results_["status"] == ["completed"]
    folds = _Preprocessing.seen[:2]
    for (fill, categories), rows in zip(folds, halves, strict=True):
        late_fill = 0.0 if rows.start == 0 else np.nanmedian(late[rows])
        assert fill == [
            pytest.approx(np.nanmedian(number[rows])),
            pytest.approx(late_fill),
        ]
        assert ("rare" in categories) == (rows.start == 0)
    # The kept fold model predicts raw rows, with its own categories.
    best = tuner.best_model()
    assert best.get_layer("one_hot_0").get_vocabulary() in [c for _, c in folds]
    assert np.isfinite(best.predict(x, verbose=0)).all()
    # The refit's are all the rows'.
    refit = tuner.best_estimator_
    assert refit.get_layer("fill_missing").values == [
        pytest.approx(np.nanmedian(number)),
        pytest.approx(np.nanmedian(late)),
    ]
    assert "rare" in refit.get_layer("one_hot_0").get_vocabulary()


def test_bad_tabular_input_is_refused_with_the_fix(tmp_path):
    with pytest.raises(ValueError, match="preprocessing.*'yes'"):
        keras_hpo.HyperMLP("regression", preprocessing="yes")
    with pytest.raises(ValueError, match="standardize.*standardises"):
        keras_hpo.HyperMLP("regression", preprocessing="auto", standardize=True)
    with pytest.raises(TypeError, match="pandas DataFrame"):
        _hypermodel().adapt(np.zeros((10, 3), "float32"))
    # A text column without a value failed at build: "empty vocabulary".
    empty = pd.DataFrame({"a": [1.0, 2.0], "note": [None, None]})
    with pytest.raises(ValueError) as info:
        _hypermodel().adapt(empty)
    assert str(info.value).startswith("`x`: a text column with no value. Received: ")
    assert "x='note'" in str(info.value)
    # Without preprocessing=, text and NaN are refused before any trial.
    table = diabetes_table()
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP("regression"),
        max_trials=1,
        directory=str(tmp_path),
        verbose=0,
    )
    with pytest.raises(TypeError, match="numeric features"):
        tuner.search(table.drop(columns=["target"]), table["target"], epochs=1)


def test_a_column_of_many_categories_is_embedded_and_learned(tmp_path, monkeypatch):
    # 1,200 product codes (more than one-hot takes), each with its own
    # label, 8 rows each; "colour" has 3 categories and is one-hot.
    rng = np.random.default_rng(0)
    codes = np.array([f"p{i:04d}" for i in range(1200)])
    label = rng.integers(0, 2, size=1200)
    pick = np.repeat(np.arange(1200), 8)
    rng.shuffle(pick)
    frame = pd.DataFrame(
        {
            "product": codes[pick].astype(object),
            "colour": rng.choice(["red", "green", "blue"], size=len(pick)).astype(
                object
            ),
            "noise": rng.normal(size=len(pick)),
        }
    )
    y = label[pick]
    tuner = keras_hpo.GridSearch(
        keras_hpo.HyperMLP(
            "binary", preprocessing="auto", num_layers=1, units=16, dropout=0.0
        ),
        param_grid={"learning_rate": [0.01]},
        directory=str(tmp_path),
        verbose=0,
        refit=False,
    )
    train = slice(0, 8000)
    tuner.search(frame[train], y[train], validation_split=0.2, epochs=8, batch_size=64)
    model = tuner.best_estimator_
    embedding = model.get_layer("embedding_0")
    # The codes of the training rows (not the 20% validation_split keeps to
    # score), and one for an unseen or missing one.
    seen = frame["product"].iloc[:6400].nunique()
    assert 1190 < seen < 1200 and embedding.input_dim == seen + 1
    assert embedding.output_dim == embedding_width(seen) == 50
    assert [type(layer).__name__ for layer in model.layers].count("StringLookup") == 2
    # Each code's label can only be read from its embedding: learned.
    held_out = frame.iloc[8000:]
    accuracy = float((tuner.predict(held_out) == y[8000:]).mean())
    assert accuracy > 0.8, accuracy
    unseen = held_out.iloc[:2].copy()
    unseen["product"] = ["never-seen", None]
    assert np.isfinite(model.predict(unseen, verbose=0)).all()
    # More categories than an embedding takes: refused, saying what to do.
    monkeypatch.setattr(tabular, "MAX_CATEGORIES", 1000)
    with pytest.raises(ValueError, match="1200 categories.*group its rare values"):
        TabularSchema.from_frame(frame)


# Slow (23 s; the Python, load and predict paths stay; the default run has to stay under
# 12 minutes).
@pytest.mark.slow
def test_a_csv_with_text_and_empty_cells_through_keras_hpo_tune_and_predict(
    tmp_path,
):
    table = diabetes_table()
    path = tmp_path / "diabetes.csv"
    table.to_csv(path, index=False)  # NaN and None become empty cells
    assert ",," in path.read_text()
    out = tmp_path / "runs"
    done = run_python(
        [
            "-m",
            "keras_hpo.cli",
            "tune",
            "--dataset",
            "csv",
            "--csv",
            str(path),
            "--target",
            "target",
            "--preprocessing",
            "auto",
            "--scoring",
            "neg_root_mean_squared_error",
            "--strategy",
            "random",
            "--max-trials",
            "2",
            "--epochs",
            "5",
            "--directory",
            str(out),
        ]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "task regression" in done.stdout
    assert "val_neg_root_mean_squared_error=" in done.stdout
    project = out / "diabetes_random"
    summary = json.loads((project / "summary.json").read_text())
    assert summary["objective"] == "val_neg_root_mean_squared_error"
    assert summary["preprocessing"] == "auto" and summary["trials"] == 2
    assert "sex" in summary["features"] and "target" not in summary["features"]
    done = run_python(
        [
            "-m",
            "keras_hpo.cli",
            "predict",
            str(project),
            "--csv",
            str(path),
            "--output",
            str(tmp_path / "predicted.csv"),
        ]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    predicted = pd.read_csv(tmp_path / "predicted.csv")
    assert len(predicted) == len(table)
    assert np.isfinite(predicted["prediction"]).all()


def test_a_table_and_array_validation_data_are_joined_for_the_refit(
    tmp_path, tiny_classification
):
    # A DataFrame and Series to train on, NumPy validation labels (or a
    # Series of sample weights, whose validation weights are an array): the
    # refit used to fail after every trial ran (pandas.concat of an array).
    x, y = tiny_classification
    frame, labels = pd.DataFrame(x), pd.Series(y)
    for name, kwargs in (
        ("labels", {"validation_data": (frame[150:], y[150:])}),
        ("weights", {"validation_data": (x[150:], y[150:])}),
    ):
        train = (frame[:150], labels[:150]) if name == "labels" else (x[:150], y[:150])
        if name == "weights":
            kwargs["sample_weight"] = pd.Series(np.ones(150))
        tuner = keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=3, units=8),
            max_trials=1,
            directory=str(tmp_path),
            project_name=name,
            tensorboard_dir=None,
            verbose=0,
        )
        tuner.search(*train, epochs=1, **kwargs)
        assert tuner.refitted.saved()["samples"] == 200


def test_columns_named_as_layers_or_with_a_slash_build_train_and_load(tmp_path):
    # A column "output", "standardize" or "dense_0" collided with the model's
    # own layers ("name is used 2 times"); "price/sqft" is no Keras layer
    # name: each failed at build.
    rng = np.random.default_rng(0)
    names = ["price/sqft", "output", "standardize", "dense_0", "kind"]
    table = pd.DataFrame(rng.normal(size=(60, 4)), columns=names[:4])
    table["kind"] = rng.choice(["a", "b"], 60).astype(object)
    y = (table["price/sqft"] + table["output"]).to_numpy("float32")
    hypermodel = _hypermodel().adapt(table, y)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert list(model.input) == names
    model.fit(table, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        loaded.predict(table, verbose=0), model.predict(table, verbose=0), rtol=1e-6
    )


def test_a_subclass_input_block_gets_the_preprocessed_features():
    # With preprocessing="auto" the hook was never called.
    class Noisy(keras_hpo.HyperMLP):
        def input_block(self, hp, inputs):
            return keras.layers.GaussianNoise(0.1, name="noise")(inputs)

    table = diabetes_table().drop(columns=["target"])
    hypermodel = Noisy("regression", preprocessing="auto").adapt(
        table, np.zeros(len(table))
    )
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert "noise" in [layer.name for layer in model.layers]


def _features(hypermodel, model, frame) -> np.ndarray:
    """What the model's preprocessing layers make of ``frame``."""
    from keras_hpo.hypermodels.tabular import model_inputs

    inner = keras.Model(model.input, model.get_layer("features").output)
    return np.asarray(inner.predict(model_inputs(model, frame), verbose=0))


def _built(frame):
    hypermodel = keras_hpo.HyperMLP(
        "regression", preprocessing="auto", num_layers=1, units=4, dropout=0.0
    )
    hypermodel.adapt(frame)
    return hypermodel, hypermodel.build(keras_tuner.HyperParameters())


def test_a_constant_column_and_number_like_categories_are_encoded_as_trained():
    # A column of 0s in training turned a 1 into 1e7 (Keras' variance
    # floor); categories 1, 2 read back as floats 1.0, 2.0 (a column with a
    # missing value) were all unseen.
    train = pd.DataFrame(
        {"flag": [0.0] * 4, "code": pd.Categorical([1, 2, 1, 2]), "x": [1.0, 2, 3, 4]}
    )
    hypermodel, model = _built(train)
    assert hypermodel.schema.vocabularies["code"] == ["1", "2"]
    later = pd.DataFrame({"flag": [1.0, 0.0], "code": [2.0, np.nan], "x": [1.0, 1.0]})
    features = _features(hypermodel, model, later)
    # flag (standardised), x, then code's one-hot: missing, "1", "2".
    assert features[:, 0].tolist() == [1.0, 0.0]
    assert features[:, 2:].tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]


def test_infinite_values_and_duplicate_columns_are_refused_by_name():
    with pytest.raises(ValueError) as info:
        _built(pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": ["x", "y", "x"]}))
    assert str(info.value) == (
        "`x`: 1 value(s) of column 'a' are infinite. Received: x=column 'a', row "
        "1: inf (of type DataFrame). Replace them with finite numbers, or leave "
        "the cells empty (a missing value is imputed)."
    )
    hypermodel, model = _built(
        pd.DataFrame({"a": [1.0, 3.0, 2.0], "b": ["x", "y", "x"]})
    )
    with pytest.raises(ValueError, match="of column 'a' are infinite"):
        model.predict(pd.DataFrame({"a": [-np.inf], "b": ["x"]}), verbose=0)
    twice = pd.DataFrame([[1.0, 2.0, "x"]], columns=["a", "a", "b"])
    with pytest.raises(ValueError, match="has more than one column named 'a'"):
        _built(twice)


def test_a_category_spelled_like_keras_unknown_token_is_a_category(tmp_path):
    # Keras' lookups call unseen values "[UNK]": a column holding that text
    # had it merged with the unseen and missing ones.
    train = pd.DataFrame({"x": [1.0, 2.0, 3.0], "kind": ["[UNK]", "a", "b"]})
    hypermodel, model = _built(train)
    later = pd.DataFrame({"x": [1.0, 1.0, 1.0], "kind": ["[UNK]", "new", None]})
    # x, then kind's one-hot: missing or unseen, "[UNK]", "a", "b".
    assert _features(hypermodel, model, later)[:, 1:].tolist() == [
        [0.0, 1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
    ]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert np.allclose(
        loaded.predict(later, verbose=0), model.predict(later, verbose=0)
    )
