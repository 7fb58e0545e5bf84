"""``benchmarks/mlp.py`` tunes real MLPs with every arm and reports what it claims."""

from __future__ import annotations

import itertools
import json

import pytest
from conftest import REPO
from conftest import installed
from conftest import run_python

OURS = {
    "keras_hpo random",
    "keras_hpo bayesian",
    "keras_hpo grid",
    "keras_hpo random + pruning",
    "keras_hpo bayesian + pruning",
    "keras_hpo grid + pruning",
}
OTHERS = {"keras_tuner random", "keras_tuner bayesian", "optuna tpe"}
#: keras_hpo's Bayesian search without output warping (an ablation).
ABLATION = "keras_hpo bayesian unwarped"


@pytest.mark.slow  # about 50 s; the default run stays under 12 minutes
def test_mlp_quick(tmp_path):
    done = run_python(
        [str(REPO / "benchmarks" / "mlp.py"), "--quick", "--out", str(tmp_path)]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for suffix in ("json", "md", "png"):
        assert (tmp_path / f"mlp.{suffix}").stat().st_size > 0, suffix
    report = json.loads((tmp_path / "mlp.json").read_text())
    assert report["datasets"] == ["digits"] and report["seeds"] == [1]
    assert report["trials"] == 4 and report["epochs"] == 2
    assert report["device"] and report["versions"]["keras_tuner"]
    arms = OURS | OTHERS | {ABLATION}
    arms |= {"optuna gp"} if installed("torch") else set()
    assert set(report["summary"]["digits"]) == arms
    assert set(report["skipped"]) == ({"optuna gp"} - arms)
    runs = {run["arm"]: run for run in report["runs"]}
    for arm, run in runs.items():
        assert run["trials"] == 4, arm
        assert all(v is not None and 0 <= v <= 1 for v in run["best_so_far"]), arm
        assert all(b >= a for a, b in itertools.pairwise(run["best_so_far"])), arm
        assert run["best_val_accuracy"] == run["best_so_far"][-1]
        assert 0 < run["test_accuracy"] <= 1 and run["wall_s"] > 0
        # Every trial trains all its epochs unless it is pruned.
        if "pruning" not in arm:
            assert run["epochs_trained"] == 4 * 2, arm
    for strategy in ("random", "bayesian", "grid"):
        pruned = runs[f"keras_hpo {strategy} + pruning"]
        assert (
            4
            <= pruned["epochs_trained"]
            <= runs[f"keras_hpo {strategy}"]["epochs_trained"]
        )
    # The summary, recomputed from this run's own runs (one seed: its values).
    assert set(report["summary"]) == {"digits"}
    for arm, run in runs.items():
        assert report["summary"]["digits"][arm] == {
            "best_val_accuracy": run["best_val_accuracy"],
            "best_val_accuracy_range": [run["best_val_accuracy"]] * 2,
            "test_accuracy": run["test_accuracy"],
            "wall_s": run["wall_s"],
            "epochs_trained": run["epochs_trained"],
            "trials": run["trials"],
        }, arm
    assert report["target"] is None  # judged on Fashion-MNIST after 20 trials
    assert report["paired"] == {}
    assert "| keras_hpo bayesian |" in (tmp_path / "mlp.md").read_text()
