"""The result store on its own: results kept, written, read back and ranked.

No tuner and no TensorFlow: the store is what ``keras-hpo summary`` and
scikit-learn style reports read.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from keras_hpo.errors import NotSearchedError
from keras_hpo.tuners.result_store import ResultStore
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus


def _result(trial_id, number, score, status=TrialStatus.COMPLETED, history=None):
    return TrialResult(
        trial_id,
        number,
        {"units": 8 * number},
        status,
        score=score,
        metrics={} if score is None else {"val_loss": score},
        history=history or {},
    )


def _store(tmp_path, direction="min") -> ResultStore:
    store = ResultStore(str(tmp_path), direction)
    store.save(_result("b", 2, 0.5))
    store.save(_result("a", 1, 0.7))
    store.save(_result("c", 3, 0.5))
    store.save(_result("d", 4, None, TrialStatus.FAILED))
    return store


def test_results_are_written_one_file_per_trial_and_read_back(tmp_path):
    store = _store(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["trial_a", "trial_b", "trial_c", "trial_d"]
    data = json.loads((tmp_path / "trial_b" / "result.json").read_text())
    assert data["score"] == 0.5 and data["status"] == "completed"
    again = ResultStore(str(tmp_path), "min")
    assert again.load() == []
    assert [r.trial_id for r in again.results()] == ["a", "b", "c", "d"]
    assert again.trials == store.trials


def test_load_keeps_only_ended_trials_and_names_the_lost_ones(tmp_path):
    _store(tmp_path)
    again = ResultStore(str(tmp_path), "min")
    assert again.load(["a", "c", "x"]) == ["x"]
    assert sorted(again.trials) == ["a", "c"]


def test_a_damaged_result_is_refused_by_name(tmp_path):
    _store(tmp_path)
    (tmp_path / "trial_c" / "result.json").write_text("{not json")
    with pytest.raises(ValueError, match="trial_c"):
        ResultStore(str(tmp_path), "min").load()


@pytest.mark.parametrize(
    ("field", "value"),
    [("score", "0.9"), ("number", "x"), ("values", None), ("epochs_run", True)],
)
def test_a_result_field_of_another_type_is_refused_by_name(tmp_path, field, value):
    # Valid JSON of another shape failed later with a raw TypeError (in
    # ranking, or in keras-hpo summary's table).
    _store(tmp_path)
    path = tmp_path / "trial_c" / "result.json"
    data = json.loads(path.read_text())
    data[field] = value
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as info:
        ResultStore(str(tmp_path), "min").load()
    assert str(info.value).startswith(f"{path} is not a keras_hpo trial result")


def test_a_worker_reads_the_others_results_but_not_the_one_of_its_running_trial(
    tmp_path,
):
    _store(tmp_path)  # written by other workers
    mine = ResultStore(str(tmp_path), "min")
    running = _result("c", 3, None, TrialStatus.FAILED)  # training (not ended yet)
    mine.put(running)
    mine.refresh(running="c")  # an earlier run's file of "c" stays unread
    assert sorted(mine.trials) == ["a", "b", "c", "d"]
    assert mine.get("c") is running
    mine.refresh()
    assert mine.get("c").score == 0.5


@pytest.mark.parametrize(
    ("direction", "ranked", "best"),
    [("min", ["b", "c", "a"], "b"), ("max", ["a", "b", "c"], "a")],
)
def test_ranking_follows_the_direction_and_ties_go_to_the_earlier_trial(
    tmp_path, direction, ranked, best
):
    store = _store(tmp_path, direction)
    assert [r.trial_id for r in store.ranked()] == ranked
    assert store.best().trial_id == best == store.require_best().trial_id
    assert store.scores() == [0.7, 0.5, 0.5, None]


def test_cv_results_rank_failed_trials_last(tmp_path):
    table = _store(tmp_path).cv_results()
    assert table["trial_id"] == ["a", "b", "c", "d"]
    assert table["rank_score"] == [3, 1, 2, 4]
    assert table["param_units"] == [8, 16, 24, 32]
    assert table["status"] == ["completed"] * 3 + ["failed"]
    assert len({len(column) for column in table.values()}) == 1


def test_no_best_before_a_trial_has_a_score(tmp_path):
    store = ResultStore(str(tmp_path), "min")
    store.put(_result("a", 1, None, TrialStatus.FAILED))
    assert store.best() is None
    with pytest.raises(NotSearchedError, match="No trial has completed yet"):
        store.require_best()


def test_curves_are_oriented_lower_is_better(tmp_path):
    store = ResultStore(str(tmp_path), "max")
    store.put(_result("a", 1, 0.9, history={"acc": [0.5, 0.9]}))
    store.put(_result("p", 2, 0.4, TrialStatus.PRUNED, history={"acc": [0.4]}))
    store.put(_result("f", 3, None, TrialStatus.FAILED, history={"acc": [math.nan]}))
    curves = store.curves("acc")
    assert sorted(curves) == ["a", "p"]
    assert list(curves["a"].values) == [-0.5, -0.9] and curves["a"].finished
    assert list(curves["p"].values) == [-0.4] and not curves["p"].finished


def test_reading_results_imports_no_tensorflow(tmp_path):
    _store(tmp_path)
    code = (
        "import sys; from keras_hpo.tuners.result_store import ResultStore; "
        f"s = ResultStore({str(tmp_path)!r}, 'min'); s.load(); "
        "print(s.best().trial_id, len(s.cv_results()['trial_id']), "
        "[m for m in ('tensorflow', 'keras', 'keras_tuner') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["b", "4", "[]"]
