"""The training benchmarks run in their ``--quick`` mode and report what they claim.

The numbers themselves (ratios against targets) are checked by reading the
committed results, not by timing anything here.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import REPO
from conftest import run_python

BENCHMARKS = REPO / "benchmarks"


def run_benchmark(script: str, out, *args: str) -> subprocess.CompletedProcess:
    done = run_python([str(BENCHMARKS / script), "--quick", "--out", str(out), *args])
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_tensorboard_overhead_quick(tmp_path):
    done = run_benchmark("tensorboard_overhead.py", tmp_path)
    report = json.loads((tmp_path / "tensorboard_overhead.json").read_text())
    assert report["repeats"] == 2 and report["epochs"] == 3
    for key in (
        "seconds_per_epoch_plain",
        "seconds_per_epoch_logged",
        "seconds_per_epoch_in_callbacks",
    ):
        assert len(report[key]) == 2 and all(v > 0 for v in report[key])
    assert 0 < report["callback_share"] < 1
    table = (tmp_path / "tensorboard_overhead.md").read_text()
    assert "time inside the callback" in table
    assert table.splitlines()[-1] in done.stdout


@pytest.mark.slow
def test_pruning_quick(tmp_path):
    run_benchmark("pruning.py", tmp_path)
    report = json.loads((tmp_path / "pruning.json").read_text())
    assert report["seeds"] == [1] and report["trials"] == 6 and report["epochs"] == 9
    [run] = report["runs"]
    assert run["pruned"]["epochs"] < run["unpruned"]["epochs"]
    assert run["pruned"]["pruned"] > 0 and run["unpruned"]["pruned"] == 0
    assert report["disk_ratio_keras_tuner_over_ours"] > 1


def test_committed_results_meet_the_targets():
    pruning = json.loads((BENCHMARKS / "results" / "pruning.json").read_text())
    assert pruning["seeds"] == [1, 2, 3] and pruning["trials"] == 20
    assert pruning["median_epoch_ratio"] <= 0.40
    assert pruning["median_best_gap_pp"] <= 0.5
    assert pruning["disk_ratio_keras_tuner_over_ours"] >= 10
    overhead = json.loads(
        (BENCHMARKS / "results" / "tensorboard_overhead.json").read_text()
    )
    assert overhead["callback_share"] < 0.05
    assert overhead["ab_ratio"] < 1.05
    memory = json.loads((BENCHMARKS / "results" / "memory.json").read_text())
    assert memory["trials"] == 100 and memory["from_trial"] == 10
    assert memory["growth_mb"]["keras_hpo"] < 100
    for run in memory["runs"].values():
        assert len(run["rss_mb"]) == 100


@pytest.mark.slow
def test_memory_quick(tmp_path):
    run_benchmark("memory.py", tmp_path)
    report = json.loads((tmp_path / "memory.json").read_text())
    assert report["trials"] == 12
    assert set(report["runs"]) == {"keras_hpo", "keras_hpo_isolated", "keras_tuner"}
    for run in report["runs"].values():
        assert len(run["rss_mb"]) == 12 and all(v > 0 for v in run["rss_mb"])
