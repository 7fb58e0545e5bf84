"""A seeded search computes exactly what it computed before the refactor.

`reference_search.searches` runs a random search (with pruning and
``keep_top_k``), a grid search with a failing and a diverging trial
(``checkpoint="every_epoch"``) and an isolated search; the reference file was
written by the code before issue 15 split the execution layer (commit
0d1a48c). Every ``cv_results_`` column but the wall times, every per-epoch
history, every seed and the weights files kept must be the same: bit-identical
on the CPU that wrote the file (an Intel Xeon); on another CPU model
TensorFlow's kernels round differently (seen on an AMD EPYC: 1 or 2 float32
ulps in a few losses), so floats are compared to a relative 1e-5, which a
change in what a search computes exceeds by orders of magnitude. Everything
else (values, statuses, IDs, epochs, seeds, file names) must be identical.
"""

from __future__ import annotations

import json
import math

import pytest
from reference_search import REFERENCE
from reference_search import searches


class _Searches(dict):
    """Each reference search run once, when a test first asks for it."""

    def __init__(self, directory: str):
        super().__init__()
        self.directory = directory

    def __missing__(self, name: str) -> dict:
        self[name] = json.loads(json.dumps(searches(self.directory, (name,))[name]))
        return self[name]


@pytest.fixture(scope="module")
def now(tmp_path_factory):
    return _Searches(str(tmp_path_factory.mktemp("same")))


@pytest.mark.parametrize(
    "search",
    # The isolated search (16 s) is slow: tests/test_isolation.py checks in
    # the default run that a trial in a child process trains as in-process.
    ["random", "grid", pytest.param("isolated", marks=pytest.mark.slow)],
)
@pytest.mark.parametrize("part", ["cv_results_", "history", "seed", "kept"])
def test_a_seeded_search_gives_the_reference_results(now, search, part):
    reference = json.loads(REFERENCE.read_text())
    assert_same(now[search][part], reference[search][part], f"{search}.{part}")


def assert_same(now, reference, where: str) -> None:
    """Equal, but floats to a relative 1e-5 (see the module's docstring)."""
    if isinstance(now, float) and isinstance(reference, float):
        same = (math.isnan(now) and math.isnan(reference)) or math.isclose(
            now, reference, rel_tol=1e-5, abs_tol=1e-7
        )
        assert same, f"{where}: {now!r} != {reference!r}"
    elif isinstance(now, dict) and isinstance(reference, dict):
        assert sorted(now) == sorted(reference), where
        for key in now:
            assert_same(now[key], reference[key], f"{where}.{key}")
    elif isinstance(now, list) and isinstance(reference, list):
        assert len(now) == len(reference), where
        for index, (a, b) in enumerate(zip(now, reference, strict=True)):
            assert_same(a, b, f"{where}[{index}]")
    else:
        assert now == reference, f"{where}: {now!r} != {reference!r}"


def test_assert_same_tells_rounding_from_a_change():
    assert_same({"loss": [1.8020483255386353]}, {"loss": [1.8020484447479248]}, "x")
    with pytest.raises(AssertionError, match=r"x.loss\[0\]"):
        assert_same({"loss": [1.802]}, {"loss": [1.803]}, "x")
    with pytest.raises(AssertionError):
        assert_same({"units": 32}, {"units": 64}, "x")
