"""The training benchmarks run in their ``--quick`` mode and report what they measured.

Each test runs a script in a fresh process, writing into a temporary folder,
and checks that the report's summaries, ratios and verdicts follow from the
measurements of that same run. No test reads a committed result file, and
none asserts a speed: wall times depend on the machine and its load.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import pytest
from conftest import REPO
from conftest import run_python

BENCHMARKS = REPO / "benchmarks"

#: Every Keras callback keras_hpo gives a trial by default.
TRIAL_CALLBACKS = {
    "BestWeights",
    "EarlyStopping",
    "EpochRecorder",
    "EpochTensorBoard",
    "TrialControl",
}


def published_line(name: str, report: dict) -> str:
    """The line ``benchmarks/report.py`` writes into the README for ``report``."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import report as published
    finally:
        sys.path.remove(str(BENCHMARKS))
    return dict(published.LINES)[name](report)


def run_benchmark(script: str, out, *args: str) -> subprocess.CompletedProcess:
    done = run_python([str(BENCHMARKS / script), "--quick", "--out", str(out), *args])
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def check_stamp(stamp: dict) -> None:
    """A run's stamp names its date, commit, machine and load."""
    assert time.strptime(stamp["date"][:19], "%Y-%m-%dT%H:%M:%S")
    assert stamp["commit"] == "unknown" or len(stamp["commit"].split("+")[0]) == 12
    assert stamp["machine"] and stamp["load_average"] >= 0


@pytest.mark.slow  # 15-20 s: the default run has to stay under 12 minutes
def test_overhead_quick(tmp_path):
    done = run_benchmark("overhead.py", tmp_path)
    report = json.loads((tmp_path / "overhead.json").read_text())
    check_stamp(report["stamp"])
    assert (report["trials"], report["epochs"], report["repeats"]) == (2, 2, 2)
    tools = ["keras_hpo.RandomSearch", "keras_tuner.RandomSearch", "hand-written loop"]
    rounds = report["rounds"]
    # The order rotates from round to round.
    assert [r["order"] for r in rounds] == [tools, tools[1:] + tools[:1]]
    for r in rounds:
        for tool in tools:
            assert r[tool]["trials"] == 2 and r[tool]["epochs"] == 4
            assert 0 < r[tool]["fit_s"] <= r[tool]["wall_s"]
        # Every default per-epoch callback of ours was timed; the loop has none.
        assert set(r[tools[0]]["callback_s"]) == TRIAL_CALLBACKS
        assert all(s > 0 for s in r[tools[0]]["callback_s"].values())
        assert r[tools[2]]["callback_s"] == {}
    summary = report["summary"]
    for tool in tools:
        ratios = [r[tool]["wall_s"] / r[tools[2]]["wall_s"] for r in rounds]
        got = summary["wall_over_loop"][tool]
        assert got["median"] == pytest.approx(statistics.median(ratios))
        assert (got["min"], got["max"]) == pytest.approx((min(ratios), max(ratios)))
    assert summary["wall_over_loop"][tools[2]]["median"] == 1.0
    total = [1000 * sum(r[tools[0]]["callback_s"].values()) / 4 for r in rounds]
    assert summary["callback_ms_per_epoch_total"]["median"] == pytest.approx(
        statistics.median(total)
    )
    target = summary["target"]
    assert target["measured"] == summary["wall_over_loop"][tools[0]]["median"]
    assert target["met"] == (target["measured"] <= 1.10)
    verdict = "met" if target["met"] else "MISSED"
    assert f"{target['measured']:.3f}, {verdict}." in done.stdout
    assert (tmp_path / "overhead.md").read_text().strip() in done.stdout
    ours = summary["wall_over_loop"][tools[0]]
    line = published_line("overhead", report)
    assert f"takes {ours['median']:.3f} [{ours['min']:.3f}, {ours['max']:.3f}]" in line
    assert ("target <= 1.10, met" in line) == target["met"]
    assert report["stamp"]["commit"][:7] in line


@pytest.mark.slow  # 15-20 s: the default run has to stay under 12 minutes
def test_tensorboard_overhead_quick(tmp_path):
    done = run_benchmark("tensorboard_overhead.py", tmp_path)
    report = json.loads((tmp_path / "tensorboard_overhead.json").read_text())
    check_stamp(report["stamp"])
    pairs = report["pairs"]
    assert len(pairs) == 2 and report["trials"] == 2 and report["epochs"] == 2
    for pair in pairs:
        assert pair["off"]["logging"] is False and pair["on"]["logging"] is True
        assert pair["off"]["epochs"] == pair["on"]["epochs"] == 4
        # Off means no TensorBoard callback ran at all; on means both parts did.
        assert pair["off"]["inside_s"] == {}
        assert set(pair["on"]["inside_s"]) == {"EpochTensorBoard", "TensorBoardLogger"}
        assert all(s > 0 for s in pair["on"]["inside_s"].values())
        assert pair["on"]["bytes_written"] > pair["off"]["bytes_written"]
    summary = report["summary"]
    costs = [p["on"]["wall_s"] / p["off"]["wall_s"] - 1 for p in pairs]
    ab = summary["ab_cost"]
    assert ab["n"] == 2 and ab["mean"] == pytest.approx(statistics.fmean(costs))
    assert ab["low"] < ab["mean"] < ab["high"]
    epoch = statistics.median(p["off"]["fit_s"] / 4 for p in pairs)
    inside = statistics.median(sum(p["on"]["inside_s"].values()) / 4 for p in pairs)
    assert summary["inside_share"] == pytest.approx(inside / epoch)
    assert summary["target"]["met"] == (summary["inside_share"] < 0.05)
    assert "95% CI" in done.stdout
    line = published_line("tensorboard_overhead", report)
    assert f"{100 * summary['inside_share']:.2f}% of an epoch" in line
    assert f"{100 * ab['mean']:+.1f}% [{100 * ab['low']:+.1f}%," in line


@pytest.mark.slow  # about 45 s; the default run stays under 12 minutes
def test_pruning_quick(tmp_path):
    done = run_benchmark("pruning.py", tmp_path)
    report = json.loads((tmp_path / "pruning.json").read_text())
    assert report["seeds"] == [1] and report["trials"] == 6 and report["epochs"] == 9
    [run] = report["runs"]
    for arm in ("unpruned", "pruned", "keras_tuner"):
        check_stamp(run[arm]["stamp"])
    assert run["pruned"]["epochs"] < run["unpruned"]["epochs"] <= 54
    assert run["pruned"]["pruned"] > 0 and run["unpruned"]["pruned"] == 0
    # keras-tuner runs on the same seed and trains every epoch of every trial.
    assert run["keras_tuner"]["epochs"] == 54
    summary = report["summary"]
    ratio = run["pruned"]["epochs"] / run["unpruned"]["epochs"]
    assert summary["epoch_ratio"]["median"] == pytest.approx(ratio)
    assert summary["targets"]["epoch_ratio <= 0.40"] == (ratio <= 0.40)
    disk = run["keras_tuner"]["bytes_per_trial"] / run["unpruned"]["bytes_per_trial"]
    assert summary["disk_ratio"]["median"] == pytest.approx(disk) and disk > 1
    assert "All runs from 1 commit(s)" in done.stdout
    line = published_line("pruning", report)
    assert f"{ratio:.0%} [{ratio:.0%}, {ratio:.0%}] of the epochs" in line
    assert ("target <= 40%, met" in line) == (ratio <= 0.40)


@pytest.mark.slow  # about 50 s; the default run stays under 12 minutes
def test_memory_quick(tmp_path):
    run_benchmark("memory.py", tmp_path)
    report = json.loads((tmp_path / "memory.json").read_text())
    check_stamp(report["stamp"])
    assert report["trials"] == 4 and report["from_trial"] == 2
    assert set(report["runs"]) == {"keras_hpo", "keras_hpo_isolated", "keras_tuner"}
    for tool, run in report["runs"].items():
        assert len(run["rss_mb"]) == 4 and all(v > 0 for v in run["rss_mb"])
        assert len(run["tree_peak_pss_mb"]) == 4
        assert all(v > 0 for v in run["tree_peak_pss_mb"])
        growth = run["rss_mb"][-1] - run["rss_mb"][1]
        assert report["growth_mb"][tool] == pytest.approx(growth)
    # The isolated trials' children are counted: the tree's peak (its shared
    # pages counted once) is above what the search process alone holds, even
    # counted in full (RSS).
    isolated = report["runs"]["keras_hpo_isolated"]
    for peak, rss in zip(isolated["tree_peak_pss_mb"], isolated["rss_mb"], strict=True):
        assert peak > rss
    line = published_line("memory", report)
    assert f"trial 2 to 4: {report['growth_mb']['keras_hpo']:+.0f} MB" in line
    assert f"a peak of {isolated['tree_peak_pss_mb'][1]:.0f} MB at trial 2" in line


def test_tree_sampler_counts_a_live_child():
    """The memory benchmark's sampler adds a child process's memory to the peak."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from memory import TreeSampler
    finally:
        sys.path.remove(str(BENCHMARKS))
    sampler = TreeSampler(interval=0.02)
    alone = sampler.take_peak()
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; b = bytearray(300 * 2**20); "
            "b[::4096] = b'x' * len(b[::4096]); print('ready', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        with_child = sampler.take_peak()
    finally:
        child.kill()
        child.wait()
    assert with_child - alone > 250
    # Once the child has gone, the peak starts again from this process alone.
    assert sampler.take_peak() < alone + 50


@pytest.mark.slow  # about 35 s
def test_cv_cost_quick(tmp_path):
    done = run_benchmark("cv_cost.py", tmp_path)
    report = json.loads((tmp_path / "cv_cost.json").read_text())
    check_stamp(report["stamp"])
    assert report["repeats"] == len(report["rounds"]) == 1
    (only,) = report["rounds"]
    summary = report["summary"]
    holdout = only["mlp"]["holdout 20%"]
    for arm, seconds in only["mlp"].items():
        ratio = summary["mlp_over_holdout"][arm]["median"]
        assert ratio == pytest.approx(seconds / holdout)
    assert summary["mlp_cv5_over_hand_loop"]["median"] == pytest.approx(
        only["mlp"]["cv=5"] / only["mlp"]["hand loop, 5 folds"]
    )
    floor = only["forest"]["hand loop"]
    for arm, seconds in only["forest"].items():
        ratio = summary["forest_over_hand_loop"][arm]["median"]
        assert ratio == pytest.approx(seconds / floor)
    assert report["forest_configurations"] == 4
    assert (tmp_path / "cv_cost.md").read_text().strip() in done.stdout


@pytest.mark.slow  # about 30 s
def test_ensemble_quick(tmp_path):
    done = run_benchmark("ensemble.py", tmp_path)
    report = json.loads((tmp_path / "ensemble.json").read_text())
    check_stamp(report["stamp"])
    (run,) = report["runs"]
    check_stamp(run["stamp"])
    assert (report["seeds"], report["trials"], report["k"]) == ([1], 4, 3)
    summary = report["summary"]
    for method in ("mean", "vote", "greedy"):
        gain = 100 * (run["test"][method] - run["test"]["best_trial"])
        assert summary[f"{method}_gain_pp"]["median"] == pytest.approx(gain)
        assert 0.0 <= run["test"][method] <= 1.0
    assert summary["targets"]["mean_gain_pp >= 0"] == (
        summary["mean_gain_pp"]["median"] >= 0
    )
    assert len(run["members"]) == 3
    # Ensemble selection starts from the best trial and keeps it unless a
    # mix scores better on the validation split.
    assert run["validation"]["greedy"] >= run["validation"]["best_trial"] - 1e-9
    text = (tmp_path / "ensemble.md").read_text()
    assert text.strip() in done.stdout
    verdict = "met" if summary["targets"]["mean_gain_pp >= 0"] else "MISSED"
    assert f"on the test split (median): {verdict}." in text
    line = published_line("ensemble", report)
    gain = summary["mean_gain_pp"]["median"]
    met = "met" if gain >= 0 else "**missed**"
    assert f"({gain:+.2f} [{gain:+.2f}, {gain:+.2f}] points, {met};" in line
