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


def test_overhead_quick(tmp_path):
    done = run_benchmark("overhead.py", tmp_path)
    report = json.loads((tmp_path / "overhead.json").read_text())
    assert report["trials"] == 4 and report["epochs"] == 2 and report["device"]
    tools = [row["tool"] for row in report["rows"]]
    assert tools == [
        "keras_hpo.RandomSearch",
        "keras_tuner.RandomSearch",
        "hand-written loop",
    ]
    for row in report["rows"]:
        assert row["trials"] == 4
        assert 0 < row["fit_s"] <= row["wall_s"]
        assert row["ratio"] == pytest.approx(row["wall_s"] / row["fit_s"])
    assert "keras-tuner's ratio / keras_hpo's ratio" in done.stdout
    assert (tmp_path / "overhead.md").read_text().count("| ") >= 12


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
    ratios = {
        row["tool"]: row["ratio"]
        for row in json.loads((BENCHMARKS / "results" / "overhead.json").read_text())[
            "rows"
        ]
    }
    assert ratios["keras_hpo.RandomSearch"] <= 1.10
    assert ratios["keras_tuner.RandomSearch"] > ratios["keras_hpo.RandomSearch"]


def test_memory_quick(tmp_path):
    run_benchmark("memory.py", tmp_path)
    report = json.loads((tmp_path / "memory.json").read_text())
    assert report["trials"] == 6 and report["from_trial"] == 3
    assert set(report["runs"]) == {"keras_hpo", "keras_hpo_isolated", "keras_tuner"}
    for tool, run in report["runs"].items():
        assert len(run["rss_mb"]) == 6 and all(v > 0 for v in run["rss_mb"])
        growth = run["rss_mb"][-1] - run["rss_mb"][2]
        assert report["growth_mb"][tool] == pytest.approx(growth)
