"""A seeded search computes exactly what it computed before the refactor.

`reference_search.searches` runs a random search (with pruning and
``keep_top_k``), a grid search with a failing and a diverging trial
(``checkpoint="every_epoch"``) and an isolated search; the reference file was
written by the code before issue 15 split the execution layer (commit
0d1a48c). Every ``cv_results_`` column but the wall times, every per-epoch
history, every seed and the weights files kept must be bit-identical (CPU).
"""

from __future__ import annotations

import json

import pytest
from reference_search import REFERENCE
from reference_search import searches


@pytest.fixture(scope="module")
def now(tmp_path_factory):
    return json.loads(json.dumps(searches(str(tmp_path_factory.mktemp("same")))))


@pytest.mark.parametrize("search", ["random", "grid", "isolated"])
@pytest.mark.parametrize("part", ["cv_results_", "history", "seed", "kept"])
def test_a_seeded_search_gives_the_reference_results(now, search, part):
    reference = json.loads(REFERENCE.read_text())
    assert now[search][part] == reference[search][part]
