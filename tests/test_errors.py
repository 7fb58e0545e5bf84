"""Bad configurations fail at construction, naming the argument, value and fix.

One table: each row builds a `HyperMLP` or a tuner with one bad argument and
says which exception it must raise, the argument the message must name, the
text that echoes the value received, and a regular expression for the fix.
"""

from __future__ import annotations

import re
from typing import Any
from typing import NamedTuple

import keras_tuner
import pytest
from scipy import stats

import keras_hpo
from keras_hpo.errors import ConfigError
from keras_hpo.errors import ConfigTypeError

H = keras_tuner.engine.hyperparameters


class Case(NamedTuple):
    target: str  # "mlp" (num_classes=10 added), "bare_mlp", "grid", "random", ...
    kwargs: dict[str, Any]
    error: type[Exception]
    argument: str  # the argument the message names
    received: str | tuple[str, ...]  # text(s) that echo the value received
    fix: str  # a regular expression for the fix the message suggests


# A space GridSearch can enumerate except for one continuous learning rate.
DISCRETE_BUT_LR = {
    "num_layers": 1,
    "units": 32,
    "dropout": 0.0,
    "activation": "relu",
    "learning_rate": (1e-3, 1e-1),
}

INT_FIX = r"Give an int in \[1, inf\], for example units=\(16, 512\)\.$"
DROPOUT_FIX = r"Give a float in \[0, 1\), for example dropout=\(0\.0, 0\.5\)\.$"
KNOB_NAMES = (
    r"Use one of: activation, batch_size, dropout, epochs, learning_rate, num_layers, "
    r"optimizer, units\.$"
)

CASES = {
    # -- HyperMLP: numbers out of range -----------------------------------------
    "units-zero": Case(
        "mlp",
        {"units": 0},
        ValueError,
        "units",
        "Received: units=0 (of type int)",
        INT_FIX,
    ),
    "units-negative": Case(
        "mlp",
        {"units": -32},
        ValueError,
        "units",
        "Received: units=-32 (of type int)",
        INT_FIX,
    ),
    "units-zero-in-a-list": Case(
        "mlp",
        {"units": [32, 0]},
        ValueError,
        "units[1]",
        "Received: units[1]=0 (of type int)",
        INT_FIX,
    ),
    "num_layers-negative": Case(
        "mlp",
        {"num_layers": -1},
        ValueError,
        "num_layers",
        "Received: num_layers=-1 (of type int)",
        r"Give an int in \[0, 64\], for example num_layers=\(1, 4\)\.$",
    ),
    "batch_size-zero": Case(
        "mlp",
        {"batch_size": 0},
        ValueError,
        "batch_size",
        "Received: batch_size=0 (of type int)",
        r"for example batch_size=\[32, 128\]\.$",
    ),
    "dropout-one": Case(
        "mlp",
        {"dropout": 1.0},
        ValueError,
        "dropout",
        "Received: dropout=1.0 (of type float)",
        DROPOUT_FIX,
    ),
    "dropout-negative": Case(
        "mlp",
        {"dropout": -0.1},
        ValueError,
        "dropout",
        "Received: dropout=-0.1 (of type float)",
        DROPOUT_FIX,
    ),
    "dropout-range-up-to-one": Case(
        "mlp",
        {"dropout": (0.0, 1.0)},
        ValueError,
        "dropout[1] (high)",
        "Received: dropout[1] (high)=1.0 (of type float)",
        DROPOUT_FIX,
    ),
    "dropout-nan": Case(
        "mlp",
        {"dropout": float("nan")},
        ValueError,
        "dropout",
        "Received: dropout=nan (of type float)",
        DROPOUT_FIX,
    ),
    "learning_rate-zero": Case(
        "mlp",
        {"learning_rate": 0.0},
        ValueError,
        "learning_rate",
        "Received: learning_rate=0.0 (of type float)",
        r"for example learning_rate=\(1e-4, 1e-1\)\.$",
    ),
    # -- HyperMLP: malformed ranges and lists -----------------------------------
    "units-low-above-high": Case(
        "mlp",
        {"units": (512, 16)},
        ValueError,
        "units",
        "Received: units=(512, 16) (of type tuple)",
        r"low \(512\) is greater than high \(16\).*Swap them: units=\(16, 512\)\.$",
    ),
    "learning_rate-low-above-high": Case(
        "mlp",
        {"learning_rate": (0.1, 1e-4)},
        ValueError,
        "learning_rate",
        "Received: learning_rate=(0.1, 0.0001) (of type tuple)",
        r"Swap them: learning_rate=\(0\.0001, 0\.1\)\.$",
    ),
    "range-of-four": Case(
        "mlp",
        {"units": (16, 64, 8, 2)},
        ValueError,
        "units",
        "Received: units=(16, 64, 8, 2) (of type tuple)",
        r"\(low, high\) or \(low, high, step\) tuple.*Use a list for a set of "
        r"choices, e\.g\. \[32, 64, 128\]\.$",
    ),
    "negative-step": Case(
        "mlp",
        {"dropout": (0.0, 0.5, -0.1)},
        ValueError,
        "dropout",
        "Received: dropout=(0.0, 0.5, -0.1) (of type tuple)",
        r"the step must be a positive number.*E\.g\. \(0\.0, 0\.5, 0\.1\)\.$",
    ),
    "empty-list": Case(
        "mlp",
        {"activation": []},
        ValueError,
        "activation",
        "Received: activation=[] (of type list)",
        r"Give at least one value, for example activation=\[\"relu\", \"tanh\"\]\.$",
    ),
    "repeated-value": Case(
        "mlp",
        {"units": [32, 32]},
        ValueError,
        "units",
        "Received: units=[32, 32] (of type list)",
        r"List each value once\.$",
    ),
    # -- HyperMLP: unknown names -------------------------------------------------
    "unknown-activation": Case(
        "mlp",
        {"activation": "relux"},
        ValueError,
        "activation",
        "Received: activation='relux' (of type str)",
        r"Give one of 'relu', 'tanh', 'gelu', .*'linear', for example activation=",
    ),
    "unknown-optimizer": Case(
        "mlp",
        {"optimizer": "adamx"},
        ValueError,
        "optimizer",
        "Received: optimizer='adamx' (of type str)",
        r"Give one of 'adam', 'adamw', 'sgd', 'rmsprop', 'nadam', for example ",
    ),
    "unknown-optimizer-in-a-list": Case(
        "mlp",
        {"optimizer": ["adam", "lbfgs"]},
        ValueError,
        "optimizer[1]",
        "Received: optimizer[1]='lbfgs' (of type str)",
        r"Give one of 'adam', 'adamw', 'sgd', 'rmsprop', 'nadam'",
    ),
    "unknown-task": Case(
        "bare_mlp",
        {"task": "clustering", "num_classes": 3},
        ValueError,
        "task",
        "Received: task='clustering' (of type str)",
        r"Use one of: 'classification', 'binary', 'regression'\.$",
    ),
    # -- HyperMLP: outputs -------------------------------------------------------
    "missing-num_classes": Case(
        "bare_mlp",
        {},
        ValueError,
        "num_classes",
        "Received: num_classes=None (of type NoneType)",
        r"Pass num_classes=<number of labels>, or use task=\"binary\"",
    ),
    "one-class": Case(
        "mlp",
        {"num_classes": 1},
        ValueError,
        "num_classes",
        "Received: num_classes=1 (of type int)",
        r"at least 2 classes.*e\.g\. num_classes=10\.$",
    ),
    "num_classes-float": Case(
        "mlp",
        {"num_classes": 2.5},
        TypeError,
        "num_classes",
        "Received: num_classes=2.5 (of type float)",
        r"E\.g\. num_classes=10\.$",
    ),
    "output_dim-zero": Case(
        "bare_mlp",
        {"task": "regression", "output_dim": 0},
        ValueError,
        "output_dim",
        "Received: output_dim=0 (of type int)",
        r"E\.g\. output_dim=1\.$",
    ),
    "input_shape-zero": Case(
        "mlp",
        {"input_shape": (0, 3)},
        ValueError,
        "input_shape",
        "Received: input_shape=(0, 3) (of type tuple)",
        r"E\.g\. input_shape=\(64,\)\.$",
    ),
    # -- HyperMLP: wrong types ---------------------------------------------------
    "units-string": Case(
        "mlp",
        {"units": "big"},
        TypeError,
        "units",
        "Received: units='big' (of type str)",
        r"^`units` must be an int\. .*" + INT_FIX,
    ),
    "dropout-none": Case(
        "mlp",
        {"dropout": None},
        TypeError,
        "dropout",
        "Received: dropout=None (of type NoneType)",
        r"a value, a list, a \(low, high\) tuple or a keras-tuner hyperparameter"
        r".*For example dropout=\(0\.0, 0\.5\)\.$",
    ),
    "num_layers-fraction": Case(
        "mlp",
        {"num_layers": 2.5},
        TypeError,
        "num_layers",
        "Received: num_layers=2.5 (of type float)",
        r"must be a whole number.*for example num_layers=\(1, 4\)\.$",
    ),
    "units-bool": Case(
        "mlp",
        {"units": True},
        TypeError,
        "units",
        "Received: units=True (of type bool)",
        INT_FIX,
    ),
    "activation-range": Case(
        "mlp",
        {"activation": ("relu", "tanh")},
        TypeError,
        "activation",
        "Received: activation=('relu', 'tanh') (of type tuple)",
        r"give a list such as activation=\[\"relu\", \"tanh\"\]\.$",
    ),
    "normal-distribution": Case(
        "mlp",
        {"units": stats.norm(64, 8)},
        TypeError,
        "units",
        ("Received: units=", "norm"),
        r"a list or a scipy\.stats randint, uniform or loguniform distribution",
    ),
    "float-hyperparameter-for-an-int-knob": Case(
        "mlp",
        {"units": H.Float("units", 0.5, 8.0)},
        TypeError,
        "units",
        "Received: units=Float(name: 'units'",
        r"a hyperparameter of int values.*For example units=\(16, 512\)\.$",
    ),
    "standardize-string": Case(
        "mlp",
        {"standardize": "yes"},
        TypeError,
        "standardize",
        "Received: standardize='yes' (of type str)",
        r"E\.g\. standardize=True\.$",
    ),
    # -- param_grid / param_distributions ---------------------------------------
    "param_grid-single-value": Case(
        "grid",
        {"param_grid": {"units": 32}},
        TypeError,
        "param_grid['units']",
        "Received: param_grid['units']=32 (of type int)",
        r"Single values must be wrapped in a list: units=\[32\]\.$",
    ),
    "param_grid-single-value-in-a-sub-grid": Case(
        "grid",
        {"param_grid": [{"units": [32]}, {"dropout": 0.1}]},
        TypeError,
        "param_grid[1]['dropout']",
        "Received: param_grid[1]['dropout']=0.1 (of type float)",
        r"Single values must be wrapped in a list: dropout=\[0\.1\]\.$",
    ),
    "param_grid-unknown-key": Case(
        "grid",
        {"param_grid": {"unitz": [32]}},
        ValueError,
        "param_grid",
        "'unitz'",
        r"'unitz' is not a hyperparameter of this hypermodel.*" + KNOB_NAMES,
    ),
    "param_grid-empty-dict": Case(
        "grid",
        {"param_grid": {}},
        ValueError,
        "param_grid",
        "={} (of type dict)",
        r"Give at least one hyperparameter and its values\.$",
    ),
    "param_grid-empty-list": Case(
        "grid",
        {"param_grid": []},
        ValueError,
        "param_grid",
        "Received: param_grid=[] (of type list)",
        r"Give at least one dict\.$",
    ),
    "param_grid-empty-values": Case(
        "grid",
        {"param_grid": {"units": []}},
        ValueError,
        "param_grid['units']",
        "Received: param_grid['units']=[] (of type list)",
        r"Give at least one value",
    ),
    "param_grid-value-out-of-range": Case(
        "grid",
        {"param_grid": {"dropout": [0.0, 1.0]}},
        ValueError,
        "param_grid['dropout'][1]",
        "Received: param_grid['dropout'][1]=1.0 (of type float)",
        # In a grid a tuple is a list of values: the example is a list.
        r"Give a float in \[0, 1\), for example param_grid\['dropout'\]=\[0\.0, "
        r"0\.5\]\.$",
    ),
    "param_grid-a-string": Case(
        "grid",
        {"param_grid": "units"},
        TypeError,
        "param_grid",
        "Received: param_grid='units' (of type str)",
        r"For example \{\"units\": \[32, 64\], \"dropout\": \[0\.0, 0\.2\]\}\.$",
    ),
    "param_grid-distribution": Case(
        "grid",
        {"param_grid": {"dropout": stats.uniform(0, 0.5)}},
        TypeError,
        "param_grid['dropout']",
        "Received: param_grid['dropout']=",
        r"use RandomSearch\(param_distributions=\.\.\.\) for distributions, or list "
        r"the values\.$",
    ),
    "param_grid-with-hyperparameters": Case(
        "grid",
        {
            "param_grid": {"units": [32]},
            "hyperparameters": keras_tuner.HyperParameters(),
        },
        ValueError,
        "param_grid",
        "Received: param_grid={'units': [32]} (of type dict)",
        r"given together with hyperparameters=.*Describe the search space one way",
    ),
    "param_distributions-single-value": Case(
        "random",
        {"param_distributions": {"units": 64}},
        TypeError,
        "param_distributions['units']",
        "Received: param_distributions['units']=64 (of type int)",
        r"Single values must be wrapped in a list: units=\[64\]\.$",
    ),
    "param_distributions-unknown-key": Case(
        "random",
        {"param_distributions": {"unitz": [1]}},
        ValueError,
        "param_distributions",
        "'unitz'",
        KNOB_NAMES,
    ),
    "param_distributions-normal": Case(
        "random",
        {"param_distributions": {"units": stats.norm(64, 8)}},
        TypeError,
        "param_distributions['units']",
        ("Received: param_distributions['units']=", "norm"),
        r"give a list or one of those three\.$",
    ),
    "param_distributions-with-hyperparameters": Case(
        "random",
        {
            "param_distributions": {"units": [32]},
            "hyperparameters": keras_tuner.HyperParameters(),
        },
        ValueError,
        "param_distributions",
        "Received: param_distributions={'units': [32]} (of type dict)",
        r"either a scikit-learn param_distributions or a keras_tuner\.HyperParameters",
    ),
    # -- GridSearch over a continuous range -------------------------------------
    "grid-continuous-dropout": Case(
        "grid",
        {},
        keras_hpo.SearchSpaceError,
        "dropout",
        "continuous range [0.0, 0.5] without a step",
        r"Give it a step, e\.g\. dropout=\(0\.0, 0\.5, <step>\).*or a list of values",
    ),
    "grid-continuous-learning_rate": Case(
        "grid",
        {"hypermodel": DISCRETE_BUT_LR},
        keras_hpo.SearchSpaceError,
        "learning_rate",
        "continuous range [0.001, 0.1] without a step",
        r"Give it a step, e\.g\. learning_rate=\(0\.001, 0\.1, <step>\).*or a list",
    ),
    # -- tuner arguments ---------------------------------------------------------
    "seed-negative": Case(
        "random",
        {"seed": -1},
        ValueError,
        "seed",
        "Received: seed=-1 (of type int)",
        r"E\.g\. seed=0\.$",
    ),
    "seed-negative-bayesian": Case(
        "bayesian",
        {"seed": -1},
        ValueError,
        "seed",
        "Received: seed=-1 (of type int)",
        r"E\.g\. seed=0\.$",
    ),
    "seed-string": Case(
        "grid",
        {"seed": "1", "param_grid": {"units": [32]}},
        TypeError,
        "seed",
        "Received: seed='1' (of type str)",
        r"E\.g\. seed=42\.$",
    ),
    "max_trials-zero": Case(
        "random",
        {"max_trials": 0},
        ValueError,
        "max_trials",
        "Received: max_trials=0 (of type int)",
        r"E\.g\. max_trials=20\.$",
    ),
    "max_trials-zero-bayesian": Case(
        "bayesian",
        {"max_trials": 0},
        ValueError,
        "max_trials",
        "Received: max_trials=0 (of type int)",
        r"E\.g\. max_trials=20\.$",
    ),
    "max_trials-zero-grid": Case(
        "grid",
        {"max_trials": 0, "param_grid": {"units": [32]}},
        ValueError,
        "max_trials",
        "Received: max_trials=0 (of type int)",
        r"E\.g\. max_trials=20\.$",
    ),
    "max_trials-fraction": Case(
        "random",
        {"max_trials": 2.5},
        TypeError,
        "max_trials",
        "Received: max_trials=2.5 (of type float)",
        r"E\.g\. max_trials=20\.$",
    ),
    "n_iter-conflicts-with-max_trials": Case(
        "random",
        {"n_iter": 5, "max_trials": 6},
        ValueError,
        "n_iter",
        "Received: n_iter=5 (of type int)",
        r"conflicts with max_trials=6.*give one of them\.$",
    ),
    "n_iter-zero": Case(
        "random",
        {"n_iter": 0},
        ValueError,
        "n_iter",
        "Received: n_iter=0 (of type int)",
        r"n_iter=",
    ),
    "verbose-five": Case(
        "random",
        {"verbose": 5},
        ValueError,
        "verbose",
        "Received: verbose=5 (of type int)",
        r"must be 0, 1 or 2.*E\.g\. verbose=1\.$",
    ),
    "verbose-negative-grid": Case(
        "grid",
        {"verbose": -1, "param_grid": {"units": [32]}},
        ValueError,
        "verbose",
        "Received: verbose=-1 (of type int)",
        r"must be 0, 1 or 2",
    ),
    "num_initial_points-zero": Case(
        "bayesian",
        {"num_initial_points": 0},
        ValueError,
        "num_initial_points",
        "Received: num_initial_points=0 (of type int)",
        r"E\.g\. num_initial_points=8\.$",
    ),
    "warp_outputs-string": Case(
        "bayesian",
        {"warp_outputs": "yes"},
        ValueError,
        "warp_outputs",
        "Received: warp_outputs='yes' (of type str)",
        r"E\.g\. warp_outputs=False to fit the scores unwarped\.$",
    ),
    # keras-tuner accepts these and then fails every trial, or stops a search
    # that had no failure.
    "executions_per_trial-zero": Case(
        "random",
        {"executions_per_trial": 0},
        ValueError,
        "executions_per_trial",
        "Received: executions_per_trial=0 (of type int)",
        r"E\.g\. executions_per_trial=1\.$",
    ),
    "executions_per_trial-fraction": Case(
        "bayesian",
        {"executions_per_trial": 1.5},
        TypeError,
        "executions_per_trial",
        "Received: executions_per_trial=1.5 (of type float)",
        r"E\.g\. executions_per_trial=1\.$",
    ),
    "max_consecutive_failed_trials-zero": Case(
        "random",
        {"max_consecutive_failed_trials": 0},
        ValueError,
        "max_consecutive_failed_trials",
        "Received: max_consecutive_failed_trials=0 (of type int)",
        r"E\.g\. max_consecutive_failed_trials=3\.$",
    ),
    "max_retries_per_trial-negative": Case(
        "grid",
        {"max_retries_per_trial": -1, "param_grid": {"units": [32]}},
        ValueError,
        "max_retries_per_trial",
        "Received: max_retries_per_trial=-1 (of type int)",
        r"E\.g\. max_retries_per_trial=1\.$",
    ),
    "early_stopping-string": Case(
        "random",
        {"early_stopping": "yes"},
        TypeError,
        "early_stopping",
        "Received: early_stopping='yes' (of type str)",
        r"E\.g\. early_stopping=5, or None to turn it off\.$",
    ),
    "checkpoint-unknown": Case(
        "random",
        {"checkpoint": "all"},
        ValueError,
        "checkpoint",
        "Received: checkpoint='all' (of type str)",
        r"Use one of: 'best', 'every_epoch', 'none'\.$",
    ),
    "keep_top_k-zero": Case(
        "random",
        {"keep_top_k": 0},
        ValueError,
        "keep_top_k",
        "Received: keep_top_k=0 (of type int)",
        r"must be at least 1",
    ),
    "stopper-string": Case(
        "random",
        {"stopper": "median"},
        TypeError,
        "stopper",
        "Received: stopper='median' (of type str)",
        r"E\.g\. stopper=keras_hpo\.stopping\.SuccessiveHalving\(\)\.$",
    ),
    "max_time-negative": Case(
        "bayesian",
        {"max_time": -1},
        ValueError,
        "max_time",
        "Received: max_time=-1 (of type int)",
        r"must be at least 0",
    ),
}

TUNERS = {
    "grid": keras_hpo.GridSearch,
    "random": keras_hpo.RandomSearch,
    "bayesian": keras_hpo.BayesianSearch,
}


def construct(case: Case, directory) -> Any:
    """Builds what the row describes; it must raise."""
    kwargs = dict(case.kwargs)
    if case.target == "bare_mlp":
        return keras_hpo.HyperMLP(**kwargs)
    if case.target == "mlp":
        return keras_hpo.HyperMLP(**{"num_classes": 10, **kwargs})
    hypermodel = keras_hpo.HyperMLP(num_classes=10, **kwargs.pop("hypermodel", {}))
    options = {"directory": str(directory), "project_name": "project", "verbose": 0}
    return TUNERS[case.target](hypermodel, **{**options, **kwargs})


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_configuration_fails_at_construction(tmp_path, case):
    with pytest.raises(case.error) as info:
        construct(case, tmp_path)
    error = info.value
    message = str(error)
    # Our own exception classes, and ValueError xor TypeError.
    assert isinstance(error, (ConfigError, ConfigTypeError)), type(error)
    assert isinstance(error, ValueError) != isinstance(error, TypeError)
    assert isinstance(error, ValueError) == issubclass(case.error, ValueError)
    assert case.argument in message
    for text in (case.received,) if isinstance(case.received, str) else case.received:
        assert text in message
    assert re.search(case.fix, message), message
    # Nothing was trained: no trial folder was written.
    assert sorted(tmp_path.rglob("trial_*")) == []


@pytest.mark.parametrize(
    "name",
    ["grid-continuous-dropout", "grid-continuous-learning_rate"],
)
def test_a_grid_refused_after_the_tuner_opened_its_project_trained_nothing(
    tmp_path, name
):
    # The space is checked once the tuner exists, so its project folder is
    # there; it must hold no trial.
    with pytest.raises(keras_hpo.SearchSpaceError):
        construct(CASES[name], tmp_path)
    project = tmp_path / "project"
    assert project.is_dir()
    assert sorted(p.name for p in project.iterdir() if p.name.startswith("trial")) == []
    assert sorted(tmp_path.rglob("trial_*")) == []
    assert sorted(tmp_path.rglob("*.weights.h5")) == []


def test_bad_hypermodel_inside_a_tuner_fails_before_the_tuner_exists(tmp_path):
    with pytest.raises(ValueError, match=r"Received: units=0 \(of type int\)"):
        keras_hpo.RandomSearch(
            keras_hpo.HyperMLP(num_classes=10, units=0),
            directory=str(tmp_path),
            project_name="project",
        )
    assert list(tmp_path.iterdir()) == []


def test_errors_are_caught_by_the_builtin_exceptions():
    assert issubclass(ConfigError, ValueError)
    assert issubclass(ConfigTypeError, TypeError)
    assert issubclass(keras_hpo.SearchSpaceError, ConfigError)
    with pytest.raises(ValueError):
        keras_hpo.HyperMLP(num_classes=10, units=0)
    with pytest.raises(TypeError):
        keras_hpo.HyperMLP(num_classes=10, units="big")
