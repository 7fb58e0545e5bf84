"""Bad configurations fail at construction, naming the argument, value and fix."""

from __future__ import annotations

import keras_tuner
import pytest
from scipy import stats

import keras_hpo

KT = keras_tuner.engine.hyperparameters


def mlp(**kwargs):
    kwargs.setdefault("num_classes", 10)
    return keras_hpo.HyperMLP(**kwargs)


def grid(tmp, **kwargs):
    return keras_hpo.GridSearch(mlp(), directory=tmp, verbose=0, **kwargs)


def rand(tmp, **kwargs):
    return keras_hpo.RandomSearch(mlp(), directory=tmp, verbose=0, **kwargs)


# (factory, exception, argument named, value echoed, words of the fix)
CASES = [
    (lambda t: mlp(units=0), ValueError, "units", "0", "Give an int in [1"),
    (lambda t: mlp(units=-32), ValueError, "units", "-32", "for example units="),
    (lambda t: mlp(units="big"), TypeError, "units", "'big'", "for example"),
    (lambda t: mlp(dropout=1.0), ValueError, "dropout", "1.0", "[0, 1)"),
    (lambda t: mlp(dropout=-0.1), ValueError, "dropout", "-0.1", "[0, 1)"),
    (lambda t: mlp(dropout=None), TypeError, "dropout", "None", "(low, high)"),
    (lambda t: mlp(num_layers=2.5), TypeError, "num_layers", "2.5", "whole"),
    (lambda t: mlp(units=(512, 16)), ValueError, "units", "(512, 16)", "Swap them"),
    (
        lambda t: mlp(learning_rate=(0.1, 1e-4)),
        ValueError,
        "learning_rate",
        "(0.1, 0.0001)",
        "Swap",
    ),
    (lambda t: mlp(activation=[]), ValueError, "activation", "[]", "at least one"),
    (
        lambda t: mlp(activation="relux"),
        ValueError,
        "activation",
        "'relux'",
        "'relu'",
    ),
    (lambda t: mlp(optimizer="adamx"), ValueError, "optimizer", "'adamx'", "'adam'"),
    (
        lambda t: mlp(optimizer=["adam", "lbfgs"]),
        ValueError,
        "optimizer[1]",
        "'lbfgs'",
        "'sgd'",
    ),
    (
        lambda t: keras_hpo.HyperMLP("clustering", num_classes=3),
        ValueError,
        "task",
        "'clustering'",
        "'regression'",
    ),
    (
        lambda t: keras_hpo.HyperMLP("classification"),
        ValueError,
        "num_classes",
        "None",
        "num_classes=",
    ),
    (lambda t: mlp(num_classes=1), ValueError, "num_classes", "1", "at least 2"),
    (
        lambda t: mlp(units=(16, 64, 8, 2)),
        ValueError,
        "units",
        "(16, 64, 8, 2)",
        "list",
    ),
    (
        lambda t: mlp(units=stats.norm(64, 8)),
        TypeError,
        "units",
        "rv_continuous_frozen",
        "randint",
    ),
    (
        lambda t: mlp(units=KT.Float("units", 0.5, 8.0)),
        TypeError,
        "units",
        "Float",
        "units=",
    ),
    (lambda t: mlp(batch_size=0), ValueError, "batch_size", "0", "[32, 128]"),
    (lambda t: mlp(input_shape=(0, 3)), ValueError, "input_shape", "(0, 3)", "(64,)"),
    (
        lambda t: grid(t, param_grid={"units": 32}),
        TypeError,
        "param_grid['units']",
        "32",
        "wrapped in a list",
    ),
    (
        lambda t: grid(t, param_grid={"unitz": [32]}),
        ValueError,
        "param_grid",
        "'unitz'",
        "units",
    ),
    (lambda t: grid(t, param_grid={}), ValueError, "param_grid[0]", "{}", "at least"),
    (lambda t: grid(t, param_grid=[]), ValueError, "param_grid", "[]", "at least one"),
    (
        lambda t: grid(
            t,
            param_grid={"units": [32]},
            hyperparameters=keras_tuner.HyperParameters(),
        ),
        ValueError,
        "param_grid",
        "{'units': [32]}",
        "one way",
    ),
    (
        lambda t: grid(t, param_grid={"dropout": stats.uniform(0, 0.5)}),
        TypeError,
        "param_grid['dropout']",
        "rv_continuous_frozen",
        "list the values",
    ),
    (lambda t: grid(t), keras_hpo.SearchSpaceError, "dropout", "0.0, 0.5", "step"),
    (lambda t: rand(t, seed=-1), ValueError, "seed", "-1", "seed=0"),
    (lambda t: rand(t, seed="1"), TypeError, "seed", "'1'", "seed=42"),
    (lambda t: rand(t, max_trials=0), ValueError, "max_trials", "0", "max_trials=20"),
    (
        lambda t: rand(t, n_iter=5, max_trials=6),
        ValueError,
        "n_iter",
        "5",
        "give one of them",
    ),
    (
        lambda t: keras_hpo.RandomSearch(mlp(), directory=t, verbose=5),
        ValueError,
        "verbose",
        "5",
        "verbose=1",
    ),
    (
        lambda t: keras_hpo.BayesianSearch(
            mlp(), directory=t, verbose=0, num_initial_points=0
        ),
        ValueError,
        "num_initial_points",
        "0",
        "num_initial_points=",
    ),
    (
        lambda t: keras_hpo.BayesianSearch(mlp(), directory=t, verbose=0, xi=-1),
        ValueError,
        "xi",
        "-1",
        "xi=0.01",
    ),
]


@pytest.mark.parametrize(
    ("factory", "error", "argument", "value", "fix"),
    CASES,
    ids=[f"{i:02d}-{case[2]}" for i, case in enumerate(CASES)],
)
def test_bad_configuration_fails_before_training(
    tmp_path, factory, error, argument, value, fix
):
    with pytest.raises(error) as info:
        factory(tmp_path)
    message = str(info.value)
    assert argument in message
    assert value in message
    assert fix in message
    # Nothing was trained: no trial folder anywhere.
    assert list(tmp_path.rglob("trial_*")) == []


def test_there_are_enough_cases():
    assert len(CASES) >= 15
    assert {case[1] for case in CASES} >= {ValueError, TypeError}
