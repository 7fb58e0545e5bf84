"""The keras-hpo command, run as a user runs it: in a subprocess.

Each real run imports TensorFlow and trains, so the runs are small (a few
trials of one or two epochs); argument mistakes that stop before any data is
read are checked in-process as well.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_python

from keras_hpo import cli
from keras_hpo.tuners.saved import load as load_search

OPTIONS = [
    "--strategy",
    "--fuse",
    "--max-trials",
    "--epochs",
    "--seed",
    "--directory",
    "--dataset",
    "--csv",
    "--target",
    "--data-dir",
    "--limit",
    "--overwrite",
    "--task",
    "--batch-size",
    "--project-name",
    "--quiet",
]

KNOBS = {
    "num_layers",
    "units",
    "dropout",
    "activation",
    "learning_rate",
    "optimizer",
    "batch_size",
}

SCRIPT = Path(sys.executable).parent / "keras-hpo"

TRIAL_LINE = re.compile(
    r"^\[trial (\d+)/(\d+)\] (\w+)=([0-9.]+) best=([0-9.]+) \(trial (\d+)\) \| "
    r"(\d+) epochs, [0-9.]+s \| (\S+) elapsed(?:, ~(\S+) left)? \| (.*)$",
    re.M,
)


def keras_hpo(*args, env=None, cwd=None):
    """``python -m keras_hpo.cli ARGS`` in a subprocess."""
    return run_python(["-m", "keras_hpo.cli", *args], env=env, cwd=cwd, timeout=600)


def script(*args, cwd=None):
    """The installed console script ``keras-hpo ARGS`` in a subprocess."""
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def trials(stdout: str) -> list[dict]:
    """The ``[trial n/N] ...`` lines, parsed."""
    return [
        {
            "number": int(m[0]),
            "total": int(m[1]),
            "objective": m[2],
            "score": float(m[3]),
            "best": float(m[4]),
            "best_number": int(m[5]),
            "epochs": int(m[6]),
            "elapsed": m[7],
            "left": m[8] or None,
            "values": dict(pair.split("=", 1) for pair in m[9].split()),
        }
        for m in TRIAL_LINE.findall(stdout)
    ]


def results(project: Path) -> list[dict]:
    """Every trial's result.json, in trial order."""
    found = [json.loads(p.read_text()) for p in project.glob("trial_*/result.json")]
    return sorted(found, key=lambda r: r["number"])


def summary(project: Path) -> dict:
    return json.loads((project / "summary.json").read_text())


def printed_scores(stdout: str) -> dict[str, float]:
    match = re.search(r"^Best model on the test split: (.*)$", stdout, re.M)
    assert match, stdout
    return {k: float(v) for k, v in (p.split("=") for p in match[1].split(", "))}


def trial_dirs(project: Path) -> list[str]:
    return sorted(p.name for p in project.glob("trial_*"))


# -- help --------------------------------------------------------------------------


def test_tune_help_mentions_every_option_and_its_default():
    done = script("tune", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert text.startswith("usage: keras-hpo tune ")
    for option in OPTIONS:
        assert option in text, option
    for fragment in (
        "--strategy {grid,random,bayesian}",
        "--dataset {digits,mnist,fashion_mnist,csv}",
        "--task {classification,binary,regression}",
        "(default: bayesian)",
        "number of trials (default: 12; grid: the whole grid)",
        "training epochs per trial (default: 15)",
        "training batch size (default: 32)",
        "(default: keras_hpo_results)",
        "(default: digits)",
    ):
        assert fragment in text, fragment


@pytest.mark.parametrize(
    ("strategy", "argv", "trials"),
    [("grid", [], 16), ("grid", ["--max-trials", "5"], 5), ("random", [], 12)],
)
def test_max_trials_defaults_to_the_whole_grid(tmp_path, strategy, argv, trials):
    from keras_hpo.datasets import load_dataset

    args = cli.build_parser().parse_args(
        ["tune", "--strategy", strategy, "--directory", str(tmp_path), *argv]
    )
    tuner = cli._tuner(args, load_dataset("digits"))
    assert tuner.expected_trials == trials
    assert tuner.fuse == 1


def test_fuse_reaches_the_tuner(tmp_path):
    from keras_hpo.datasets import load_dataset

    for text, fuse in (("auto", "auto"), ("8", 8)):
        args = cli.build_parser().parse_args(
            ["tune", "--fuse", text, "--directory", str(tmp_path / text)]
        )
        assert cli._tuner(args, load_dataset("digits")).fuse == fuse


def test_tune_help_states_each_default_once():
    done = script("tune", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    doubled = re.findall(r"\(default: [^)]*\) \(default: [^)]*\)", text)
    assert doubled == []


def test_top_level_help_mentions_every_option():
    done = script("--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("usage: keras-hpo ")
    assert "tune" in text
    missing = [option for option in OPTIONS if option not in text]
    assert missing == []


def test_module_and_script_print_the_same_help():
    by_module = keras_hpo("tune", "--help")
    by_script = script("tune", "--help")
    assert by_module.returncode == by_script.returncode == 0
    assert by_module.stdout == by_script.stdout


# -- a search on digits, then resumed ----------------------------------------------


def test_tune_on_digits_prints_trials_best_and_test_score_then_resumes(
    tmp_path, monkeypatch, capsys
):
    args = ["tune", "--max-trials", "3", "--epochs", "2", "--directory", "runs"]
    project = tmp_path / "runs" / "digits_bayesian"

    first = script(*args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    assert out.startswith(
        "Data set digits: 1078 train, 359 validation, 360 test samples; "
        "task classification\n"
    )
    assert (
        "Searching with BayesianOracle (up to 3 trials); objective val_accuracy "
        "(max); results in runs/digits_bayesian\n" in out
    )
    assert (
        "Watch it in TensorBoard: keras-hpo tensorboard "
        "runs/digits_bayesian/tensorboard\n" in out
    )
    lines = trials(out)
    assert [(t["number"], t["total"]) for t in lines] == [(1, 3), (2, 3), (3, 3)]
    assert {t["objective"] for t in lines} == {"val_accuracy"}
    assert {t["epochs"] for t in lines} == {2}
    assert all(set(t["values"]) == KNOBS for t in lines)
    # Output to a pipe: no live epoch line; each trial line has the time so
    # far and the time left (none after the last trial).
    assert "\r" not in out and "epoch 1/2" not in out
    assert all(t["left"] is not None for t in lines) and lines[-1]["left"] == "0.0s"
    # Each line's running best is the best score so far.
    for index, line in enumerate(lines):
        assert line["best"] == max(t["score"] for t in lines[: index + 1])

    assert trial_dirs(project) == ["trial_0000", "trial_0001", "trial_0002"]
    recorded = results(project)
    assert [r["number"] for r in recorded] == [1, 2, 3]
    assert [round(r["score"], 4) for r in recorded] == [t["score"] for t in lines]

    best = max(recorded, key=lambda r: r["score"])
    match = re.search(
        r"^Best trial (\d+) \(id (\w+)\): val_accuracy=([0-9.]+)", out, re.M
    )
    assert match, out
    assert (int(match[1]), match[2]) == (best["number"], best["trial_id"])
    assert float(match[3]) == round(best["score"], 4)

    first_summary = summary(project)
    assert first_summary["dataset"] == "digits"
    assert first_summary["strategy"] == "bayesian"
    assert first_summary["objective"] == "val_accuracy"
    assert first_summary["trials"] == 3
    assert first_summary["best_trial_id"] == best["trial_id"]
    assert first_summary["best_params"] == best["values"]
    assert first_summary["best_score"] == pytest.approx(best["score"])
    assert set(first_summary["test"]) == {"accuracy", "loss"}
    printed = printed_scores(out)
    assert printed["accuracy"] == pytest.approx(
        first_summary["test"]["accuracy"], abs=5e-5
    )
    assert 0.0 <= printed["accuracy"] <= 1.0
    assert (
        "Results: runs/digits_bayesian (summary in runs/digits_bayesian/summary.json)"
        in out
    )

    # `keras-hpo summary` prints the same trials from disk, the best marked
    # (in-process: the console script is the same entry point as above).
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["summary", "runs/digits_bayesian"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "Project runs/digits_bayesian"
    assert rows[1] == "Objective: val_accuracy (max); 3 trials ended"
    assert rows[2] == "Search ended: max_trials: 3 trials run"
    assert rows[3].split()[:3] == ["trial", "status", "val_accuracy"]
    for row, result in zip(rows[4:7], recorded, strict=True):
        mark = "*" if result["trial_id"] == best["trial_id"] else ""
        cells = row.split()
        assert cells[:3] == [
            f"{result['number']}{mark}",
            "completed",
            f"{result['score']:.4g}",
        ]
    assert rows[7].startswith(
        f"Best (*): trial {best['number']} (id {best['trial_id']})"
    )
    assert (project / "tensorboard").is_dir()

    # The same command again resumes: no new trial, the same best model.
    second = script(*args, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert trials(second.stdout) == []
    assert "(up to 3 trials, 3 already done)" in second.stdout
    assert trial_dirs(project) == ["trial_0000", "trial_0001", "trial_0002"]
    second_summary = summary(project)
    assert second_summary["trials"] == 3
    assert second_summary["best_trial_id"] == first_summary["best_trial_id"]
    assert second_summary["best_params"] == first_summary["best_params"]
    assert second_summary["test"] == first_summary["test"]
    # Another --seed splits the data otherwise: refused (it resumed, and
    # scored a test split of rows its trials had trained on).
    capsys.readouterr()
    assert cli.main([*args, "--seed", "1"]) == 2
    said = capsys.readouterr().err
    assert "runs/digits_bayesian holds a search of other data" in said
    assert "its rows differ (the same number, 1078, with other values" in said
    assert "Pass --overwrite to start afresh, or a new --project-name" in said
    assert summary(project)["test"] == first_summary["test"]

    # --overwrite starts afresh; --quiet prints no trial lines (in-process).
    quiet = ["--max-trials", "1", "--epochs", "1", "--overwrite", "--quiet"]
    assert cli.main(["tune", *quiet, "--directory", "runs"]) == 0
    third = capsys.readouterr().out
    assert trials(third) == []
    assert "Searching with" not in third and "Data set " not in third
    assert "Best model on the test split: accuracy=" in third
    assert trial_dirs(project) == ["trial_0000"]
    assert summary(project)["trials"] == 1


def _interrupted_after(command: list[str], lines: int, cwd: Path, sig: int):
    """Runs ``command``, sends ``sig`` after ``lines`` trial lines; its output.

    SIGINT as a terminal's Ctrl-C sends it: to the command's process group
    (``keras-hpo tune --workers`` starts its workers in groups of their own);
    SIGTERM as ``kill PID`` or a job scheduler: to the process.

    Returns:
        ``(returncode, stdout, stderr, seconds from Ctrl-C to exit)``.
    """
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
        # As from a shell: Python turns SIGINT into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    out = []
    try:
        for line in process.stdout:
            out.append(line)
            if len(re.findall(r"\[trial \d+/", "".join(out))) >= lines:
                break
        if sig == signal.SIGINT:
            os.killpg(process.pid, sig)
        else:
            os.kill(process.pid, sig)
        started = time.monotonic()
        rest, err = process.communicate(timeout=120)
        seconds = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, "".join(out) + rest, err, seconds


@pytest.mark.parametrize(
    ("workers", "sig", "status", "reason"),
    [
        ([], signal.SIGINT, 130, "interrupted (Ctrl-C)"),
        ([], signal.SIGTERM, 143, "terminated (SIGTERM)"),
        pytest.param(
            ["--workers", "2"],
            signal.SIGINT,
            130,
            "interrupted (Ctrl-C)",
            marks=pytest.mark.slow,  # 30 s
        ),
        pytest.param(
            ["--workers", "2"],
            signal.SIGTERM,
            143,
            "terminated (SIGTERM)",
            marks=pytest.mark.slow,
        ),
    ],
    ids=["ctrl-c", "sigterm", "workers-ctrl-c", "workers-sigterm"],
)
def test_ctrl_c_or_sigterm_stops_tune_in_one_line_and_the_same_command_resumes(
    tmp_path, workers, sig, status, reason
):
    args = ["tune", *workers, "--epochs", "1", "--limit", "400"]
    project = tmp_path / "runs" / "digits_bayesian"
    command = [str(SCRIPT), *args, "--max-trials", "100", "--directory", "runs"]
    returncode, out, err, seconds = _interrupted_after(command, 2, tmp_path, sig)
    assert returncode == status, out[-2000:] + err[-2000:]
    assert err.rstrip().splitlines()[-1] == (
        f"keras-hpo: {reason}; the trials that finished are kept: "
        "run the same command again to resume the search"
    )
    assert "Traceback" not in err
    assert f"Search stopped: {reason}" in out
    assert json.loads((project / "search.json").read_text())["stop_reason"] == reason
    # The chief ends its workers at once (they were not told), not after
    # the 5 s a finished search gives them; none is left running.
    assert seconds < 4.5, seconds
    if workers:
        assert f"the search was {reason}" in err
    assert subprocess.run(["pgrep", "-f", str(tmp_path)]).returncode == 1
    finished = {r["trial_id"]: r for r in results(project)}
    printed = len(re.findall(r"\[trial \d+/", out))
    assert len(finished) >= printed >= 2
    assert {r["status"] for r in finished.values()} == {"completed"}
    started = trial_dirs(project)  # and the ones stopped while running

    # Resumed with one trial more: the stopped ones run again under their
    # IDs, one new one runs, the finished ones are kept as they were.
    more = str(len(started) + 1)
    second = script(*args, "--max-trials", more, "--directory", "runs", cwd=tmp_path)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    after = {r["trial_id"]: r for r in results(project)}
    assert sorted(after) == [d.split("_")[1] for d in trial_dirs(project)]
    assert len(after) == len(started) + 1
    assert all(after[t] == r for t, r in finished.items())
    assert {r["status"] for r in after.values()} == {"completed"}


def test_summary_and_tensorboard_refuse_what_is_not_a_project(tmp_path):
    (tmp_path / "runs" / "one").mkdir(parents=True)
    (tmp_path / "runs" / "one" / "oracle.json").write_text("{}")
    done = keras_hpo("summary", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert "is not a search's project" in done.stderr
    assert f"Pass one of the projects in it: {tmp_path / 'runs' / 'one'}" in done.stderr
    done = keras_hpo("tensorboard", str(tmp_path / "missing"))
    assert done.returncode == 2
    assert "is not a directory" in done.stderr


def test_summary_into_a_closed_pipe_or_an_ascii_terminal(tmp_path):
    # `keras-hpo summary DIR | head -1` said "error: [Errno 32] Broken pipe"
    # and exited 2; a value in λ on an ASCII stdout ended in an error.
    from keras_hpo.tuners.results import TrialResult
    from keras_hpo.tuners.results import TrialStatus

    ids = [f"{i:04d}" for i in range(1500)]
    (tmp_path / "oracle.json").write_text(
        json.dumps({"start_order": ids, "end_order": ids})
    )
    for i, trial_id in enumerate(ids):
        (tmp_path / f"trial_{trial_id}").mkdir()
        values = {"units": i, "λ": "x" * 60}
        TrialResult(trial_id, i + 1, values, TrialStatus.COMPLETED, score=i).save(
            str(tmp_path / f"trial_{trial_id}" / "result.json")
        )
    command = [sys.executable, "-m", "keras_hpo.cli", "summary", str(tmp_path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"Project ")
    process.stdout.close()  # as head does after its lines
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0 and b"error" not in stderr, stderr
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(command, capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"units  \\u03bb" in done.stdout  # the header, as it can


def test_tensorboard_logdir_prefers_the_projects_tensorboard_folder(tmp_path):
    assert cli.tensorboard_logdir(str(tmp_path)) == str(tmp_path)
    (tmp_path / "tensorboard").mkdir()
    assert cli.tensorboard_logdir(str(tmp_path)) == str(tmp_path / "tensorboard")


# Slow (10 s each; the bayesian CLI run stays; the default run has to stay under 12
# minutes).
@pytest.mark.slow
@pytest.mark.parametrize(
    ("strategy", "oracle"),
    [("grid", "GridOracle"), ("random", "RandomOracle")],
)
def test_other_strategies(tmp_path, strategy, oracle):
    done = keras_hpo(
        "tune",
        "--strategy",
        strategy,
        "--max-trials",
        "2",
        "--epochs",
        "1",
        "--seed",
        "3",
        "--directory",
        str(tmp_path),
        "--project-name",
        "mine",
    )
    assert done.returncode == 0, done.stderr
    project = tmp_path / "mine"
    assert f"Searching with {oracle} (up to 2 trials)" in done.stdout
    assert [t["number"] for t in trials(done.stdout)] == [1, 2]
    assert trial_dirs(project) == ["trial_0000", "trial_0001"]
    recorded = results(project)
    if strategy == "grid":
        # The built-in grid, first hyperparameter slowest; other knobs default.
        base = {
            "num_layers": 1,
            "units": 64,
            "dropout": 0.0,
            "activation": "relu",
            "optimizer": "adam",
            "batch_size": 32,
        }
        assert [r["values"] for r in recorded] == [
            {**base, "learning_rate": 0.001},
            {**base, "learning_rate": 0.01},
        ]
    else:
        values = [r["values"] for r in recorded]
        assert values[0] != values[1]
        for v in values:
            assert set(v) == KNOBS
            assert 1 <= v["num_layers"] <= 4 and 16 <= v["units"] <= 512
            assert 0.0 <= v["dropout"] <= 0.5 and 1e-4 <= v["learning_rate"] <= 0.1
    result = summary(project)
    assert result["strategy"] == strategy
    assert result["trials"] == 2
    best = max(recorded, key=lambda r: r["score"])
    assert result["best_params"] == best["values"]


# -- CSV tables --------------------------------------------------------------------


def write_csv(path: Path, header: list[str], rows) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("labels", "task"),
    [
        (("cat", "dog", "fish"), "classification"),
        pytest.param(("no", "yes"), "binary", marks=pytest.mark.slow),
    ],
)
def test_csv_classification_with_text_labels(tmp_path, capsys, labels, task):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 3)).round(4)
    codes = np.digitize(x[:, 0], [-0.4, 0.4] if len(labels) == 3 else [0.0])
    path = write_csv(
        tmp_path / "animals.csv",
        ["a", "b", "c", "kind"],
        [[*row, labels[c]] for row, c in zip(x, codes, strict=True)],
    )
    # In this process: test_tune_on_digits... runs the console script.
    args = ["--dataset", "csv", "--csv", str(path), "--target", "kind"]
    args += ["--strategy", "random", "--max-trials", "2", "--epochs", "2"]
    assert cli.main(["tune", *args, "--directory", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert (
        f"Data set animals: 90 train, 30 validation, 30 test samples; task {task}\n"
        in out
    )
    lines = trials(out)
    assert [t["number"] for t in lines] == [1, 2]
    assert {t["objective"] for t in lines} == {"val_accuracy"}
    result = summary(tmp_path / "out" / "animals_random")
    assert result["dataset"] == "animals"
    assert result["objective"] == "val_accuracy"
    assert set(result["test"]) == {"accuracy", "loss"}
    assert result["features"] == ["a", "b", "c"] and result["target"] == "kind"
    assert result["classes"] == sorted(labels)
    # keras-hpo predict: the refit model, from the folder alone, on new rows
    # whose columns come in another order and without the target.
    new_rows = write_csv(
        tmp_path / "new.csv", ["c", "b", "a"], [row[::-1] for row in x[:20]]
    )
    code = cli.main(
        [
            "predict",
            str(tmp_path / "out" / "animals_random"),
            "--csv",
            str(new_rows),
            "--output",
            str(tmp_path / "predicted.csv"),
        ]
    )
    assert code == 0
    lines = (tmp_path / "predicted.csv").read_text().splitlines()
    assert lines[0] == "c,b,a,prediction" and len(lines) == 21
    predicted = [line.rsplit(",", 1)[1] for line in lines[1:]]
    # keras_hpo.load speaks the file's labels too: predict and score.
    saved = load_search(str(tmp_path / "out" / "animals_random"))
    from_python = saved.predict(x[:20].astype("float32"))
    assert predicted == list(from_python) and set(predicted) <= set(labels)
    truth = np.array(labels)[codes]
    accuracy = float(np.mean(saved.predict(x.astype("float32")) == truth))
    assert saved.score(x.astype("float32"), truth) == pytest.approx(accuracy)
    with pytest.raises(ValueError, match="labels the search never saw: 0, 1"):
        saved.score(x.astype("float32"), codes)
    # A greedy ensemble chooses its weights on the file's labels too.
    ensemble = saved.ensemble(2, "greedy", validation_data=(x.astype("float32"), truth))
    assert len(ensemble.predict(x[:3].astype("float32"), verbose=0)) == 3


def _tuned_on_labels(tmp_path, names):
    """A CSV search (1 trial) of 90 rows whose target takes the labels ``names``."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(90, 2)).round(4)
    labels = np.asarray(names)[np.digitize(x[:, 0], [-0.4, 0.4])]
    path = write_csv(
        tmp_path / "t.csv",
        ["a", "b", "k"],
        [[*r, c] for r, c in zip(x, labels, strict=True)],
    )
    args = ["--dataset", "csv", "--csv", str(path), "--target", "k", "--quiet"]
    args += ["--max-trials", "1", "--epochs", "1", "--directory", str(tmp_path)]
    assert cli.main(["tune", *args]) == 0
    return x, labels, load_search(str(tmp_path / "t_bayesian"))


def _predicted_by_the_cli(tmp_path, x) -> list[str]:
    """What `keras-hpo predict` writes for the rows ``x`` (the last column)."""
    new_rows = write_csv(tmp_path / "new.csv", ["a", "b"], x.tolist())
    out = tmp_path / "predicted.csv"
    project = str(tmp_path / "t_bayesian")
    assert (
        cli.main(["predict", project, "--csv", str(new_rows), "--output", str(out)])
        == 0
    )
    return [line.rsplit(",", 1)[1] for line in out.read_text().splitlines()[1:]]


def test_a_csv_with_number_labels_loads_with_those_numbers(tmp_path):
    # Classes 1000001 to 1000003 are trained as codes 0, 1, 2: keras_hpo.load
    # predicts and scores in the file's numbers, as keras-hpo predict writes
    # (which wrote them as 1e+06).
    x, labels, saved = _tuned_on_labels(tmp_path, [1000001, 1000002, 1000003])
    predicted = saved.predict(x.astype("float32"))
    assert predicted.dtype.kind == "i" and set(predicted) <= {1000001, 1000002, 1000003}
    expected = float(np.mean(predicted == labels))
    assert saved.score(x.astype("float32"), labels) == pytest.approx(expected)
    written = _predicted_by_the_cli(tmp_path, x[:10])
    assert written == [str(label) for label in predicted[:10]]


def test_predict_after_a_stopped_csv_search_reads_the_file_as_the_search_did(
    tmp_path, monkeypatch, capsys
):
    # summary.json was written after the search only: a search stopped with
    # Ctrl-C left trials, and predict read the columns in the file's order
    # and wrote class codes (2, 1, 0), exit 0.
    import keras_hpo

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3)).round(4)
    kinds = np.array(["cat", "dog", "fish"])[np.digitize(x[:, 0], [-0.4, 0.4])]
    path = write_csv(
        tmp_path / "animals.csv",
        ["a", "b", "c", "kind"],
        [[*row, k] for row, k in zip(x, kinds, strict=True)],
    )
    searched = keras_hpo.SearchTuner.search

    def search_then_ctrl_c(self, *args, **kwargs):
        searched(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(keras_hpo.SearchTuner, "search", search_then_ctrl_c)
    args = ["--dataset", "csv", "--csv", str(path), "--target", "kind", "--quiet"]
    args += ["--max-trials", "1", "--epochs", "1", "--directory", str(tmp_path)]
    assert cli.main(["tune", *args]) == 130
    project = tmp_path / "animals_bayesian"
    assert "best_score" not in summary(project)
    new_rows = write_csv(
        tmp_path / "new.csv", ["c", "b", "a"], [row[::-1] for row in x[:5]]
    )
    capsys.readouterr()
    assert cli.main(["predict", str(project), "--csv", str(new_rows)]) == 0
    written = [line.rsplit(",", 1)[1] for line in capsys.readouterr().out.split()[1:]]
    model = load_search(str(project)).best_model()
    codes = np.argmax(model.predict(x[:5].astype("float32"), verbose=0), axis=1)
    assert written == list(np.array(["cat", "dog", "fish"])[codes])


def test_labels_that_a_number_would_change_are_kept_as_written(tmp_path):
    # "07", "08", "09" came back as 7, 8, 9 (and "07" and "7" as one class);
    # scoring with the file's labels failed ("labels the search never saw").
    x, labels, saved = _tuned_on_labels(tmp_path, ["07", "08", "09"])
    predicted = saved.predict(x.astype("float32"))
    assert set(predicted) <= {"07", "08", "09"}
    expected = float(np.mean(predicted == labels))
    assert saved.score(x.astype("float32"), labels) == pytest.approx(expected)
    # pandas reads the column as 7, 8, 9: one label alone has each value.
    as_read = labels.astype(int)
    assert saved.score(x.astype("float32"), as_read) == pytest.approx(expected)
    assert _predicted_by_the_cli(tmp_path, x[:10]) == list(predicted[:10])


# Slow (13 s; the CSV path stays with the classification test; the default run has to
# stay under 12 minutes).
@pytest.mark.slow
def test_csv_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-5, 5, size=(100, 2)).round(4)
    y = (x[:, 0] * 2.5 + x[:, 1] + 0.5).round(4)
    path = write_csv(
        tmp_path / "prices.csv",
        ["u", "v", "target"],
        [[*row, t] for row, t in zip(x, y, strict=True)],
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
    assert (
        "Data set prices: 60 train, 20 validation, 20 test samples; task regression\n"
        in done.stdout
    )
    lines = trials(done.stdout)
    assert [t["number"] for t in lines] == [1, 2]
    assert {t["objective"] for t in lines} == {"val_loss"}
    assert re.search(
        r"^Best model on the test split: loss=[0-9.]+, mae=[0-9.]+$", done.stdout, re.M
    )
    result = summary(tmp_path / "out" / "prices_random")
    assert result["objective"] == "val_loss"
    assert set(result["test"]) == {"loss", "mae"}
    # Lower is better for a loss.
    assert result["best_score"] == pytest.approx(
        min(r["score"] for r in results(tmp_path / "out" / "prices_random"))
    )


# -- MNIST and Fashion-MNIST, offline ----------------------------------------------


# Slow (17 s; the idx reader has its own tests; the default run has to stay under 12
# minutes).
@pytest.mark.slow
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
    assert done.stdout.startswith(
        "Data set mnist: 1000 train, 10000 validation, 10000 test samples; "
        "task classification\n"
    )
    assert [t["number"] for t in trials(done.stdout)] == [1]
    result = summary(tmp_path / "mnist_bayesian")
    assert (result["dataset"], result["trials"]) == ("mnist", 1)
    assert set(result["test"]) == {"accuracy", "loss"}


# Slow: about 20 s;
# the MNIST idx run stays;
# the default run has to stay under 12 minutes.
@pytest.mark.slow
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
    assert done.stdout.startswith(
        "Data set fashion_mnist: 1000 train, 10000 validation, 10000 test samples; "
        "task classification\n"
    )
    assert [t["number"] for t in trials(done.stdout)] == [1]
    result = summary(tmp_path / "fashion_mnist_bayesian")
    assert (result["dataset"], result["trials"]) == ("fashion_mnist", 1)


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--max-trials", "0"],
            "keras-hpo tune: error: argument --max-trials: expected a positive "
            "integer, got '0'",
        ),
        (
            ["--dataset", "csv"],
            "error: --dataset csv needs --csv PATH and --target COLUMN",
        ),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_clear_message(tmp_path, args, message):
    done = keras_hpo("tune", *args, "--directory", str(tmp_path / "out"))
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "out").exists()


def test_a_csv_with_a_text_feature_is_refused(tmp_path):
    path = write_csv(
        tmp_path / "colours.csv",
        ["a", "colour", "y"],
        [[i, "red" if i % 2 else "blue", i % 2] for i in range(20)],
    )
    done = keras_hpo(
        "tune",
        "--dataset",
        "csv",
        "--csv",
        path.name,  # relative: the message shows the value whole (77 characters)
        "--target",
        "y",
        "--directory",
        "out",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"keras-hpo: error: `--csv`: column 'colour', line 2: 'blue' is not a finite "
        f"number. Received: --csv {path.name!r} (of type str). Encode features as "
        "numbers (one-hot encode categories), or pass --preprocessing auto to read "
        "text columns and empty cells."
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
        (
            ["--epochs", "two"],
            "argument --epochs: expected a positive integer, got 'two'",
        ),
        (["--limit", "0"], "argument --limit: expected a positive integer, got '0'"),
        (["--batch-size", "-8"], "argument --batch-size: expected a positive integer"),
        (["--fuse", "0"], "argument --fuse: expected a positive integer or auto"),
        (["--fuse", "max"], "argument --fuse: expected a positive integer or auto, "),
        (["--strategy", "genetic"], "argument --strategy: invalid choice: 'genetic'"),
        (["--dataset", "cifar10"], "argument --dataset: invalid choice: 'cifar10'"),
        (["--task", "ranking"], "argument --task: invalid choice: 'ranking'"),
        (
            ["--dataset", "csv", "--csv", "table.csv"],
            "--dataset csv needs --csv PATH and --target COLUMN",
        ),
        (
            ["--csv", "table.csv", "--target", "y"],
            "--csv is only used with --dataset csv",
        ),
        (
            ["--task", "regression"],
            "--task is only used with --dataset csv (digits is a classification",
        ),
        (["--target", "price"], "--target is only used with --dataset csv"),
        (
            ["--data-dir", "idx"],
            "--data-dir is only used with --dataset mnist or fashion_mnist (digits "
            "is read from scikit-learn)",
        ),
        (
            ["--dataset", "csv", "--csv", "t.csv", "--target", "y", "--data-dir", "d"],
            "--data-dir is only used with --dataset mnist or fashion_mnist (csv is "
            "read from --csv)",
        ),
    ],
)
def test_argument_mistakes_stop_before_any_work(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as info:
        cli.main(["tune", *args, "--directory", str(tmp_path / "out")])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("usage: keras-hpo tune ")  # tune's, not the top's
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            None,
            ["--dataset", "csv", "--csv", "{tmp}/missing.csv", "--target", "y"],
            "keras-hpo: error: `--csv`: no such file. Received: --csv "
            "'{tmp}/missing.csv'",
        ),
        (
            "a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(20)),
            ["--dataset", "csv", "--csv", "{tmp}/table.csv", "--target", "label"],
            "keras-hpo: error: `--target`: no such column in {tmp}/table.csv. "
            "Received: --target 'label' (of type str). Columns: a, b, y.",
        ),
        (
            "a,b,y\n" + "".join(f"{i},{i * 2},{i % 2}\n" for i in range(5)),
            ["--dataset", "csv", "--csv", "{tmp}/table.csv", "--target", "y"],
            "keras-hpo: error: `--csv`: only 5 rows. Received: --csv '{tmp}/table.csv' "
            "(of type str). Give at least 10 rows.",
        ),
        (
            None,
            ["--dataset", "mnist", "--data-dir", "{tmp}"],
            "keras-hpo: error: `--data-dir`: no train-images-idx3-ubyte(.gz) file "
            "in it. Received: --data-dir '{tmp}'",
        ),
    ],
)
def test_bad_data_exits_2_with_the_reason(
    tmp_path, capsys, monkeypatch, setup, args, message
):
    if setup is not None:
        (tmp_path / "table.csv").write_text(setup)
    # Relative paths: a message shows a received value whole up to 77
    # characters, and tmp_path's length depends on how pytest runs.
    monkeypatch.chdir(tmp_path)
    args = [a.replace("{tmp}", ".") for a in args]
    code = cli.main(["tune", *args, "--directory", "out"])
    assert code == 2
    captured = capsys.readouterr()
    assert message.replace("{tmp}", ".") in captured.err
    assert not (tmp_path / "out").exists()


# -- library errors in the words of the command line -------------------------------

RESULTS = "/tmp/x/keras_hpo_results/digits_bayesian"
# Folders named like arguments: a path must come out byte for byte.
ODD = "/home/me/project_name/directory/data_dir-runs/overwrite=True"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            f"{RESULTS} holds a different search, so resuming it would mix the "
            "results of two searches: the strategy was RandomOracle, now "
            "BayesianOracle. Pass overwrite=True to start afresh, or a new "
            "project_name to keep both.",
            f"{RESULTS} holds a different search, so resuming it would mix the "
            "results of two searches: the strategy was RandomOracle, now "
            "BayesianOracle. Pass --overwrite to start afresh, or a new "
            "--project-name to keep both.",
        ),
        (
            f"{RESULTS}/oracle.json is not a valid JSON file (Expecting value: "
            "line 1 column 1 (char 0)). Start the search afresh with "
            "overwrite=True, or give it a new project_name to keep this folder as "
            "it is.",
            f"{RESULTS}/oracle.json is not a valid JSON file (Expecting value: "
            "line 1 column 1 (char 0)). Start the search afresh with "
            "--overwrite, or give it a new --project-name to keep this folder as "
            "it is.",
        ),
        (
            f"{ODD}/trial_0000/result.json is not a keras_hpo trial result. Delete it "
            "to run that trial again, or start afresh with overwrite=True.",
            f"{ODD}/trial_0000/result.json is not a keras_hpo trial result. Delete it "
            "to run that trial again, or start afresh with --overwrite.",
        ),
        (
            f"`project_name`: {ODD} is not a folder of this directory, refusing "
            "to delete it. Received: project_name='../project_name' (of type "
            "str). Pass a project_name that is one folder name.",
            f"`--project-name`: {ODD} is not a folder of this directory, refusing "
            "to delete it. Received: --project-name '../project_name' (of type "
            "str). Pass a --project-name that is one folder name.",
        ),
        (
            "`data_dir`: no train-images-idx3-ubyte(.gz) file in it. Received: "
            "data_dir='data_dir' (of type str). Point it at a folder.",
            "`--data-dir`: no train-images-idx3-ubyte(.gz) file in it. Received: "
            "--data-dir 'data_dir' (of type str). Point it at a folder.",
        ),
        (
            "Could not download the mnist data set: no network. Without network "
            "access, pass data_dir=DIR, a folder holding its four idx files.",
            "Could not download the mnist data set: no network. Without network "
            "access, pass --data-dir DIR, a folder holding its four idx files.",
        ),
        (
            "`max_trials` must be a positive int. Received: max_trials=0. "
            "argument directory is empty; batch_size=0, epochs=0, seed=-1, "
            "csv_path='t.csv', directory=runs/project_name, overwrite=False.",
            "`--max-trials` must be a positive int. Received: --max-trials 0. "
            "argument --directory is empty; --batch-size 0, --epochs 0, --seed -1, "
            "--csv 't.csv', --directory runs/project_name, no --overwrite.",
        ),
        # Prose, flags and other names are left alone.
        (
            f"Could not write {ODD}/summary.json: No space left on device. Free "
            "some space (or choose another directory); 2 epochs, the seed, the "
            "project_dir and --project-name, C:\\runs\\project_name\\x.json, "
            "project_name.json.",
            f"Could not write {ODD}/summary.json: No space left on device. Free "
            "some space (or choose another directory); 2 epochs, the seed, the "
            "project_dir and --project-name, C:\\runs\\project_name\\x.json, "
            "project_name.json.",
        ),
    ],
)
def test_cli_message_speaks_of_flags_not_python_arguments(message, expected):
    assert cli.cli_message(message) == expected


@pytest.mark.parametrize(
    ("error", "code", "printed"),
    [
        (
            ValueError(f"{ODD} is damaged. Start afresh with overwrite=True."),
            2,
            f"{ODD} is damaged. Start afresh with --overwrite.",
        ),
        (
            OSError(f"Could not write {ODD}: disk full. Or pass directory=DIR."),
            1,
            f"Could not write {ODD}: disk full. Or pass --directory DIR.",
        ),
    ],
)
def test_tune_prints_library_errors_with_flags(
    tmp_path, capsys, monkeypatch, error, code, printed
):
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "_tune", fail)
    assert cli.main(["tune", "--directory", str(tmp_path)]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"keras-hpo: error: {printed}\n"


def test_a_failed_download_is_explained_and_kept_for_other_errors():
    from keras_hpo import datasets

    def offline():
        raise Exception(  # what keras.utils.get_file raises
            "URL fetch failure on https://example.org/t10k-labels-idx1-ubyte.gz: "
            "None -- [Errno 111] Connection refused"
        )

    with pytest.raises(datasets.DownloadError) as info:
        datasets._images("mnist", offline, None, 0)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(
        "Could not download the mnist data set: URL fetch failure on "
        "https://example.org/t10k-labels-idx1-ubyte.gz: None -- [Errno 111] "
        "Connection refused. "
    )
    assert "pass data_dir=DIR" in text
    assert isinstance(info.value, ConnectionError)

    def damaged():
        raise ValueError("not a download problem")

    with pytest.raises(ValueError, match="^not a download problem$"):
        datasets._images("mnist", damaged, None, 0)


#: TensorFlow's own start-up lines (C++ logging that TF_CPP_MIN_LOG_LEVEL does
#: not silence in every version); not keras-hpo's output.
TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\)|"
    r"[IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] |"
    r"To enable the following instructions:)"
)

UNREACHABLE = "http://127.0.0.1:9"


def test_fashion_mnist_without_network_says_to_pass_data_dir(tmp_path):
    home = tmp_path / "keras_home"
    home.mkdir()
    offline = {
        "KERAS_HOME": str(home),
        "HTTPS_PROXY": UNREACHABLE,
        "HTTP_PROXY": UNREACHABLE,
        "https_proxy": UNREACHABLE,
        "http_proxy": UNREACHABLE,
        "ALL_PROXY": UNREACHABLE,
        "all_proxy": UNREACHABLE,
        "NO_PROXY": "",
        "no_proxy": "",
    }
    done = keras_hpo(
        "tune",
        "--dataset",
        "fashion_mnist",
        "--max-trials",
        "1",
        "--epochs",
        "1",
        "--directory",
        str(tmp_path / "out"),
        env=offline,
    )
    lines = [line for line in done.stderr.splitlines() if not TF_NOISE.match(line)]
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert len(lines) < 5, done.stderr
    text = "\n".join(lines)
    assert "keras-hpo: error: Could not download the fashion_mnist data set" in text
    assert "--data-dir DIR" in text
    assert "data_dir" not in text
    assert not (tmp_path / "out").exists()


def test_reading_results_does_not_import_tensorflow():
    done = run_python(
        [
            "-c",
            "import sys, keras_hpo.summary, keras_hpo.cli; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') "
            "if m in sys.modules))",
        ]
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lease", "0"], "argument --lease: expected seconds > 0, got '0'"),
        (["--lease", "-5"], "argument --lease: expected seconds > 0, got '-5'"),
        (["--lease", "soon"], "argument --lease: expected seconds > 0, got 'soon'"),
        (
            ["--workers", "0"],
            "argument --workers: expected a positive integer, got '0'",
        ),
    ],
)
def test_launch_argument_mistakes_stop_before_any_process(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        cli.main(["launch", *args, "--", sys.executable, "train.py"])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.err.startswith("usage: keras-hpo launch ")
    assert captured.out == ""
