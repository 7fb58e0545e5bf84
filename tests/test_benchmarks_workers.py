"""benchmarks/workers.py: its report and targets, and a quick real run (slow)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import workers  # noqa: E402


def _settings(per_hour: dict[int, float]) -> dict[int, dict]:
    def spread(value):
        return {"median": value, "min": value, "max": value, "n": 1}

    return {
        w: {
            "trials_per_hour": spread(rate),
            "search_trials_per_hour": spread(rate * 1.2),
            "search_s": spread(3000 * 12 / rate),
            "wall_s": spread(3600 * 12 / rate),
            "best_score": spread(0.97),
            "trials": [12],
        }
        for w, rate in per_hour.items()
    }


def _capacity(rates: dict[int, list[float]]) -> list[dict]:
    return [
        {
            "fake_workers": count,
            "round": i,
            "trials_per_s": rate,
            "ask_median_s": 0.01,
            "ask_p99_s": 0.02,
            "chief_cpu_s": 4.5,
        }
        for count, values in rates.items()
        for i, rate in enumerate(values)
    ]


def test_the_targets_are_judged_on_the_medians():
    capacity = _capacity({8: [150.0, 160.0, 20.0], 32: [99.0, 120.0, 90.0]})
    targets = workers.check_targets(_settings({1: 100, 2: 170}), capacity, False)
    assert [(t["met"], round(t["value"], 2)) for t in targets] == [
        (True, 1.7),  # while searching
        (True, 1.7),  # whole command
        (False, 99.0),  # the worst fake-worker count's median decides
    ]
    met = workers.check_targets({}, _capacity({8: [150.0, 20.0, 101.0]}), False)
    assert [(t["met"], t["value"]) for t in met] == [(True, 101.0)]
    table = workers.markdown(
        {
            "stamp": {"date": "d", "commit": "c", "machine": "m", "load_average": 0},
            "cpu": "cpu",
            "wall_s": 1.0,
            "strategy": "random",
            "trials": 12,
            "epochs": 15,
            "repeats": 3,
            "seconds": 5.0,
            "chief_rounds": 3,
            "settings": {},
            "capacity": capacity,
            "targets": targets,
        }
    )
    assert "| 8 | 150 [20, 160] | 10.0 | 20.0 | 4.5 |" in table
    assert "| 32 | 99 [90, 120] |" in table
    quick = workers.check_targets(_settings({1: 100, 2: 150}), [], True)
    assert [(t["target"], t["met"], t["judged"]) for t in quick] == [
        ("2 workers >= 1.6x the trials/h of 1 worker (while searching)", False, False),
        ("2 workers >= 1.6x the trials/h of 1 worker (whole command)", False, False),
    ]


@pytest.mark.slow
def test_a_quick_run_writes_its_report(tmp_path):
    from conftest import run_python

    done = run_python(
        [str(BENCH / "workers.py"), "--quick", "--out", str(tmp_path)], timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads((tmp_path / "workers.json").read_text())
    assert sorted(report["settings"]) == ["1", "2"]
    assert all(r["trials"] == 2 for r in report["runs"])
    (row,) = report["capacity"]
    assert row["fake_workers"] == 4 and row["round"] == 0
    assert row["trials"] == row["trials_ended_by_oracle"] > 0
    assert {t["judged"] for t in report["targets"]} == {False}
    table = (tmp_path / "workers.md").read_text()
    assert "not judged (quick run)" in table
    assert report["stamp"]["commit"]
