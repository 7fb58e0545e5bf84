"""Nothing deleted, mixed or clobbered: one owner, safe overwrite, resume checks.

One test (or group) per point of the issue "Nothing deleted, mixed or
clobbered"; each failed on the code before it.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from conftest import untrainable_mlp
from keras_hpo.callbacks import SearchCallback

import keras_hpo
from keras_hpo.files import atomic_write_json
from keras_hpo.files import temp_name
from keras_hpo.files import writes_done_on_exit
from keras_hpo.hypermodels import SUBGRID
from keras_hpo.tuners.project import PROJECT_FILE


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    return x, y


def _random(directory, name="p", **kwargs):
    kwargs.setdefault("max_trials", 3)
    kwargs.setdefault("seed", 5)
    kwargs.setdefault("refit", False)  # trials' files are what these tests guard
    return keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2, units=[4, 8, 16, 32], num_layers=1),
        directory=directory,
        project_name=name,
        verbose=0,
        tensorboard_dir=None,
        **kwargs,
    )


def _search(tuner, epochs=1, **kwargs):
    x, y = _data()
    tuner.search(x, y, validation_split=0.25, epochs=epochs, batch_size=20, **kwargs)
    return tuner


def _scores(tuner):
    return {r.trial_id: r.score for r in tuner.results()}


def _as_if_killed_during(project, trial_id):
    """Rewrites the state as a SIGKILL during a trial leaves it."""
    state = json.loads((project / "oracle.json").read_text())
    state["end_order"].remove(trial_id)
    state["ongoing_trials"] = {"tuner0": trial_id}
    (project / "oracle.json").write_text(json.dumps(state))
    path = project / f"trial_{trial_id}" / "trial.json"
    trial = json.loads(path.read_text())
    trial["status"] = "RUNNING"
    path.write_text(json.dumps(trial))
    (project / f"trial_{trial_id}" / "result.json").unlink()


# -- 1. what a score means must match on resume --------------------------------
def test_a_changed_objective_or_task_is_refused_on_resume(tmp_path):
    _search(_random(tmp_path))
    with pytest.raises(ValueError) as info:
        _random(tmp_path, objective="val_loss", max_trials=5)
    message = str(info.value)
    assert f"{tmp_path / 'p'} holds a different search" in message
    assert "the objective was val_accuracy (max), now val_loss (min)" in message
    with pytest.raises(ValueError, match="the task was 'classification', now 'binary'"):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP("binary", units=[4, 8, 16, 32], num_layers=1),
            max_trials=3,
            seed=5,
            directory=tmp_path,
            project_name="p",
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )
    # The same search still resumes.
    assert len(_random(tmp_path).results()) == 3


def test_a_project_of_an_older_version_is_checked_by_its_search_json(tmp_path):
    _search(_random(tmp_path))
    (tmp_path / "p" / "tuner0.json").write_text("{}")  # as older versions wrote
    with pytest.raises(ValueError, match="the objective was val_accuracy"):
        _random(tmp_path, objective="val_loss")


# -- 2. overwrite deletes only a project of ours --------------------------------
def test_project_name_must_be_one_folder_name(tmp_path):
    for bad in ["", ".", "..", "../victim", "a/b", str(tmp_path / "abs")]:
        with pytest.raises(ValueError) as info:
            _random(tmp_path, name=bad, overwrite=True)
        assert "`project_name`: must be one folder name" in str(info.value)
        assert f"Received: project_name={bad!r}" in str(info.value)
    with pytest.raises(TypeError, match="`project_name` must be a folder name"):
        _random(tmp_path, name=3)
    with pytest.raises(TypeError, match="`overwrite` must be True or False"):
        _random(tmp_path, overwrite="yes")


def test_a_file_where_a_folder_belongs_is_refused_and_kept(tmp_path):
    data = tmp_path / "small.csv"
    data.write_text("a,b\n1,2\n")
    for directory, problem in [
        (data, "is a file, not a folder"),
        (data / "runs", f"goes through {str(data)!r}, which is a file"),
    ]:
        with pytest.raises(ValueError) as info:
            _random(directory, overwrite=True)
        assert str(info.value).startswith(f"`directory`: {problem}")
        assert f"Received: directory={directory!r}" in str(info.value)
    with pytest.raises(ValueError) as info:
        _random(tmp_path, name="small.csv", overwrite=True)
    assert str(info.value).startswith(
        f"`project_name`: {str(data)!r} is a file, not a project folder"
    )
    assert data.read_text() == "a,b\n1,2\n"


def test_overwrite_never_deletes_what_is_not_a_marked_project(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "thesis.tex").write_text("years of work")
    root = tmp_path / "runs"
    root.mkdir()
    # A folder of someone else's files under the project's name.
    (root / "mine").mkdir()
    (root / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError) as info:
        _random(root, name="mine", overwrite=True)
    assert f"refusing to delete {root / 'mine'}" in str(info.value)
    assert f"no {PROJECT_FILE} in it" in str(info.value)
    assert (root / "mine" / "notes.txt").read_text() == "keep me"
    # A symbolic link to a folder outside: refused, the target untouched.
    (root / "link").symlink_to(victim, target_is_directory=True)
    with pytest.raises(ValueError, match="it is a symbolic link"):
        _random(root, name="link", overwrite=True)
    # A marked project reached through a link is refused just the same.
    _search(_random(tmp_path, name="elsewhere"))
    (root / "link2").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ValueError, match="it is a symbolic link"):
        _random(root, name="link2", overwrite=True)
    assert (tmp_path / "elsewhere" / "oracle.json").exists()
    assert (victim / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in root.iterdir()) == ["link", "link2", "mine"]


def test_overwrite_deletes_a_project_of_ours_and_only_it(tmp_path):
    first = _search(_random(tmp_path))
    (tmp_path / "other.txt").write_text("beside the project")
    assert (tmp_path / "p" / PROJECT_FILE).is_file()
    fresh = _random(tmp_path, overwrite=True, seed=9)
    assert fresh.results() == []
    assert not list((tmp_path / "p").glob("trial_*"))
    assert (tmp_path / "other.txt").read_text() == "beside the project"
    assert len(_search(fresh).results()) == 3
    assert json.loads((tmp_path / "p" / "oracle.json").read_text())["seed"] == 9
    assert first.oracle.seed == 5
    # A folder that held only a project's files but lost its marker is not
    # provably ours any more.
    (tmp_path / "p" / PROJECT_FILE).unlink()
    with pytest.raises(ValueError, match="refusing to delete"):
        _random(tmp_path, overwrite=True)
    assert (tmp_path / "p" / "oracle.json").exists()


def test_a_legacy_project_resumes_but_is_not_overwritten(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n")  # found not empty: no marker
    tuner = _search(_random(tmp_path))
    assert not (project / PROJECT_FILE).exists()
    assert len(_random(tmp_path).results()) == len(tuner.results()) == 3
    with pytest.raises(ValueError, match="refusing to delete"):
        _random(tmp_path, overwrite=True)
    assert (project / "data.csv").exists()


# -- 3. one owner per project ----------------------------------------------------
OWNER = """
import sys, time
import numpy as np
import keras_hpo
from keras_hpo.callbacks import SearchCallback

rng = np.random.default_rng(0)
x = rng.normal(size=(80, 4)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
print("TRY", time.time(), flush=True)
try:
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2, units=[4, 8, 16, 32], num_layers=1),
        max_trials=4, seed=int(sys.argv[2]), directory=sys.argv[1],
        project_name="shared", verbose=0, tensorboard_dir=None, refit=False
    )
    print("START", time.time(), flush=True)
    tuner.search(x, y, validation_split=0.25, epochs=int(sys.argv[3]), batch_size=20)
except keras_hpo.ProjectInUseError as err:
    print("REFUSED", time.time(), err, flush=True)
    sys.exit(3)
print("DONE", len(tuner.results()), flush=True)
"""


def _owner(directory, seed, epochs):
    return subprocess.Popen(
        [sys.executable, "-c", OWNER, str(directory), str(seed), str(epochs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


def test_two_processes_on_one_project_the_second_fails_at_once(tmp_path):
    first = _owner(tmp_path, 1, 25)
    # The first owns the project once its oracle state exists.
    deadline = time.time() + 120
    while not (tmp_path / "shared" / "trial_0000" / "trial.json").exists():
        assert first.poll() is None, first.communicate()[0]
        assert time.time() < deadline
        time.sleep(0.05)
    second = _owner(tmp_path, 2, 25)
    out2, _ = second.communicate(timeout=300)
    assert second.returncode == 3, out2
    refused = next(line for line in out2.splitlines() if line.startswith("REFUSED"))
    started = next(line for line in out2.splitlines() if line.startswith("TRY"))
    # It fails within a second of trying, naming the owner.
    assert float(refused.split()[1]) - float(started.split()[1]) < 1.0
    assert f"{tmp_path / 'shared'} is in use by another search" in refused
    assert f"pid {first.pid} on host" in refused
    # It says what to do: one search on several processes, or one each.
    assert "give each process its own project_name" in refused
    assert "search(..., workers=N)" in refused
    assert "keras-hpo launch --workers N" in refused
    out1, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out1
    assert "DONE 4" in out1
    states = [
        json.loads(p.read_text())
        for p in (tmp_path / "shared").glob("trial_*/result.json")
    ]
    assert len(states) == 4
    assert len({json.dumps(s["values"], sort_keys=True) for s in states}) == 4
    oracle = json.loads((tmp_path / "shared" / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0000", "0001", "0002", "0003"]
    assert oracle["seed"] == 1  # the first one's state, not a mix


def test_two_tuners_in_one_process_never_both_write(tmp_path):
    first = _random(tmp_path)
    second = _random(tmp_path)
    _search(second)
    with pytest.raises(keras_hpo.ProjectInUseError, match="changed by another search"):
        _search(first)
    with first.project_lock:  # as if the first were searching
        with pytest.raises(keras_hpo.ProjectInUseError, match="is in use"):
            _random(tmp_path)
    assert len(_random(tmp_path).results()) == 3


def test_temporary_files_are_unique_per_write(tmp_path):
    path = str(tmp_path / "checkpoint.weights.h5")
    names = {temp_name(path, ".weights.h5") for _ in range(100)}
    assert len(names) == 100
    assert all(str(os.getpid()) in n and n.endswith(".weights.h5") for n in names)


# -- 4. a lost trial.json never lets a new trial take a finished one's place -----
def test_a_lost_trial_file_is_rebuilt_and_no_trial_is_overwritten(tmp_path, capsys):
    first = _search(_random(tmp_path))
    path = tmp_path / "p" / "trial_0002" / "trial.json"
    path.unlink()
    before = (tmp_path / "p" / "trial_0002" / "result.json").read_text()
    resumed = _search(_random(tmp_path, max_trials=5))
    assert f"{path} was missing; rebuilt it from" in capsys.readouterr().err
    assert (tmp_path / "p" / "trial_0002" / "result.json").read_text() == before
    scores = _scores(resumed)
    assert len(scores) == 5
    assert {k: scores[k] for k in _scores(first)} == _scores(first)
    assert json.loads(path.read_text())["score"] == first.trial_results["0002"].score
    # And again, with nothing left to do.
    assert _scores(_search(_random(tmp_path, max_trials=5))) == scores


def test_a_lost_trial_file_keeps_the_sub_grid_of_its_param_grid(tmp_path, capsys):
    # result.json leaves out which of a list of param_grids a trial came
    # from; the rebuilt trial.json has it again, so the trial rebuilds as it
    # trained and its configuration does not run twice.
    grids = [{"units": [4, 8]}, {"units": [16], "dropout": [0.25]}]

    def grid():
        return keras_hpo.GridSearch(
            keras_hpo.HyperMLP(num_classes=2, num_layers=1),
            param_grid=grids,
            directory=tmp_path,
            project_name="g",
            verbose=0,
            tensorboard_dir=None,
            refit=False,
        )

    first = _search(grid())
    assert len(first.results()) == 3
    second_grid = next(r.trial_id for r in first.results() if r.values["units"] == 16)
    path = tmp_path / "g" / f"trial_{second_grid}" / "trial.json"
    saved = json.loads(path.read_text())["hyperparameters"]["values"]
    assert saved[SUBGRID] == 1
    path.unlink()
    resumed = _search(grid())
    assert f"{path} was missing; rebuilt it from" in capsys.readouterr().err
    assert json.loads(path.read_text())["hyperparameters"]["values"] == saved
    assert len(resumed.results()) == 3
    assert resumed.get_best_models(3)[0] is not None


def test_a_lost_trial_folder_is_named_not_a_key_error(tmp_path):
    _search(_random(tmp_path))
    shutil.rmtree(tmp_path / "p" / "trial_0001")
    with pytest.raises(FileNotFoundError) as info:
        _random(tmp_path)
    assert f"{tmp_path / 'p' / 'trial_0001' / 'trial.json'} is missing" in str(
        info.value
    )
    assert "listed in" in str(info.value)


def test_a_new_trial_id_skips_folders_on_disk(tmp_path):
    _search(_random(tmp_path, max_trials=2))
    stray = tmp_path / "p" / "trial_0002"
    stray.mkdir()
    (stray / "notes.txt").write_text("not a trial")
    resumed = _search(_random(tmp_path, max_trials=3))
    assert sorted(resumed.trial_results) == ["0000", "0001", "0003"]
    assert (stray / "notes.txt").read_text() == "not a trial"
    # An empty folder (a process stopped between making a new trial's folder
    # and writing its trial.json) holds nothing to overwrite: it is taken.
    (tmp_path / "p" / "trial_0004").mkdir()
    resumed = _search(_random(tmp_path, max_trials=4))
    assert sorted(resumed.trial_results) == ["0000", "0001", "0003", "0004"]
    assert (tmp_path / "p" / "trial_0004" / "result.json").is_file()


# -- 5. a missing tuner file resumes; never a silent restart --------------------
def test_a_missing_tuner_file_resumes_instead_of_restarting(tmp_path, capsys):
    first = _search(_random(tmp_path))
    (tmp_path / "p" / "tuner0.json").unlink()
    resumed = _random(tmp_path)
    assert "tuner0.json was missing; resuming from" in capsys.readouterr().err
    assert _scores(_search(resumed)) == _scores(first)
    (tmp_path / "p" / "oracle.json").unlink()
    (tmp_path / "p" / "tuner0.json").unlink()
    with pytest.raises(FileNotFoundError) as info:
        _random(tmp_path)
    assert f"{tmp_path / 'p' / 'oracle.json'} is missing" in str(info.value)
    assert "trial_0000" in str(info.value)
    assert len(list((tmp_path / "p").glob("trial_*/result.json"))) == 3


def test_a_missing_oracle_file_is_named(tmp_path):
    _search(_random(tmp_path))
    (tmp_path / "p" / "oracle.json").unlink()
    with pytest.raises(FileNotFoundError) as info:
        _random(tmp_path)
    assert f"{tmp_path / 'p' / 'oracle.json'} is missing" in str(info.value)
    assert "overwrite=True" in str(info.value)


# -- 6. nothing read from a state file reaches outside the project ---------------
def test_a_crafted_weights_path_is_refused_and_nothing_is_moved(tmp_path):
    outside = tmp_path / "precious.weights.h5"
    outside.write_text("not yours")
    project = tmp_path / "runs" / "p"
    _search(_random(tmp_path / "runs", checkpoint="every_epoch", max_trials=2))
    _as_if_killed_during(project, "0001")
    atomic_write_json(
        str(project / "trial_0001" / "last.json"),
        {"epochs": 1, "weights": "../../../precious.weights.h5", "history": {}}
        | {"epoch_seconds": []},
    )
    with pytest.raises(ValueError) as info:
        _random(tmp_path / "runs", checkpoint="every_epoch", max_trials=2)
    assert f"{project / 'trial_0001' / 'last.json'} points at" in str(info.value)
    assert outside.read_text() == "not yours"


def test_a_crafted_trial_id_is_refused_and_nothing_is_written_outside(tmp_path):
    _search(_random(tmp_path / "runs"))
    path = tmp_path / "runs" / "p" / "trial_0002" / "trial.json"
    state = json.loads(path.read_text())
    state["trial_id"] = "../../../pwned"
    path.write_text(json.dumps(state))
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(ValueError) as info:
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=2, units=[4, 8, 16, 32], num_layers=1),
            max_trials=3,
            seed=5,
            directory=tmp_path / "runs",
            project_name="p",
            verbose=0,
            refit=False,
        )
    assert f"{path} names a trial '../../../pwned'" in str(info.value)
    assert sorted(p for p in tmp_path.rglob("*")) == before
    # An ID in the oracle's state is checked the same way.
    path.write_text(json.dumps(dict(state, trial_id="0002")))
    oracle = tmp_path / "runs" / "p" / "oracle.json"
    state = json.loads(oracle.read_text())
    state["end_order"][0] = "../x"
    oracle.write_text(json.dumps(state))
    with pytest.raises(ValueError, match=r"names a trial '\.\./x'"):
        _random(tmp_path / "runs")


def test_a_result_file_in_another_trials_folder_is_refused(tmp_path):
    _search(_random(tmp_path))
    one = tmp_path / "p" / "trial_0001" / "result.json"
    two = tmp_path / "p" / "trial_0002" / "result.json"
    a, b = one.read_text(), two.read_text()
    one.write_text(b)
    two.write_text(a)
    with pytest.raises(ValueError, match="is the result of trial '0002', not of the"):
        _random(tmp_path)


# -- 7. a trial that ended is never listed as running ----------------------------
def test_after_too_many_failures_the_last_trial_is_ended_once(tmp_path):
    def grid():
        return keras_hpo.GridSearch(
            untrainable_mlp(num_classes=2),
            param_grid={"units": [1, 2, 3, 4, 5]},
            directory=tmp_path,
            project_name="p",
            verbose=0,
            tensorboard_dir=None,
            max_consecutive_failed_trials=3,
            refit=False,
        )

    with pytest.raises(RuntimeError, match="3 trials failed in a row"):
        _search(grid())
    state = json.loads((tmp_path / "p" / "oracle.json").read_text())
    assert len(state["end_order"]) == 3
    assert state["ongoing_trials"] == {}
    resumed = grid()
    assert resumed.oracle._retry_queue == []
    with pytest.raises(RuntimeError, match="3 trials failed in a row"):
        _search(resumed)
    state = json.loads((tmp_path / "p" / "oracle.json").read_text())
    # One more trial ran (the failures in a row still count), none twice.
    assert len(state["end_order"]) == len(set(state["end_order"])) == 4


# -- 8. files follow the umask ---------------------------------------------------
def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _search(_random(tmp_path, max_trials=1))
    finally:
        os.umask(old)
    project = tmp_path / "p"
    for name in ["oracle.json", "tuner0.json", "search.json", PROJECT_FILE]:
        assert stat.S_IMODE((project / name).stat().st_mode) == 0o644, name
    for path in [*project.glob("trial_0000/*.json"), *project.glob("trial_0000/*.h5")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


# -- 9. messages that say what happened, about the real file ---------------------
def test_a_damaged_result_file_says_what_deleting_it_does(tmp_path):
    _search(_random(tmp_path))
    path = tmp_path / "p" / "trial_0001" / "result.json"
    path.write_text("{garbage")
    with pytest.raises(ValueError) as info:
        _random(tmp_path)
    assert str(path) in str(info.value)
    assert "rebuilt from its trial.json" in str(info.value)
    path.unlink()  # as the message says: rebuilt, not run again
    assert len(_search(_random(tmp_path)).results()) == 3


def test_a_garbled_resume_record_restarts_the_trial_instead_of_failing_it(
    tmp_path, capsys
):
    _search(_random(tmp_path, checkpoint="every_epoch", max_trials=2), epochs=2)
    project = tmp_path / "p"
    _as_if_killed_during(project, "0001")
    (project / "trial_0001" / "last.json").write_text("\x00garbage")
    resumed = _search(
        _random(tmp_path, checkpoint="every_epoch", max_trials=2), epochs=2
    )
    assert (
        f"{project / 'trial_0001' / 'last.json'} is damaged" in capsys.readouterr().err
    )
    assert [r.status.value for r in resumed.results()] == ["completed"] * 2
    assert resumed.trial_results["0001"].epochs_run == 2


class _FailsToStop(SearchCallback):
    def on_search_end(self, tuner):
        raise OSError(errno.EROFS, "Read-only file system")


def test_an_error_while_stopping_does_not_hide_the_error_that_stopped(tmp_path, capsys):
    tuner = keras_hpo.GridSearch(
        untrainable_mlp(num_classes=2),
        param_grid={"units": [1, 2, 3]},
        directory=tmp_path,
        project_name="p",
        verbose=0,
        tensorboard_dir=None,
        max_consecutive_failed_trials=2,
        search_callbacks=[_FailsToStop()],
        refit=False,
    )
    with pytest.raises(RuntimeError, match="2 trials failed in a row"):
        _search(tuner)
    assert "another error: OSError" in capsys.readouterr().err


def test_a_full_disk_names_the_real_file_and_the_free_space(tmp_path, monkeypatch):
    target = str(tmp_path / "oracle.json")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        atomic_write_json(target, {"a": 1})
    message = str(info.value)
    assert f"Could not write {target}: No space left on device" in message
    assert "MiB are free" in message
    assert ".tmp-" not in message
    assert os.listdir(tmp_path) == []  # no temporary file left


def test_writes_done_on_exit_leave_the_newest_staged_version_in_place(tmp_path):
    """The chief's group commit: staged now, written on exit, newest wins."""
    target = str(tmp_path / "oracle.json")
    done = []
    staged = threading.Event()
    older_may_finish = threading.Event()

    def older():
        with writes_done_on_exit():
            atomic_write_json(target, {"v": 1}, written=lambda: done.append(1))
            staged.set()
            older_may_finish.wait(10)

    thread = threading.Thread(target=older)
    thread.start()
    staged.wait(10)
    with writes_done_on_exit():
        atomic_write_json(target, {"v": 2}, written=lambda: done.append(2))
        assert not os.path.exists(target)  # nothing written before the exit
    assert json.loads(open(target).read()) == {"v": 2}
    older_may_finish.set()
    thread.join()
    # The older version, staged first but come second, is dropped.
    assert json.loads(open(target).read()) == {"v": 2} and done == [2]
    assert os.listdir(tmp_path) == ["oracle.json"]  # no temporary file left


def test_a_staged_write_that_fails_names_its_file_and_the_others_are_written(
    tmp_path, monkeypatch
):
    good, bad = str(tmp_path / "a" / "trial.json"), str(tmp_path / "b" / "trial.json")
    real = os.fsync

    def fsync(fd):
        if "/b/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match=f"Could not write {bad}: No space left"):
        with writes_done_on_exit():
            atomic_write_json(bad, {"v": 1})
            atomic_write_json(good, {"v": 1})
    assert json.loads(open(good).read()) == {"v": 1}
    assert os.listdir(tmp_path / "b") == []  # no temporary file left


def test_a_truncated_weights_file_names_the_file(tmp_path):
    tuner = _search(_random(tmp_path))
    path = tmp_path / "p" / f"trial_{tuner.best_trial_id_}" / "checkpoint.weights.h5"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError) as info:
        tuner.best_model()
    assert f"{path} could not be loaded" in str(info.value)


def test_the_command_line_refuses_a_bad_overwrite_in_its_own_words(tmp_path, capsys):
    from keras_hpo import cli

    (tmp_path / "keep.txt").write_text("unrelated")
    code = cli.main(
        ["tune", "--directory", str(tmp_path), "--project-name", ".", "--overwrite"]
        + ["--max-trials", "1", "--epochs", "1", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "`--project-name`: must be one folder name" in err
    assert "Received: --project-name '.'" in err
    assert (tmp_path / "keep.txt").read_text() == "unrelated"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    code = cli.main(
        ["tune", "--directory", str(tmp_path), "--project-name", "mine"]
        + ["--overwrite", "--max-trials", "1", "--epochs", "1", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"refusing to delete {tmp_path / 'mine'}" in err
    assert "Pass a new --project-name" in err and "overwrite=" not in err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
