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


def test_the_floor_table_and_the_workers_against_it():
    def spread(value):
        return {"median": value, "min": value - 10, "max": value + 10, "n": 3}

    floor = {
        "1": {
            "trials_per_hour": spread(1000.0),
            "wall_s": spread(43.2),
            "train_s": spread(38.0),
            "start_up_s": spread(4.5),
        },
        "2": {
            "trials_per_hour": spread(1700.0),
            "wall_s": spread(25.4),
            "train_s": spread(20.5),
            "start_up_s": spread(4.9),
        },
    }
    report = {
        "stamp": {"date": "d", "commit": "c", "machine": "m", "load_average": 0},
        "cpu": "cpu",
        "wall_s": 1.0,
        "strategy": "bayesian",
        "trials": 12,
        "epochs": 15,
        "repeats": 3,
        "seconds": 5.0,
        "settings": _settings({1: 900, 2: 1400}),  # x1.2 while searching
        "floor": floor,
        "capacity": [],
        "targets": [],
    }
    table = workers.markdown(report)
    assert "| 1 process | 1000 [990, 1010] | 1.00x | 38.0 | 4.5 |" in table
    assert "| 2 processes | 1700 [1690, 1710] | 1.70x | 20.5 | 4.9 |" in table
    assert (
        "The loop gained 1.70x from a second process, keras_hpo 1.56x from a "
        "second worker (while searching); keras_hpo's 1 worker ran 1.08x the "
        "trials per hour of the loop's 1 process, its 2 workers 0.99x those of "
        "the loop's 2 processes." in table
    )
    # A run without a 1-worker setting has no floor, and no table for it.
    assert "The floor" not in workers.markdown({**report, "floor": {}})


def test_the_floor_trains_what_the_search_trained(tmp_path):
    for number, (epochs, seed) in enumerate([(15, 7), (4, 9)]):
        folder = tmp_path / f"trial_{number:04d}"
        folder.mkdir()
        result = {"values": {"units": 32 * (number + 1)}, "epochs_run": epochs}
        (folder / "result.json").write_text(json.dumps({**result, "seed": seed}))
    assert workers.floor_trials(tmp_path) == [
        {"values": {"units": 32}, "epochs": 15, "seed": 7},
        {"values": {"units": 64}, "epochs": 4, "seed": 9},
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
    # The floor trained the 1-worker search's 2 trials in 1 and in 2 processes.
    assert [(r["processes"], r["trials"]) for r in report["floor_runs"]] == [
        (1, 2),
        (2, 2),
    ]
    assert sorted(report["floor"]) == ["1", "2"]
    table = (tmp_path / "workers.md").read_text()
    assert "not judged (quick run)" in table
    assert report["stamp"]["commit"]
