"""``benchmarks/parallel_strategy.py --quick`` runs and reports what it measured.

The script runs into a temporary folder (no committed result is read); its
report is checked for structure and sanity, and its summaries and targets are
recomputed from its own rows.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
import subprocess
import sys

import pytest
from conftest import REPO

#: A benchmark's run (about 10 s): with the slow tests.
pytestmark = pytest.mark.slow

#: What ``--quick`` runs.
FINISHED, PENDING, REPEATS = 20, [1, 4], 2
TRIALS, SEEDS, IN_FLIGHT = 12, [1], 4
PROBLEMS = ["branin", "hartmann6"]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One ``--quick`` run: its folder and its report."""
    out = tmp_path_factory.mktemp("parallel_strategy")
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "parallel_strategy.py")]
        + ["--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "parallel_strategy.json",
        "parallel_strategy.md",
    ]
    return out, json.loads((out / "parallel_strategy.json").read_text())


def test_report_header(quick):
    _, report = quick
    assert report["benchmark"] == "parallel_strategy"
    assert report["tool"] == "keras_hpo bayesian"
    assert report["quick"] is True
    assert (report["finished"], report["pending"], report["repeats"]) == (
        FINISHED,
        PENDING,
        REPEATS,
    )
    assert (report["trials"], report["seeds"], report["in_flight"]) == (
        TRIALS,
        SEEDS,
        IN_FLIGHT,
    )
    assert report["problems"] == PROBLEMS
    assert report["device"] and report["cpu"]
    assert {"date", "commit", "machine", "load_average"} <= set(report["stamp"])
    assert {"keras_hpo", "keras_tuner", "numpy", "scipy"} <= set(report["versions"])
    assert report["wall_s"] > 0


def test_latency_rows(quick):
    _, report = quick
    rows = report["latency"]
    assert [row["pending_asked"] for row in rows] == PENDING
    for row in rows:
        # Read back from the oracle: every timed ask saw exactly P running.
        assert row["pending_seen"] == [row["pending_asked"]] * REPEATS
        # Each timed trial was finished: N, N+1, ... finished trials.
        assert row["finished_seen"] == list(range(FINISHED, FINISHED + REPEATS))
        assert len(row["times_s"]) == REPEATS
        assert all(0 < t < 60 for t in row["times_s"])
        assert row["latency_s"] == pytest.approx(
            {
                "median": statistics.median(row["times_s"]),
                "min": min(row["times_s"]),
                "max": max(row["times_s"]),
                "n": REPEATS,
            }
        )
        assert row["pending_build_s"] > 0
        # A new suggestion is never one of the pending points.
        assert len(row["min_distance_to_pending"]) == REPEATS
        assert all(0 < d <= math.sqrt(6) for d in row["min_distance_to_pending"])
        assert row["stamp"]["commit"]


def test_regret_runs(quick):
    _, report = quick
    runs = report["runs"]
    assert [(r["problem"], r["in_flight"], r["seed"]) for r in runs] == [
        (p, k, s) for p in PROBLEMS for k in (1, IN_FLIGHT) for s in SEEDS
    ]
    for run in runs:
        k = run["in_flight"]
        assert run["trials"] == TRIALS
        # Read back from the oracle after each create_trial: the workers fill
        # up to k running trials, then each ended trial is replaced by one.
        assert run["in_flight_seen"] == [min(i + 1, k) for i in range(TRIALS)]
        assert len(run["regret"]) == TRIALS
        assert all(r >= 0 and math.isfinite(r) for r in run["regret"])
        assert all(b <= a for a, b in itertools.pairwise(run["regret"]))
        assert run["final_regret"] == run["regret"][-1]
        assert run["seconds_per_suggestion"] > 0


def test_summary_and_targets(quick):
    """Recomputed from the report's own rows."""
    out, report = quick
    k = str(IN_FLIGHT)
    finals: dict = {}
    for run in report["runs"]:
        finals.setdefault(run["problem"], {}).setdefault(str(run["in_flight"]), [])
        finals[run["problem"]][str(run["in_flight"])].append(run["final_regret"])
    assert set(report["regret_summary"]) == set(PROBLEMS)
    targets = {t["problem"]: t for t in report["targets"]["regret"]}
    assert set(targets) == set(PROBLEMS)
    for problem, modes in finals.items():
        for mode, values in modes.items():
            cell = report["regret_summary"][problem][mode]
            assert cell["median"] == pytest.approx(statistics.median(values))
            assert 0 <= cell["min"] <= cell["median"] <= cell["max"]
        sequential = statistics.median(modes["1"])
        parallel = statistics.median(modes[k])
        target = targets[problem]
        assert target["sequential_median"] == pytest.approx(sequential)
        assert target["in_flight_median"] == pytest.approx(parallel)
        if sequential > 0:
            assert target["ratio"] == pytest.approx(parallel / sequential)
        assert target["met"] == (parallel <= 2 * sequential)
        assert target["at_target_size"] is False  # 12 trials, not 50
    latency = report["targets"]["latency"]
    largest = report["latency"][-1]
    assert (latency["pending"], latency["finished"]) == (max(PENDING), FINISHED)
    assert latency["at_target_size"] is False
    assert latency["median_s"] == largest["latency_s"]["median"]
    assert latency["met"] == (latency["median_s"] < 0.5)
    text = (out / "parallel_strategy.md").read_text()
    assert (
        "**Suggestion latency**" in text and "**Regret with trials in flight**" in text
    )
    assert "| branin |" in text and "| hartmann6 |" in text
    assert "NOT the target's size" in text
