"""A finished project damaged at random either resumes intact or is refused by path.

Each example copies one finished project, damages it once (deletes,
truncates, garbles or swaps a state file or folder, or rewrites a trial ID
or a path inside one) and resumes the search. Every case must end either
with exactly ``max_trials`` distinct finished trials whose scores are the
ones first recorded, or with a ``ValueError`` / ``FileNotFoundError`` that
names a path inside the project; never a ``KeyError``, a write outside the
project, or a finished trial's result replaced.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import keras_hpo

MAX_TRIALS = 3
IDS = ["0000", "0001", "0002", "0003", "0007", "0", "00", "../../pwned", "", "a/b", 5]


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    return x, y


def _tuner(directory):
    return keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=2, units=[4, 8, 16, 32], num_layers=1),
        max_trials=MAX_TRIALS,
        seed=3,
        directory=directory,
        project_name="p",
        verbose=0,
    )


def _search(tuner):
    x, y = _data()
    tuner.search(x, y, validation_split=0.25, epochs=2, batch_size=20)
    return tuner


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished 3-trial project, and each trial's score."""
    root = tmp_path_factory.mktemp("finished")
    tuner = _search(_tuner(root))
    scores = {r.trial_id: r.score for r in tuner.results()}
    assert len(scores) == MAX_TRIALS
    return root / "p", scores


def _snapshot(root: Path, skip: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(root.rglob("*")):
        if skip in path.parents or path == skip or not path.is_file():
            continue
        files[str(path.relative_to(root))] = path.read_bytes()
    return files


def _rewrite_ids(value, old: str, new):
    """``value`` with every string equal to ``old`` (or key) replaced by ``new``."""
    if isinstance(value, dict):
        return {
            (new if k == old and isinstance(new, str) else k): _rewrite_ids(v, old, new)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite_ids(v, old, new) for v in value]
    return new if value == old else value


def _damage(project: Path, data) -> str:
    """Damages ``project`` once, as ``data`` draws; returns what was done."""
    entries = sorted(
        str(p.relative_to(project)) for p in project.rglob("*") if p.name != "."
    )
    files = [e for e in entries if (project / e).is_file()]
    folders = [e for e in entries if (project / e).is_dir()]
    action = data.draw(
        st.sampled_from(
            ["delete", "truncate", "garble", "swap", "rewrite_id", "crafted_path"]
        )
    )
    if action == "delete":
        target = data.draw(st.sampled_from(files + folders))
        path = project / target
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif action == "truncate":
        target = data.draw(st.sampled_from(files))
        content = (project / target).read_bytes()
        cut = data.draw(st.integers(0, max(len(content) - 1, 0)))
        (project / target).write_bytes(content[:cut])
    elif action == "garble":
        target = data.draw(st.sampled_from(files))
        (project / target).write_bytes(data.draw(st.binary(min_size=1, max_size=64)))
    elif action == "swap":
        first = data.draw(st.sampled_from(files))
        second = data.draw(st.sampled_from(files))
        a, b = (project / first).read_bytes(), (project / second).read_bytes()
        (project / first).write_bytes(b)
        (project / second).write_bytes(a)
        target = f"{first} <-> {second}"
    elif action == "rewrite_id":
        jsons = [f for f in files if f.endswith(".json")]
        target = data.draw(st.sampled_from(jsons))
        old = data.draw(st.sampled_from(["0000", "0001", "0002"]))
        new = data.draw(st.sampled_from(IDS))
        state = json.loads((project / target).read_text())
        (project / target).write_text(json.dumps(_rewrite_ids(state, old, new)))
        target = f"{target}: {old!r} -> {new!r}"
    else:  # a resume record pointing anywhere, and the trial marked unfinished
        trial = data.draw(st.sampled_from(["0000", "0001", "0002"]))
        weights = data.draw(
            st.sampled_from(
                ["../../outside.weights.h5", "/etc/hostname", "last.e1.weights.h5"]
            )
        )
        record = {"epochs": 1, "weights": weights, "history": {}, "epoch_seconds": []}
        (project / f"trial_{trial}" / "last.json").write_text(json.dumps(record))
        if data.draw(st.booleans()):
            oracle = project / "oracle.json"
            state = json.loads(oracle.read_text())
            state["end_order"] = [t for t in state["end_order"] if t != trial]
            state["ongoing_trials"] = {"tuner0": trial}
            oracle.write_text(json.dumps(state))
        target = f"trial_{trial}/last.json -> {weights}"
    return f"{action} {target}"


def _check(finished, data) -> None:
    source, scores = finished
    sandbox = Path(tempfile.mkdtemp(prefix="damage-"))
    try:
        project = sandbox / "p"
        shutil.copytree(source, project, symlinks=True)
        (sandbox / "outside.weights.h5").write_bytes(b"not the project's")
        results_before = {
            p.parent.name: p.read_bytes() for p in project.glob("trial_*/result.json")
        }
        done = _damage(project, data)
        damaged = {
            p.parent.name: p.read_bytes() for p in project.glob("trial_*/result.json")
        }
        outside = _snapshot(sandbox, project)
        keras.backend.clear_session()
        try:
            tuner = _search(_tuner(sandbox))
        except (ValueError, FileNotFoundError) as err:
            assert str(project) in str(err), (done, err)
        else:
            finished_now = {r.trial_id: r.score for r in tuner.results()}
            assert len(finished_now) == MAX_TRIALS, (done, finished_now)
            assert all(r.ok for r in tuner.results()), done
            kept = {k: v for k, v in finished_now.items() if k in scores}
            assert kept == scores, (done, finished_now)
        # Never a write outside the project.
        assert _snapshot(sandbox, project) == outside, done
        assert not (sandbox.parent / "pwned").exists(), done
        # A finished trial's result is never replaced: each result.json is
        # as the damage left it, or (rebuilt, or written by a trial the
        # damage sent to run again) holds that trial's first score.
        for folder, content in results_before.items():
            path = project / folder / "result.json"
            if not path.exists() or path.read_bytes() == damaged.get(folder):
                continue
            now = json.loads(path.read_text())
            before = json.loads(content)
            assert now["trial_id"] == before["trial_id"], done
            assert now["score"] == before["score"], done
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "database": None,
}


# 10 drawn damages in the default run (1 s each: the default run has to
# stay under 12 minutes); 200 with -m slow.
@settings(max_examples=10, derandomize=True, **_SETTINGS)
@given(data=st.data())
def test_a_damaged_project_resumes_intact_or_is_refused_by_path(finished, data):
    _check(finished, data)


@pytest.mark.slow
@settings(max_examples=200, **_SETTINGS)
@given(data=st.data())
def test_two_hundred_damaged_projects(finished, data):
    _check(finished, data)


def test_the_damage_is_real(finished, tmp_path):
    """The checks above see a damaged project (not an untouched copy)."""
    source, _ = finished
    project = tmp_path / "p"
    shutil.copytree(source, project)
    (project / "oracle.json").write_text("{")
    with pytest.raises(ValueError, match=str(project / "oracle.json")):
        _tuner(tmp_path)
    assert os.path.isdir(project / "trial_0000")
