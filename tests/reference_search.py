"""Seeded searches whose results must stay bit-identical across refactors.

``python tests/reference_search.py`` writes ``tests/data/reference_results.json``
from the code checked out; `test_same_results.py` runs the same searches and
compares. The file was written by the code before the execution layer was
split into parts (issue 15, commit 0d1a48c); rewrite it only when a change is
meant to change what a search computes, and say so in the commit.

Wall times (``seconds``, ``fit_seconds``) are left out, and an error keeps
only its last line (a traceback names source lines, which move).
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REFERENCE = Path(__file__).resolve().parent / "data" / "reference_results.json"

#: The reference searches, by name.
SEARCHES = ("random", "grid", "isolated")

#: Columns of ``cv_results_`` that are wall-clock times.
TIMES = (
    "seconds",
    "fit_seconds",
    "mean_fit_time",
    "std_fit_time",
    "mean_score_time",
    "std_score_time",
)


def _data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def _failing_mlp(**kwargs):
    """A HyperMLP whose trials with learning rate 10 fail (raise) or diverge."""
    import keras_hpo

    class Failing(keras_hpo.HyperMLP):
        def fit(self, hp, model, x, y, **kw):
            if hp["learning_rate"] == 10.0 and hp["dropout"] == 0.0:
                raise ValueError("this trial cannot be trained")
            if hp["learning_rate"] == 10.0:
                x = x * 1e30  # the loss becomes infinite: the trial diverges
            return super().fit(hp, model, x, y, **kw)

    return Failing(**kwargs)


def _comparable(tuner) -> dict:
    table = {
        k: [None if isinstance(x, float) and math.isnan(x) else x for x in v]
        for k, v in tuner.cv_results_.items()
        if k not in TIMES
    }
    table["error"] = [e.strip().splitlines()[-1] if e else e for e in table["error"]]
    histories = {r.trial_id: r.history for r in tuner.results()}
    seeds = {r.trial_id: r.seed for r in tuner.results()}
    project = Path(tuner.project_dir)
    kept = sorted(str(p.relative_to(project)) for p in project.glob("trial_*/*.h5"))
    return {"cv_results_": table, "history": histories, "seed": seeds, "kept": kept}


def searches(directory: str, names: tuple[str, ...] = SEARCHES) -> dict:
    """Runs the reference searches under ``directory``; their comparable results.

    Args:
        directory: Where the projects are written.
        names: Which of `SEARCHES` to run.
    """
    import keras_hpo

    x, x_val, y, y_val = _data()
    x, y = x[:600], y[:600]
    fit = {"validation_data": (x_val, y_val), "epochs": 4}
    out = {}
    if "random" in names:
        out["random"] = _random_search(keras_hpo, directory, x, y, fit)
    if "grid" in names:
        out["grid"] = _grid_search(keras_hpo, directory, x, y, fit)
    if "isolated" in names:
        out["isolated"] = _isolated_search(keras_hpo, directory, x, y)
    return out


def _random_search(keras_hpo, directory, x, y, fit) -> dict:
    random = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10, units=(8, 64, 8), num_layers=(1, 2)),
        max_trials=6,
        seed=3,
        early_stopping=1,
        stopper=keras_hpo.MedianStopping(min_trials=2, min_epochs=1),
        keep_top_k=2,
        directory=directory,
        project_name="random",
        verbose=0,
        refit=False,  # the refit is not compared; it would only cost time
    )
    random.search(x, y, **fit)
    return _comparable(random)


def _grid_search(keras_hpo, directory, x, y, fit) -> dict:
    grid = keras_hpo.GridSearch(
        _failing_mlp(num_classes=10, units=16),
        param_grid={"learning_rate": [1e-2, 10.0], "dropout": [0.0, 0.3]},
        checkpoint="every_epoch",
        seed=7,
        directory=directory,
        project_name="grid",
        verbose=0,
        tensorboard_dir=None,
        refit=False,
    )
    grid.search(x, y, **fit)
    return _comparable(grid)


def _isolated_search(keras_hpo, directory, x, y) -> dict:
    isolated = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10, units=(8, 32, 8)),
        max_trials=2,
        seed=5,
        isolate_trials=True,
        directory=directory,
        project_name="isolated",
        verbose=0,
        refit=False,
    )
    isolated.search(x, y, validation_split=0.25, epochs=2)
    return _comparable(isolated)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        results = searches(tmp)
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {REFERENCE}", file=sys.stderr)
