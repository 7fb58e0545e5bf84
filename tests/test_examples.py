"""The examples run end to end, on small settings, and do what they promise.

Each example runs as a subprocess (as a user would run it) into a temporary
directory; the assertions read back what it printed, the ``example_result.json``
it wrote and the tuner's own ``trial_*/result.json`` files, and check exact
outcomes: trial counts, every grid combination once, sampled values within
their distributions, the activation a regression search must find, and the
layers a subclass's hooks must add. Real Keras training throughout.
"""

from __future__ import annotations

import collections
import itertools
import json
import math
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import REPO
from conftest import run_python

EXAMPLES = REPO / "examples"

#: HyperMLP's defaults for knobs left out of a scikit-learn space (README).
DEFAULTS = {
    "num_layers": 2,
    "units": 128,
    "dropout": 0.0,
    "activation": "relu",
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "batch_size": 32,
}


def run_example(script: str, *args: str, env: dict | None = None) -> str:
    """Runs ``examples/<script> args...``; returns its stdout, failing on error."""
    proc = run_python([str(EXAMPLES / script), *args], env=env, timeout=600)
    assert proc.returncode == 0, (
        f"{script} {' '.join(args)} exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def example_result(project: Path) -> dict:
    return json.loads((project / "example_result.json").read_text())


def trial_results(project: Path) -> list[dict]:
    """The tuner's ``result.json`` of every trial, in trial order."""
    results = [json.loads(p.read_text()) for p in project.glob("trial_*/result.json")]
    return sorted(results, key=lambda r: r["number"])


def assert_best_is_max(summary: dict, results: list[dict]) -> None:
    best = max(results, key=lambda r: (r["score"], -r["number"]))
    assert summary["best_score"] == pytest.approx(best["score"])
    assert summary["best_params"] == best["values"]


# -- 1. grid search, scikit-learn style ------------------------------------------
GRID = {"units": [32, 64], "dropout": [0.0, 0.2], "learning_rate": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def grid_examples(tmp_path_factory) -> Path:
    """One directory for both grid examples, under their default names."""
    return tmp_path_factory.mktemp("grid_examples")


# Slow (17 s; test_tuners and test_grid run grids in-process; the default run has to
# stay under 12 minutes).
@pytest.mark.slow
def test_grid_search_runs_every_combination_once(grid_examples):
    tmp_path = grid_examples
    out = run_example(
        "grid_search_sklearn_style.py",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path),
    )
    expected = [
        dict(zip(GRID, combo, strict=True))
        for combo in itertools.product(*GRID.values())
    ]
    assert re.search(r"^Grid size: (\d+)$", out, re.M).group(1) == str(len(expected))

    project = tmp_path / "grid_sklearn_style"
    summary = example_result(project)
    assert summary["param_grid"] == GRID
    assert summary["grid_size"] == len(expected) == 8
    results = trial_results(project)
    assert len(results) == len(expected)
    assert [r["number"] for r in results] == list(range(1, 9))
    assert all(r["status"] == "completed" for r in results)
    seen = collections.Counter(
        tuple(r["values"][name] for name in GRID) for r in results
    )
    assert seen == collections.Counter(tuple(c.values()) for c in expected)
    for result in results:  # knobs left out of the grid keep their defaults
        others = {k: v for k, v in result["values"].items() if k not in GRID}
        assert others == {k: v for k, v in DEFAULTS.items() if k not in GRID}
    assert_best_is_max(summary, results)

    # The pandas-free cv_results_ table: a header and one row per trial.
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("number "))
    assert "param_units" in lines[header] and "rank_score" in lines[header]
    rows = [line.split() for line in lines[header + 1 : header + 9]]
    assert [int(row[0]) for row in rows] == list(range(1, 9))
    assert f"best_score_: {summary['best_score']:.4f}" in out


# Slow (10 s; test_sklearn_space covers sub-grids; the default run has to stay under 12
# minutes).
@pytest.mark.slow
def test_grid_search_list_of_sub_grids_runs_each_combination(grid_examples):
    # Sub-grids name the same hyperparameters (optimizer, learning_rate) under
    # different conditions; each trial must run with its own sub-grid's values.
    # Run after the default grid in the same directory, it has its own
    # project (the two spaces differ, so sharing one would be refused).
    tmp_path = grid_examples
    out = run_example(
        "grid_search_sklearn_style.py",
        "--sub-grids",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path),
    )
    assert re.search(r"^Grid size: (\d+)$", out, re.M).group(1) == "3"
    results = trial_results(tmp_path / "grid_sklearn_style_sub_grids")
    assert len(results) == 3
    ran = collections.Counter(
        (r["values"]["optimizer"], r["values"]["learning_rate"]) for r in results
    )
    assert ran == {("sgd", 0.1): 1, ("sgd", 0.01): 1, ("adam", 1e-3): 1}


# -- 2. random search, scikit-learn style ----------------------------------------
def _random_search(directory: Path, project: str, seed: int) -> str:
    return run_example(
        "random_search_sklearn_style.py",
        "--n-iter",
        "4",
        "--epochs",
        "1",
        "--seed",
        str(seed),
        "--directory",
        str(directory),
        "--project-name",
        project,
    )


@pytest.mark.slow  # 15-25 s: the default run has to stay under 12 minutes
def test_random_search_n_iter_bounds_and_seed(tmp_path):
    runs = [("seed0_a", 0), ("seed0_b", 0), ("seed1", 1)]
    with ThreadPoolExecutor(max_workers=2) as pool:  # start-up overlaps
        list(pool.map(lambda run: _random_search(tmp_path, *run), runs))

    sequences = {}
    for project, _ in runs:
        results = trial_results(tmp_path / project)
        summary = example_result(tmp_path / project)
        assert len(results) == len(summary["trials"]) == 4  # n_iter, exactly
        assert all(r["status"] == "completed" for r in results)
        for result in results:
            values = result["values"]
            assert 1e-4 <= values["learning_rate"] <= 1e-1  # loguniform(1e-4, 1e-1)
            assert isinstance(values["units"], int)
            assert 16 <= values["units"] <= 128  # randint(16, 129)
            assert 0.0 <= values["dropout"] <= 0.5  # uniform(0.0, 0.5)
            assert values["num_layers"] in (1, 2)
            assert values["activation"] in ("relu", "tanh")
            assert values["optimizer"] == "adam" and values["batch_size"] == 32
        assert_best_is_max(summary, results)
        sequences[project] = [r["values"] for r in results]
        assert len({json.dumps(v, sort_keys=True) for v in sequences[project]}) == 4

    assert sequences["seed0_a"] == sequences["seed0_b"]
    assert sequences["seed0_a"] != sequences["seed1"]
    # The learning rates spread over the log range, not only its top decade.
    rates = [v["learning_rate"] for s in sequences.values() for v in s]
    assert min(rates) < 1e-2


# -- 3. Bayesian search on Fashion-MNIST -----------------------------------------
@pytest.mark.slow  # 15-25 s: the default run has to stay under 12 minutes
def test_bayesian_fashion_mnist(tmp_path, keras_home):
    out = run_example(
        "bayesian_fashion_mnist.py",
        "--limit",
        "2000",
        "--max-trials",
        "4",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--directory",
        str(tmp_path),
        "--project-name",
        "fashion",
        env={"KERAS_HOME": str(keras_home)},
    )
    assert "Fashion-MNIST: 2000 train, 10000 validation, 10000 test images" in out
    project = tmp_path / "fashion"
    summary = example_result(project)
    results = trial_results(project)
    assert len(results) == len(summary["trials"]) == 4
    assert all(r["status"] == "completed" for r in results)
    assert summary["objective"] == "val_accuracy"
    assert_best_is_max(summary, results)
    assert summary["best_score"] > 0.6
    assert summary["test_accuracy"] > 0.6
    assert f"best_score_ (val_accuracy): {summary['best_score']:.4f}" in out


# -- 4. regression: y = x + 10 ---------------------------------------------------
# Slow: about 18 s;
# the --taught run (stricter) stays;
# the default run has to stay under 12 minutes.
@pytest.mark.slow
def test_regression_finds_linear_activation(tmp_path):
    out = run_example(
        "regression_linear.py",
        "--epochs",
        "15",
        "--directory",
        str(tmp_path),
        "--project-name",
        "linear",
    )
    project = tmp_path / "linear"
    summary = example_result(project)
    results = trial_results(project)
    assert len(results) == 3
    assert sorted(r["values"]["activation"] for r in results) == [
        "linear",
        "relu",
        "tanh",
    ]
    assert summary["objective"] == "val_loss"
    assert summary["best_params"]["activation"] == "linear"
    scores = {r["values"]["activation"]: r["score"] for r in results}
    assert scores["linear"] < min(scores["relu"], scores["tanh"])
    assert summary["best_score"] == pytest.approx(scores["linear"])
    assert summary["mae_new_x"] < 1.0
    for x, y in zip(summary["probe_x"], summary["probe_predictions"], strict=True):
        assert y == pytest.approx(x + 10.0, abs=1.0)
    assert "'activation': 'linear'" in out


# Slow (24 s; the y = x + 10 check, run with -m slow; the default run has to
# stay under 12 minutes).
@pytest.mark.slow
def test_regression_as_taught_extrapolates_with_linear(tmp_path):
    out = run_example(
        "regression_linear.py",
        "--taught",
        "--directory",
        str(tmp_path),
        "--project-name",
        "taught",
    )
    summary = example_result(tmp_path / "taught")
    assert len(trial_results(tmp_path / "taught")) == 3
    assert summary["best_params"]["activation"] == "linear"
    scores = summary["scores"]
    assert scores["linear"] < min(scores["relu"], scores["tanh"])
    # Trained on 0..99, tested on 100..199 by the refit model.
    assert summary["test_rmse"] < 1e-3
    assert "f(199) = 209.00" in out


# -- 5. subclassing HyperMLP -----------------------------------------------------
def _expected_layers(params: dict, input_width: int) -> collections.Counter:
    blocks = params["num_layers"]
    residuals = blocks - 1 + (params["units"] == input_width)
    return collections.Counter(
        {
            "Dense": blocks + 1,
            "BatchNormalization": blocks if params["batch_norm"] else 0,
            "Add": residuals,
            "Dropout": blocks if params["dropout"] > 0 else 0,
        }
    )


# Slow (16 s; test_sklearn_knobs builds a subclass with hooks; the default run has to
# stay under 12 minutes).
@pytest.mark.slow
def test_subclass_hooks_shape_every_model(tmp_path):
    run_example(
        "subclass_hypermlp.py",
        "--max-trials",
        "4",
        "--epochs",
        "2",
        "--directory",
        str(tmp_path),
        "--project-name",
        "subclass",
    )
    project = tmp_path / "subclass"
    summary = example_result(project)
    results = trial_results(project)
    assert len(results) == len(summary["trials"]) == 4
    assert all(r["status"] == "completed" for r in results)
    assert_best_is_max(summary, results)
    # The hyperparameters declared inside hidden_block and fit are searched
    # and recorded like the built-in knobs.
    for result in results:
        assert isinstance(result["values"]["batch_norm"], bool)
        assert result["values"]["lr_decay"] in summary["lr_decays"]
    assert "batch_norm" in summary["best_params"]
    assert "lr_decay" in summary["best_params"]

    # Every trial's model (rebuilt from its saved weights) has the layers its
    # hyperparameters call for; some trial used batch normalisation.
    width = summary["input_width"]
    for trial in summary["trials"]:
        counts = collections.Counter(trial["layers"])
        for layer, count in _expected_layers(trial["params"], width).items():
            assert counts[layer] == count, (layer, trial)
    assert any(t["params"]["batch_norm"] for t in summary["trials"])
    assert any("BatchNormalization" in t["layers"] for t in summary["trials"])

    best = collections.Counter(summary["best_layers"])
    assert best["Add"] >= 1  # num_layers >= 2: at least one residual connection
    for layer, count in _expected_layers(summary["best_params"], width).items():
        assert best[layer] == count, layer
    best_trial = next(
        t for t in summary["trials"] if t["trial_id"] == summary["best_trial_id"]
    )
    assert best_trial["layers"] == summary["best_layers"]
    assert not math.isnan(summary["best_score"])


# -- 6. a scikit-learn estimator: the iris random forest ------------------------
# Slow: about 15 s;
# tests/test_sklearn_estimators.py checks the same in-process;
# the default run has to stay under 12 minutes.
@pytest.mark.slow
def test_sklearn_random_forest_agrees_with_grid_search_cv(tmp_path):
    out = run_example(
        "sklearn_random_forest.py",
        "--quick",
        "--directory",
        str(tmp_path),
        "--project-name",
        "forest",
    )
    summary = example_result(tmp_path / "forest")
    assert summary["grid_trials"] == 27
    assert len(trial_results(tmp_path / "forest")) == 27
    assert summary["same_as_sklearn"] is True
    assert summary["best_params"] == summary["sklearn_best_params"]
    assert abs(summary["best_score"] - summary["sklearn_best_score"]) <= 1e-12
    params = summary["random_params"]
    assert len(params) == 10
    assert len({json.dumps(p, sort_keys=True) for p in params}) == 10
    assert summary["random_test_accuracy"] > 0.85
    assert "same best_params_ and best_score_ (to 1e-12): True" in out
    assert "[trial 27/27] val_accuracy=" in out


# -- 7. after the search: importance, an ensemble, features, the report ---------
@pytest.mark.slow  # about 40 s: the default run has to stay under 12 minutes
def test_after_the_search(tmp_path):
    out = run_example(
        "after_the_search.py",
        "--trials",
        "6",
        "--epochs",
        "3",
        "--directory",
        str(tmp_path),
        "--project-name",
        "after",
    )
    summary = example_result(tmp_path / "after")
    assert len(trial_results(tmp_path / "after")) == 6
    assert abs(sum(summary["importance"].values()) - 1.0) < 1e-9
    assert len(summary["ensemble"]["members"]) == 3
    # The saved ensemble, loaded back, predicts exactly as before.
    assert summary["loaded_ensemble_test_accuracy"] == summary["ensemble_test_accuracy"]
    assert 0.5 < summary["ensemble_test_accuracy"] <= 1.0
    assert len(summary["top_features"]) == 5
    assert all(re.fullmatch(r"x\d+", name) for name in summary["top_features"])
    assert Path(summary["report"]).is_file()
    assert "ensemble of trials" in out and "importance: " in out
