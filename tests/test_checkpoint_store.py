"""The checkpoint store on its own: which trials keep weights on disk."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_hpo.tuners.checkpoint_store import CheckpointStore
from keras_hpo.tuners.outcome import WeightsHandle
from keras_hpo.tuners.results import TrialResult
from keras_hpo.tuners.results import TrialStatus


def _model() -> keras.Model:
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _result(trial_id: str, number: int, score: float | None) -> TrialResult:
    status = TrialStatus.FAILED if score is None else TrialStatus.COMPLETED
    return TrialResult(trial_id, number, {}, status, score=score)


def test_best_keeps_the_top_k_and_drops_those_pushed_out(tmp_path):
    store = CheckpointStore(str(tmp_path), "best", keep_top_k=1)
    ended, weights = [], {}
    for number, (trial_id, score) in enumerate([("a", 0.5), ("b", 0.3), ("c", 0.9)]):
        (tmp_path / f"trial_{trial_id}").mkdir()  # the oracle makes it
        model = _model()
        weights[trial_id] = [w + number for w in model.get_weights()]
        store.hold(trial_id, WeightsHandle(model=model, weights=weights[trial_id]))
        result = _result(trial_id, number + 1, score)
        ended.append(result)
        ranked = sorted((r for r in ended), key=lambda r: r.score)
        store.settle(result, ranked, [r.trial_id for r in ended])
    kept = sorted(p.parent.name for p in tmp_path.glob("trial_*/*.h5"))
    assert kept == ["trial_b"]
    loaded = store.load("b", _model)
    for got, want in zip(loaded.get_weights(), weights["b"], strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_failed_trial_keeps_nothing_and_a_pending_file_is_removed(tmp_path):
    store = CheckpointStore(str(tmp_path), "every_epoch", keep_top_k=3)
    (tmp_path / "trial_x").mkdir()
    pending = tmp_path / "trial_x" / "pending.weights.h5"
    pending.write_bytes(b"written by a child process")
    store.hold("x", WeightsHandle(path=str(pending)))
    store.settle(_result("x", 1, None), [], ["x"])
    assert not pending.exists()
    assert list(tmp_path.glob("trial_x/*")) == []


def test_loading_a_trial_without_weights_says_how_to_get_them(tmp_path):
    store = CheckpointStore(str(tmp_path), "none", keep_top_k=3)
    with pytest.raises(FileNotFoundError, match="checkpoint='none'"):
        store.load("a", _model)
