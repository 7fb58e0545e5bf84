"""The keras-hpo command, run as a user runs it: in a subprocess."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from conftest import run_python

OPTIONS = [
    "--strategy",
    "--max-trials",
    "--epochs",
    "--batch-size",
    "--seed",
    "--directory",
    "--project-name",
    "--overwrite",
    "--dataset",
    "--csv",
    "--target",
    "--task",
    "--data-dir",
    "--limit",
    "--quiet",
]


def keras_hpo(*args, env=None, timeout=600):
    return run_python(["-m", "keras_hpo.cli", *args], env=env, timeout=timeout)


def test_help_explains_every_option():
    top = keras_hpo("--help")
    assert top.returncode == 0
    assert "tune" in top.stdout
    tune = keras_hpo("tune", "--help")
    assert tune.returncode == 0
    for option in OPTIONS:
        assert option in tune.stdout
    for word in ("grid", "random", "bayesian", "digits", "fashion_mnist", "csv"):
        assert word in tune.stdout


def trial_lines(stdout: str) -> list[str]:
    return re.findall(r"^\[trial (\d+)/(\d+)\].*$", stdout, re.M)


def test_tune_on_digits_prints_trials_best_and_test_score_then_resumes(tmp_path):
    args = ["tune", "--max-trials", "3", "--epochs", "2", "--directory", str(tmp_path)]
    first = keras_hpo(*args)
    assert first.returncode == 0, first.stderr
    assert trial_lines(first.stdout) == [("1", "3"), ("2", "3"), ("3", "3")]
    assert "Best trial" in first.stdout
    match = re.search(r"Best model on the test split: accuracy=([0-9.]+)", first.stdout)
    assert match, first.stdout
    summary = json.loads((tmp_path / "digits_bayesian" / "summary.json").read_text())
    assert summary["trials"] == 3
    assert summary["test"]["accuracy"] == pytest.approx(float(match.group(1)), abs=1e-4)
    assert set(summary["best_params"]) >= {"num_layers", "units", "learning_rate"}
    # The same command again resumes: nothing is run twice.
    second = keras_hpo(*args)
    assert second.returncode == 0, second.stderr
    assert trial_lines(second.stdout) == []
    assert "3 already done" in second.stdout
    again = json.loads((tmp_path / "digits_bayesian" / "summary.json").read_text())
    assert again["trials"] == 3
    assert again["best_params"] == summary["best_params"]


@pytest.mark.parametrize("strategy", ["grid", "random"])
def test_other_strategies(tmp_path, strategy):
    done = keras_hpo(
        "tune",
        "--strategy",
        strategy,
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert len(trial_lines(done.stdout)) == 2
    assert (tmp_path / f"digits_{strategy}" / "summary.json").exists()


def write_csv(path, rows, header):
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def test_csv_classification_with_text_labels(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    labels = np.where(x[:, 0] > 0, "yes", "no")
    path = tmp_path / "table.csv"
    write_csv(
        path,
        [[*row, label] for row, label in zip(x, labels, strict=True)],
        ["a", "b", "c", "y"],
    )
    done = keras_hpo(
        "tune",
        "--dataset",
        "csv",
        "--csv",
        str(path),
        "--target",
        "y",
        "--strategy",
        "random",
        "--max-trials",
        "2",
        "--epochs",
        "2",
        "--directory",
        str(tmp_path / "out"),
    )
    assert done.returncode == 0, done.stderr
    assert "task binary" in done.stdout
    assert len(trial_lines(done.stdout)) == 2


def test_csv_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-5, 5, size=(100, 2))
    y = x[:, 0] * 2.5 + x[:, 1] + 0.5
    path = tmp_path / "reg.csv"
    write_csv(
        path, [[*row, t] for row, t in zip(x, y, strict=True)], ["u", "v", "target"]
    )
    done = keras_hpo(
        "tune",
        "--dataset",
        "csv",
        "--csv",
        str(path),
        "--target",
        "target",
        "--strategy",
        "random",
        "--max-trials",
        "2",
        "--epochs",
        "2",
        "--directory",
        str(tmp_path / "out"),
    )
    assert done.returncode == 0, done.stderr
    assert "task regression" in done.stdout
    assert "val_loss" in done.stdout
    assert "mae=" in done.stdout


def test_mnist_from_the_original_idx_files(tmp_path, mnist_idx_dir):
    done = keras_hpo(
        "tune",
        "--dataset",
        "mnist",
        "--data-dir",
        str(mnist_idx_dir),
        "--limit",
        "1000",
        "--max-trials",
        "1",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "Data set mnist: 1000 train, 10000 validation, 10000 test" in done.stdout
    assert len(trial_lines(done.stdout)) == 1


def test_fashion_mnist_through_keras_loader_offline(tmp_path, keras_home):
    done = keras_hpo(
        "tune",
        "--dataset",
        "fashion_mnist",
        "--limit",
        "1000",
        "--max-trials",
        "1",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path),
        env={"KERAS_HOME": str(keras_home)},
    )
    assert done.returncode == 0, done.stderr
    assert "Data set fashion_mnist: 1000 train" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-trials", "0"], "expected a positive integer, got '0'"),
        (["--dataset", "csv"], "--dataset csv needs --csv PATH and --target COLUMN"),
        (["--strategy", "genetic"], "invalid choice: 'genetic'"),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(args, message):
    done = keras_hpo("tune", *args)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_csv_with_text_features_is_refused(tmp_path):
    path = tmp_path / "bad.csv"
    rows = [[i, "red" if i % 2 else "blue", i % 2] for i in range(20)]
    write_csv(path, rows, ["a", "colour", "y"])
    done = keras_hpo("tune", "--dataset", "csv", "--csv", str(path), "--target", "y")
    assert done.returncode == 2
    assert "column 'colour', line 2: 'blue' is not a finite number" in done.stderr
