"""The strategy benchmarks run, end to end, and write what they promise.

``benchmarks/strategies.py`` and ``benchmarks/suggest_cost.py`` compare with
Optuna and draw with matplotlib (both in the ``test`` extra). Optuna's GP
sampler needs torch (the ``bench`` extra): without it the scripts leave that
one tool out and say so, and these tests check exactly that.
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
from conftest import installed

HAS_TORCH = installed("torch")

ALL_TOOLS = {
    "keras_hpo grid",
    "keras_hpo random",
    "keras_hpo bayesian",
    "keras_tuner random",
    "keras_tuner bayesian",
    "optuna tpe",
    "optuna gp",
}
#: The tools that run here: Optuna's GP sampler only with torch.
TOOLS = ALL_TOOLS if HAS_TORCH else ALL_TOOLS - {"optuna gp"}
PROBLEMS = {"branin", "hartmann6", "mixed"}
SKIP_REASON = "torch is not installed (pip install -e .[bench])"


def run_script(name: str, out, *args: str, timeout: int = 600) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / name), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    stem = name.removesuffix(".py")
    for suffix in ("json", "md", "png"):
        assert (out / f"{stem}.{suffix}").stat().st_size > 0, suffix
    return json.loads((out / f"{stem}.json").read_text())


def check_strategies(report: dict, seeds: int, trials: int, checkpoints: list[int]):
    assert report["benchmark"] == "strategies"
    assert report["seeds"] == list(range(seeds))
    assert report["trials"] == trials
    assert report["checkpoints"] == checkpoints
    assert report["device"] and report["cpu"]
    assert {"keras_hpo", "keras_tuner", "optuna", "torch"} <= set(report["versions"])
    assert report["skipped"] == ({} if HAS_TORCH else {"optuna gp": SKIP_REASON})
    assert set(report["summary"]) == PROBLEMS
    for tools in report["summary"].values():
        assert set(tools) == TOOLS
        for tool, cells in tools.items():
            assert set(cells) == {str(n) for n in checkpoints}, tool
            for cell in cells.values():
                assert 0 <= cell["min"] <= cell["median"] <= cell["max"] < math.inf
    # Every seeded tool ran every seed for every trial; regret never grows.
    assert len(report["runs"]) == (len(TOOLS) - 1) * len(PROBLEMS) * seeds
    for run in report["runs"]:
        assert len(run["regret"]) == trials
        assert all(b <= a for a, b in itertools.pairwise(run["regret"]))
    # One grid per problem and budget, never larger than the budget.
    assert len(report["grids"]) == len(PROBLEMS) * len(checkpoints)
    for grid in report["grids"]:
        assert 0 < grid["trials"] <= grid["budget"]
    check_summary_and_targets(report)


def quantiles(values: list[float]) -> dict:
    """Min, quartiles, median and max, as the report's summary cells hold."""
    if len(values) == 1:
        cuts = values * 3
    else:
        cuts = statistics.quantiles(values, n=4, method="inclusive")
    names = ("min", "q25", "median", "q75", "max")
    return dict(zip(names, [min(values), *cuts, max(values)], strict=True))


def check_summary_and_targets(report: dict) -> None:
    """The report's summary and targets, recomputed from its own runs."""
    expected: dict = {}
    for run in report["runs"]:
        for n in report["checkpoints"]:
            expected.setdefault(run["problem"], {}).setdefault(run["tool"], {})
            expected[run["problem"]][run["tool"]].setdefault(str(n), []).append(
                run["regret"][n - 1]
            )
    for grid in report["grids"]:
        cells = expected.setdefault(grid["problem"], {})
        cells.setdefault("keras_hpo grid", {})[str(grid["budget"])] = [grid["regret"]]
    assert set(report["summary"]) == set(expected)
    for problem, tools in expected.items():
        assert set(report["summary"][problem]) == set(tools), problem
        for tool, cells in tools.items():
            for n, values in cells.items():
                got = report["summary"][problem][tool][n]
                assert got == pytest.approx(quantiles(values)), (problem, tool, n)
    # The targets: judged after 50 trials, where all three tools ran.
    rivals = ("keras_hpo bayesian", "keras_tuner bayesian", "optuna gp")
    targets = []
    if 50 in report["checkpoints"]:
        for problem, tools in expected.items():
            if not all(tool in tools for tool in rivals):
                continue
            ours, theirs, gp = (statistics.median(tools[t]["50"]) for t in rivals)
            targets.append(
                {
                    "problem": problem,
                    "keras_hpo_bayesian": ours,
                    "keras_tuner_bayesian": theirs,
                    "optuna_gp": gp,
                    "ratio_to_keras_tuner": ours / theirs if theirs else math.inf,
                    "met": ours <= 0.5 * theirs and ours <= gp,
                }
            )
    found = {target.pop("problem"): target for target in map(dict, report["targets"])}
    assert set(found) == {target["problem"] for target in targets}
    for target in targets:
        got = found[target.pop("problem")]
        assert got.pop("met") == target.pop("met")
        assert got == pytest.approx(target)


# Slow (12 s; the default run has to stay under 12 minutes).
@pytest.mark.slow
def test_strategies_quick(tmp_path):
    report = run_script("strategies.py", tmp_path, "--quick")
    check_strategies(report, seeds=2, trials=10, checkpoints=[10])
    assert report["targets"] == []  # only judged after 50 trials
    text = (tmp_path / "strategies.md").read_text()
    assert "| keras_hpo bayesian |" in text and "**hartmann6**" in text


@pytest.mark.slow  # 15-25 s: the default run has to stay under 12 minutes
def test_strategies_resume_runs_only_what_is_missing(tmp_path):
    """A killed run keeps its finished searches: --resume runs only the rest."""
    args = ("--quick", "--problems", "branin", "--tools", "keras_hpo random")
    args += ("optuna tpe",)
    first = run_script("strategies.py", tmp_path, *args)
    assert not (tmp_path / "strategies.partial.json").exists()
    assert len(first["runs"]) == 4  # 2 tools x 2 seeds
    # What an interruption after the first search leaves behind, marked so
    # that a re-run of that search would show.
    tasks = [[r["problem"], r["tool"], r["seed"], r["trials"]] for r in first["runs"]]
    kept = {**first["runs"][0], "regret": [7.0] * 10}
    partial = tmp_path / "strategies.partial.json"
    partial.write_text(json.dumps({"config": {"tasks": tasks}, "runs": [kept]}))
    resumed = run_script("strategies.py", tmp_path, *args, "--resume")
    assert not partial.exists()
    assert resumed["runs"][0] == kept
    # Seeded: the others are the same searches again.
    for again, before in zip(resumed["runs"][1:], first["runs"][1:], strict=True):
        assert again.pop("seconds_per_suggestion") > 0
        before.pop("seconds_per_suggestion")
        # Each run carries its own stamp: the re-run's is its own, not copied.
        assert again.pop("stamp")["date"] >= before.pop("stamp")["date"]
        assert again == before
    # Saved with other options: refused, nothing overwritten.
    partial.write_text(json.dumps({"config": {"tasks": tasks[:1]}, "runs": [kept]}))
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "strategies.py")]
        + ["--out", str(tmp_path), *args, "--resume"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        cwd=REPO,
    )
    assert done.returncode == 1
    assert "was written by a run with other options" in done.stderr
    assert partial.exists()


@pytest.fixture(scope="module")
def suggest_cost_quick(tmp_path_factory):
    """One ``suggest_cost.py --quick`` run: its folder and its fresh report."""
    out = tmp_path_factory.mktemp("suggest_cost")
    return out, run_script("suggest_cost.py", out, "--quick")


@pytest.mark.slow  # a 13 s run: the default run has to stay under 12 minutes
def test_suggest_cost_quick(suggest_cost_quick):
    out, report = suggest_cost_quick
    assert report["benchmark"] == "suggest_cost"
    assert report["sizes"] == [10, 20] and report["repeats"] == 1
    timed = {"keras_hpo bayesian", "keras_tuner bayesian", "optuna gp", "optuna tpe"}
    assert set(report["seconds"]) == (timed if HAS_TORCH else timed - {"optuna gp"})
    assert report["skipped"] == ({} if HAS_TORCH else {"optuna gp": SKIP_REASON})
    for row in report["seconds"].values():
        assert set(row) == {"10", "20"}
        for cell in row.values():
            assert len(cell["times_s"]) == 1 and cell["median_s"] > 0
            assert cell["median_s"] == statistics.median(cell["times_s"])
    if not HAS_TORCH:  # the targets need all three tools
        assert report["targets"] == {}
        assert "Left out: optuna gp" in (out / "suggest_cost.md").read_text()


@pytest.mark.slow
def test_suggest_cost_quick_targets(suggest_cost_quick):
    """The targets, recomputed from the same run's medians at 20 trials."""
    if not HAS_TORCH:
        pytest.skip(f"needs torch for Optuna's GP sampler: {SKIP_REASON}")
    _, report = suggest_cost_quick
    medians = {tool: row["20"]["median_s"] for tool, row in report["seconds"].items()}
    to_kt = medians["keras_hpo bayesian"] / medians["keras_tuner bayesian"]
    to_gp = medians["keras_hpo bayesian"] / medians["optuna gp"]
    targets = dict(report["targets"])
    assert targets.pop("met") == (to_kt <= 0.1 and to_gp < 1)
    assert targets == pytest.approx(
        {"trials": 20, "ratio_to_keras_tuner": to_kt, "ratio_to_optuna_gp": to_gp}
    )


@pytest.mark.slow
def test_strategies_larger(tmp_path):
    report = run_script(
        "strategies.py", tmp_path, "--seeds", "3", "--trials", "50", "--jobs", "2"
    )
    check_strategies(report, seeds=3, trials=50, checkpoints=[10, 25, 50])
    # The targets need Optuna's GP sampler, so torch.
    assert {t["problem"] for t in report["targets"]} == (
        PROBLEMS if HAS_TORCH else set()
    )


@pytest.mark.slow
def test_suggest_cost_larger(tmp_path):
    if not HAS_TORCH:
        pytest.skip(f"needs torch for Optuna's GP sampler: {SKIP_REASON}")
    report = run_script(
        "suggest_cost.py", tmp_path, "--sizes", "10", "50", "100", "--repeats", "2"
    )
    assert report["targets"]["trials"] == 100
    # Ours is far cheaper than keras-tuner's at 100 trials.
    assert report["targets"]["ratio_to_keras_tuner"] < 0.5
