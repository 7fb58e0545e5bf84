"""Discrete moves of the Bayesian oracle's acquisition search."""

from __future__ import annotations

import keras_tuner
import numpy as np
import pytest

from keras_hpo.oracles.local_search import climb
from keras_hpo.oracles.local_search import neighbours
from keras_hpo.oracles.space import UnitCube


def space() -> keras_tuner.HyperParameters:
    hp = keras_tuner.HyperParameters()
    hp.Int("units", 1, 64)
    hp.Choice("activation", ["relu", "tanh", "gelu"], ordered=False)
    hp.Boolean("batch_norm")
    hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    hp.Choice("width", [16, 32, 64])  # ordered (numbers)
    with hp.conditional_scope("activation", ["gelu"]):
        hp.Int("gelu_only", 0, 3)
    return hp


def test_neighbours_are_one_discrete_move_away():
    cube = UnitCube(space())
    values = {
        "units": 1,
        "activation": "relu",
        "batch_norm": False,
        "dropout": 0.2,
        "learning_rate": 0.01,
        "width": 32,
    }
    found = neighbours(cube, values)

    def same(a, b) -> bool:
        return bool(np.isclose(a, b)) if isinstance(a, float) else a == b

    def changed(value: dict) -> list[tuple[str, object]]:
        return [
            (name, round(v, 6) if isinstance(v, float) else v)
            for name, v in value.items()
            if name in values and not same(v, values[name])
        ]

    moves = sorted((changed(v) for v in found), key=str)
    # Each neighbour moves exactly one thing; the continuous learning rate
    # never moves; units=0 would be out of range.
    assert moves == sorted(
        [
            [("units", 2)],
            [("activation", "tanh")],
            [("activation", "gelu")],
            [("batch_norm", True)],
            [("dropout", 0.1)],
            [("dropout", 0.3)],
            [("width", 16)],
            [("width", 64)],
        ],
        key=str,
    )
    # A move into the condition activates the conditional hyperparameter.
    gelu = next(v for v in found if v["activation"] == "gelu")
    assert "gelu_only" in gelu and 0 <= gelu["gelu_only"] <= 3
    assert all("gelu_only" not in v for v in found if v["activation"] != "gelu")


def test_climb_reaches_the_discrete_optimum_of_a_separable_score():
    cube = UnitCube(space())
    target = {"units": 23, "activation": "tanh", "batch_norm": True, "width": 64}

    def score(points: np.ndarray) -> np.ndarray:
        out = []
        for point in points:
            values = cube.decode(point)
            out.append(
                -abs(values["units"] - 23)
                - 3 * (values["activation"] != "tanh")
                - 2 * (not values["batch_norm"])
                - abs(values["width"] - 64) / 16
            )
        return np.array(out, dtype=float)

    start = cube.snap(
        cube.encode(
            {
                "units": 18,
                "activation": "relu",
                "batch_norm": False,
                "dropout": 0.1,
                "learning_rate": 0.003,
                "width": 16,
            }
        )
    )
    before = score(start[None])[0]
    points, scores = climb(cube, start[None], score, rounds=20)
    found = cube.decode(points[0])
    assert {k: found[k] for k in target} == target
    assert scores[0] == 0.0 > before
    # Continuous and untouched coordinates are where they were.
    assert found["learning_rate"] == cube.decode(start)["learning_rate"]
    assert found["dropout"] == cube.decode(start)["dropout"]


def test_climb_stops_when_no_move_helps():
    cube = UnitCube(space())
    start = cube.snap(np.full(cube.dims, 0.5))
    calls = []

    def flat(points: np.ndarray) -> np.ndarray:
        calls.append(len(points))
        return np.zeros(len(points))

    points, scores = climb(cube, start[None], flat, rounds=10)
    np.testing.assert_array_equal(points[0], start)
    assert scores.tolist() == [0.0]
    assert len(calls) == 2  # the starts, then one round of neighbours


def test_a_log_step_moves_to_the_neighbouring_values_of_its_list():
    # keras-tuner's log step multiplies: value -/+ step left a Float no move
    # (1e-3 - 10 and 1e-3 + 10 are out of range), an Int one out of range.
    from keras_tuner.engine import hyperparameters as kt_hp

    from keras_hpo.oracles.local_search import _moves

    rate = kt_hp.Float("lr", 1e-4, 1e-1, step=10, sampling="log")
    assert _moves(rate, 1e-3) == pytest.approx([1e-4, 1e-2])
    assert _moves(rate, 1e-1) == pytest.approx([1e-2])
    units = kt_hp.Int("units", 8, 512, step=2, sampling="log")
    assert _moves(units, 512) == [256]
    assert _moves(units, 64) == [32, 128]


def test_a_numeric_choice_listed_unsorted_is_ordered_by_value():
    # keras-tuner orders a numeric Choice as listed: [64, 16, 32] put 16
    # between 64 and 32, for the model and for the local search's moves.
    from keras_hpo.oracles.local_search import _moves

    hp = keras_tuner.HyperParameters()
    hp.Choice("units", [64, 16, 32])
    hp.Choice("rate", [0.5, 0.1, 0.3])
    cube = UnitCube(hp)
    points = [cube.encode({"units": u, "rate": 0.1})[0] for u in (16, 32, 64)]
    assert points == sorted(points) and len(set(points)) == 3
    for units, rate in ((16, 0.5), (32, 0.1), (64, 0.3)):
        values = {"units": units, "rate": rate}
        assert cube.decode(cube.encode(values)) == values
    assert _moves(hp.space[0], 64) == [32]
    assert _moves(hp.space[0], 16) == [32]
    assert _moves(hp.space[1], 0.3) == [0.1, 0.5]
