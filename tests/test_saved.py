"""keras_hpo.load: a finished search served from its folder alone.

Neither the data nor the hypermodel is needed: the results are read from
``result.json`` files, the refit model from ``refit/`` and the kept trials'
models from their weights and the architecture saved beside them.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from conftest import run_python
from sklearn.datasets import load_iris
from sklearn.tree import DecisionTreeClassifier

import keras_hpo


def _digits_search(directory, **kwargs):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10, num_layers=1, units=[16, 32], dropout=0.0),
        max_trials=2,
        seed=1,
        directory=str(directory),
        project_name="p",
        verbose=0,
        **kwargs,
    )
    tuner.search(x[:600], y[:600], validation_split=0.25, epochs=2)
    return tuner, x[600:700], y[600:700]


@pytest.mark.slow  # 12 s; the other tests here load a folder in the default run
def test_a_new_process_predicts_as_the_tuner_did_from_the_folder_alone(tmp_path):
    tuner, x, y = _digits_search(
        tmp_path, scoring=["accuracy", "f1_macro"], refit="f1_macro"
    )
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    script = f"""
import json, numpy as np, keras_hpo
search = keras_hpo.load({str(tmp_path / "p")!r})
x = np.load({str(tmp_path / "x.npy")!r}); y = np.load({str(tmp_path / "y.npy")!r})
np.save({str(tmp_path / "pred.npy")!r}, search.predict(x))
np.save({str(tmp_path / "proba.npy")!r}, search.predict_proba(x))
np.save({str(tmp_path / "best.npy")!r}, search.best_model().predict(x, verbose=0))
results = search.cv_results_
print(json.dumps({{"score": search.score(x, y), "best": search.best_params_,
    "best_score": search.best_score_, "cv": results["mean_test_f1_macro"],
    "columns": sorted(results), "type": type(search.best_estimator_).__name__}}))
"""
    done = run_python(["-c", script])
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_array_equal(np.load(tmp_path / "pred.npy"), tuner.predict(x))
    np.testing.assert_allclose(
        np.load(tmp_path / "proba.npy"), tuner.predict_proba(x), rtol=1e-6
    )
    # The best trial's own model, from its two files (no hypermodel there).
    np.testing.assert_allclose(
        np.load(tmp_path / "best.npy"),
        tuner.best_model().predict(x, verbose=0),
        rtol=1e-6,
    )
    # The ranking score (f1_macro, a scikit-learn scorer saved by name).
    assert loaded["score"] == pytest.approx(tuner.score(x, y), abs=1e-12)
    assert loaded["best"] == tuner.best_params_
    assert loaded["best_score"] == tuner.best_score_
    assert loaded["cv"] == tuner.cv_results_["mean_test_f1_macro"]
    assert loaded["columns"] == sorted(tuner.cv_results_)
    assert loaded["type"] == "Sequential" or "Functional" in loaded["type"]


def test_an_estimator_search_loads_its_pickled_refit(tmp_path):
    x, y = load_iris(return_X_y=True)
    tuner = keras_hpo.GridSearch(
        DecisionTreeClassifier(random_state=0),
        param_grid={"max_depth": [None, 1, 2]},
        cv=3,
        directory=str(tmp_path),
        project_name="tree",
        verbose=0,
    )
    tuner.search(x, y)
    search = keras_hpo.load(str(tmp_path / "tree"))
    assert isinstance(search.best_estimator_, DecisionTreeClassifier)
    np.testing.assert_array_equal(search.predict(x), tuner.predict(x))
    assert search.score(x, y) == tuner.score(x, y)  # the estimator's own score
    assert search.best_params_ == tuner.best_params_
    assert search.cv_results_["param_max_depth"] == [None, 1, 2]


def test_without_a_refit_the_best_trials_saved_model_serves(tmp_path):
    tuner, x, y = _digits_search(tmp_path, refit=False, keep_top_k=1)
    project = tmp_path / "p"
    assert not (project / "refit").exists()
    search = keras_hpo.load(str(project))
    best = tuner.best_trial_id_
    assert search.best_trials_on_disk() == [best]  # keep_top_k=1
    files = sorted(os.listdir(project / f"trial_{best}"))
    assert {"checkpoint.model.json", "checkpoint.weights.h5"} <= set(files)
    other = next(r.trial_id for r in tuner.results() if r.trial_id != best)
    # A dropped trial lost both its files.
    assert not {"checkpoint.model.json", "checkpoint.weights.h5"} & set(
        os.listdir(project / f"trial_{other}")
    )
    expected = tuner.best_model().predict(x, verbose=0)
    np.testing.assert_array_equal(search.best_model().predict(x, verbose=0), expected)
    # As on the tuner, refit=False: best_estimator_ is the best trial's model.
    np.testing.assert_array_equal(search.predict(x), tuner.predict(x))
    assert search.score(x, y) == pytest.approx(tuner.score(x, y), abs=1e-12)
    assert len(search.get_best_models(1)) == 1
    with pytest.raises(FileNotFoundError, match="was not kept"):
        search.get_best_models(2)
    with pytest.raises(FileNotFoundError, match="was not kept"):
        search.trial_model(other)
    with pytest.raises(ValueError, match="'9999' is not an ended trial"):
        search.trial_model("9999")
    assert search.n_splits_ == tuner.n_splits_ == 1  # no cv=: one validation
    # The tuner's trial_model is the same model, with the same errors.
    np.testing.assert_array_equal(
        tuner.trial_model(best).predict(x, verbose=0), expected
    )
    with pytest.raises(FileNotFoundError, match="No weights were kept"):
        tuner.trial_model(other)
    with pytest.raises(ValueError, match="`trial_id`: is not an ended trial"):
        tuner.trial_model("9999")
    with pytest.raises(ValueError, match="num_models must be >= 1"):
        search.get_best_models(0)


def test_what_cannot_be_served_is_said(tmp_path):
    _digits_search(tmp_path / "nothing", refit=False, checkpoint="none")
    search = keras_hpo.load(str(tmp_path / "nothing" / "p"))
    assert len(search.results()) == 2  # the results are there
    with pytest.raises(FileNotFoundError, match="neither a refit model nor"):
        search.predict(np.zeros((1, 64), "float32"))
    with pytest.raises(ValueError, match="is not a search's project"):
        keras_hpo.load(str(tmp_path))
    tuner, x, _ = _digits_search(tmp_path / "stale")
    record_path = tmp_path / "stale" / "p" / "refit" / "refit.json"
    record = json.loads(record_path.read_text())
    other = next(
        r.trial_id for r in tuner.results() if r.trial_id != record["trial_id"]
    )
    record_path.write_text(json.dumps({**record, "trial_id": other}))
    with pytest.raises(ValueError, match="stopped before its refit"):
        keras_hpo.load(str(tmp_path / "stale" / "p")).predict(x)
    # A crafted record cannot make it read a file elsewhere.
    record_path.write_text(json.dumps({**record, "file": "../../../../etc/hostname"}))
    with pytest.raises(ValueError, match="not a file keras_hpo writes"):
        keras_hpo.load(str(tmp_path / "stale" / "p")).predict(x)


def test_a_project_with_refit_weights_only_still_gives_its_refit(tmp_path):
    """Projects of the keras_hpo before model.keras kept the refit's weights."""
    tuner, x, _ = _digits_search(tmp_path)
    expected = tuner.predict(x)
    folder = tmp_path / "p" / "refit"
    model = tuner.best_estimator_
    model.save_weights(str(folder / "model.weights.h5"))
    os.remove(folder / "model.keras")
    record = json.loads((folder / "refit.json").read_text())
    del record["file"]
    (folder / "refit.json").write_text(json.dumps(record))
    again = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10, num_layers=1, units=[16, 32], dropout=0.0),
        max_trials=2,
        seed=1,
        directory=str(tmp_path),
        project_name="p",
        verbose=0,
    )
    again.hypermodel.adapt(x)  # the input shape, as search() would give it
    np.testing.assert_array_equal(again.predict(x), expected)
    with pytest.raises(ValueError, match="weights only"):
        keras_hpo.load(str(tmp_path / "p")).predict(x)


def test_a_loaded_search_counts_the_trials_the_search_does(
    tmp_path, tiny_classification
):
    # keras_hpo.load and keras-hpo summary read every result.json: a trial
    # whose result was written by a process killed before the oracle ended
    # it (it runs again on resume) counted, and one the oracle ended whose
    # result.json is gone did not; without search.json, val_loss ranked as max.
    import shutil

    from keras_hpo.summary import read_project

    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3, num_layers=1, units=[4, 8, 16]),
        objective="val_loss",
        max_trials=3,
        seed=0,
        directory=tmp_path,
        project_name="p",
        verbose=0,
        refit=False,
        tensorboard_dir=None,
    )
    tuner.search(x, y, validation_split=0.25, epochs=2)
    ranked = sorted(tuner.results(), key=lambda r: r.score)
    best, second = ranked[0], ranked[1]
    project = tmp_path / "copy"
    shutil.copytree(tmp_path / "p", project)
    state = json.loads((project / "oracle.json").read_text())
    state["end_order"].remove(best.trial_id)  # killed before the oracle's file
    (project / "oracle.json").write_text(json.dumps(state))
    (project / f"trial_{second.trial_id}" / "result.json").unlink()  # lost
    loaded = read_project(str(project))
    assert sorted(r.trial_id for r in loaded.results) == sorted(
        r.trial_id for r in ranked[1:]
    )
    assert loaded.interrupted == [best.trial_id]
    recovered = next(r for r in loaded.results if r.trial_id == second.trial_id)
    assert recovered.score == pytest.approx(second.score)
    assert recovered.number == second.number and recovered.values == second.values
    assert keras_hpo.load(str(project)).best_trial_id_ == second.trial_id
    (project / "search.json").unlink()  # as an older or damaged project
    assert read_project(str(project)).direction == "min"
    assert read_project(str(project)).best().trial_id == second.trial_id


def test_summary_reads_keras_tuners_own_project_and_tells_none_from_inactive(
    tmp_path, monkeypatch
):
    # Without end_order in oracle.json (keras-tuner's own project, an older
    # keras_hpo one), ended trials were all listed as "interrupted".
    from keras_tuner.engine import hyperparameters as kt_hp
    from keras_tuner.engine import trial as kt_trial

    from keras_hpo.summary import format_summary
    from keras_hpo.summary import read_project

    (tmp_path / "oracle.json").write_text(json.dumps({"ongoing_trials": {}}))
    statuses = ["COMPLETED", "COMPLETED", "RUNNING"]
    for i, (score, status) in enumerate(zip((0.8, 0.9, None), statuses, strict=True)):
        hp = kt_hp.HyperParameters()
        hp.Int("units", 8, 64, default=8 * (i + 1))
        trial = kt_trial.Trial(hp, trial_id=f"{i:02d}", status=status)
        trial.metrics.register("val_accuracy", direction="max")
        if score is not None:
            trial.metrics.update("val_accuracy", score, step=1)
            trial.score, trial.best_step = score, 1
        (tmp_path / f"trial_{i:02d}").mkdir()
        trial.save(str(tmp_path / f"trial_{i:02d}" / "trial.json"))
    monkeypatch.chdir(tmp_path.parent)  # a relative path, as typed
    summary = read_project(tmp_path.name)
    assert [(r.trial_id, r.number, r.score) for r in summary.results] == [
        ("00", 1, 0.8),
        ("01", 2, 0.9),
    ]
    assert summary.interrupted == ["02"] and summary.best().trial_id == "01"
    # A hyperparameter set to None shows "None"; an inactive one "-".
    first, second = summary.results
    first.values["depth"] = None
    second.values.pop("units")
    rows = format_summary(summary).splitlines()
    assert rows[4].split()[-2:] == ["8", "None"]
    assert rows[5].split()[-2:] == ["-", "-"]


def test_a_search_resumed_with_refit_false_serves_as_its_tuner(tmp_path):
    # The first run's refit stayed in <project>/refit/: keras_hpo.load
    # served it (or refused, "stopped before its refit", once another trial
    # was best) where the tuner, refit=False, serves the best trial's model.
    _, x, _ = _digits_search(tmp_path)
    assert (tmp_path / "p" / "refit").is_dir()
    again, _, _ = _digits_search(tmp_path, refit=False)
    search = keras_hpo.load(str(tmp_path / "p"))
    np.testing.assert_array_equal(
        search.best_estimator_.predict(x, verbose=0),
        again.best_model().predict(x, verbose=0),
    )
    np.testing.assert_array_equal(search.predict(x), again.predict(x))
