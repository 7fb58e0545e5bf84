"""cv= with fuse=K: a trial's folds (and trials' folds) train as one fused model.

Each slice of the fused model is one fold of one trial and trains on that
fold's own rows, so a trial keeps what its folds trained one by one keep:
per-fold records and TensorBoard runs, the mean score, pruning.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold
from tb_reading import read_logs

import keras_hpo
from keras_hpo import HyperMLP
from keras_hpo.stopping.base import Stopper

FOLDS = KFold(3)  # 600 rows: three folds of 400 training rows each


@pytest.fixture(scope="module")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x[:600] / 16).astype("float32"), y[:600]


def _search(directory, digits, fuse, **kwargs):
    x, y = digits
    tuner = keras_hpo.GridSearch(
        HyperMLP(num_classes=10, num_layers=1, units=16, dropout=0.0),
        param_grid={"learning_rate": [1e-2, 3e-2]},
        cv=FOLDS,
        fuse=fuse,
        seed=0,
        directory=str(directory),
        project_name=f"fuse{fuse}",
        refit=False,
        verbose=0,
        **kwargs,
    )
    tuner.search(x, y, epochs=2)
    return tuner


@pytest.mark.slow  # 9 s; the pruning test below fuses folds in the default run
def test_folds_fuse_and_keep_what_folds_one_by_one_keep(tmp_path, digits):
    alone = _search(tmp_path, digits, fuse=1)
    fused = _search(tmp_path, digits, fuse=4)
    assert fused.fusion_messages == []  # nothing ran one by one
    ids = [r.trial_id for r in alone.results()]
    table = fused.cv_results_
    for one, many in zip(alone.results(), fused.results(), strict=True):
        assert many.fused_with == ids and one.fused_with is None
        assert one.values == many.values and one.seed == many.seed
        assert [f["epochs_run"] for f in many.folds] == [2, 2, 2]
        scores = [f["score"] for f in many.folds]
        assert many.score == pytest.approx(np.mean(scores), abs=1e-12)
        assert all(s > 0.5 for s in scores)  # each fold learned its rows
    for k in range(3):
        assert table[f"split{k}_test_score"] == [
            r.folds[k]["score"] for r in fused.results()
        ]
    # The first trial's first fold sees the batches it sees alone (same seed,
    # same fold size): its curves agree to float rounding.
    first_alone = alone.results()[0].folds[0]["history"]
    first_fused = fused.results()[0].folds[0]["history"]
    for name in ("loss", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            first_fused[name], first_alone[name], rtol=1e-4, atol=1e-6
        )
    # best_model() holds the best fold's best epoch: it scores that fold's
    # test rows as recorded.
    x, y = digits
    best = fused.results()[int(np.argmax(table["mean_test_score"]))]
    fold = int(np.argmax([f["score"] for f in best.folds]))
    _, test = list(FOLDS.split(x))[fold]
    logs = fused.best_model().evaluate(x[test], y[test], verbose=0, return_dict=True)
    assert logs["accuracy"] == pytest.approx(best.folds[fold]["score"], abs=1e-6)
    # TensorBoard: the same fold runs and tags as folds trained one by one,
    # with each fold's own curve.
    layouts = []
    for tuner in (alone, fused):
        scalars, _ = read_logs(tuner.tensorboard_dir)
        layouts.append({run: sorted(tags) for run, tags in scalars.items()})
    assert layouts[0] == layouts[1]
    scalars, _ = read_logs(fused.tensorboard_dir)
    for r in fused.results():
        for k, fold in enumerate(r.folds):
            curve = scalars[f"trial_{r.trial_id}/fold_{k + 1}/validation"]
            values = [v for _, v in curve["epoch_accuracy"]]
            assert values == pytest.approx(fold["history"]["val_accuracy"])


class PruneOneFold(Stopper):
    """Prunes the first fold of trial 2 that asks after 1 epoch, only that one."""

    def __init__(self):
        self.done = False

    def should_stop(self, trial_id, epochs, curves):
        if not self.done and trial_id == "0001" and epochs >= 1:
            self.done = True
            return True
        return False


def test_a_pruned_fold_stops_its_trials_other_folds_at_once(tmp_path, digits):
    tuner = _search(tmp_path, digits, fuse=4, stopper=PruneOneFold())
    kept, pruned = tuner.results()
    assert kept.status.value == "completed"
    assert [f["epochs_run"] for f in kept.folds] == [2, 2, 2]
    assert pruned.status.value == "pruned"
    assert [f["epochs_run"] for f in pruned.folds] == [1, 1, 1]
