"""One ask/tell interface over every strategy the benchmarks compare.

keras_hpo's and keras-tuner's oracles are driven directly through keras-tuner's
protocol (``create_trial`` / ``update_trial`` / ``end_trial``), Optuna's
samplers through ``study.ask`` / ``study.tell``: no model is trained.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from typing import Any

import keras_tuner
from functions import Problem
from functions import keras_tuner_space
from functions import optuna_space

from keras_hpo.oracles import BayesianOracle
from keras_hpo.oracles import RandomOracle

__all__ = ["TOOLS", "OptunaDriver", "OracleDriver", "make_driver", "missing_tools"]

#: Every tool's name, in the order of the tables.
TOOLS = (
    "keras_hpo grid",
    "keras_hpo random",
    "keras_hpo bayesian",
    "keras_tuner random",
    "keras_tuner bayesian",
    "optuna tpe",
    "optuna gp",
)

#: What each optional tool needs, and how to install it.
_NEEDS = {
    "optuna tpe": ("optuna", "pip install -e .[test]"),
    "optuna gp": ("torch", "pip install -e .[bench]"),
}


def _installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_tools(tools: list[str]) -> dict[str, str]:
    """The tools of ``tools`` that cannot run here, each with the reason.

    Optuna's GP sampler needs torch (the ``bench`` extra, not installed by
    ``.[test]``); both Optuna samplers need optuna.
    """
    missing = {}
    for tool in tools:
        modules = ["optuna"] if tool.startswith("optuna") else []
        if tool in _NEEDS:
            modules.append(_NEEDS[tool][0])
        for module in modules:
            if not _installed(module):
                missing[tool] = f"{module} is not installed ({_NEEDS[tool][1]})"
                break
    return missing


# keras-tuner's lock helper calls threading.currentThread() on every call.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="keras_tuner")
# keras-tuner's Bayesian oracle fits scikit-learn GPs that warn on most fits.
warnings.filterwarnings("ignore", module="sklearn")


class OracleDriver:
    """Drives a keras-tuner ``Oracle`` (ours or keras-tuner's) one trial at a time.

    Args:
        oracle: The oracle, built with objective ``score`` to minimise.
    """

    def __init__(self, oracle: keras_tuner.Oracle):
        self._directory = tempfile.TemporaryDirectory()
        self.oracle = oracle
        oracle._set_project_dir(self._directory.name, "benchmark")
        oracle.verbose = 0
        self._trial = None

    def ask(self) -> dict[str, Any] | None:
        """The next configuration, or ``None`` when the oracle stops."""
        self._trial = self.oracle.create_trial("benchmark")
        if self._trial.status != "RUNNING":
            return None
        return dict(self._trial.hyperparameters.values)

    def tell(self, value: float) -> None:
        """Finishes the last trial with ``value``."""
        self.oracle.update_trial(self._trial.trial_id, {"score": value})
        self._trial.status = "COMPLETED"
        self.oracle.end_trial(self._trial)

    def inject(self, values: dict[str, Any], value: float) -> None:
        """Adds a finished trial with the given values, bypassing the strategy."""
        name = "propose" if hasattr(self.oracle, "propose") else "populate_space"
        if name == "propose":
            setattr(self.oracle, name, lambda trial_id: dict(values))
        else:
            setattr(
                self.oracle,
                name,
                lambda trial_id: {"status": "RUNNING", "values": dict(values)},
            )
        try:
            self.ask()
        finally:
            delattr(self.oracle, name)
        self.tell(value)

    def close(self) -> None:
        """Removes the oracle's files."""
        self._directory.cleanup()


class OptunaDriver:
    """Drives an Optuna sampler with ask/tell on a fixed space.

    Args:
        sampler: The Optuna sampler.
        problem: The problem whose space to use.
    """

    def __init__(self, sampler, problem: Problem):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._optuna = optuna
        self.study = optuna.create_study(sampler=sampler, direction="minimize")
        self.space = optuna_space(problem)
        self._trial = None

    def ask(self) -> dict[str, Any]:
        """The next configuration."""
        self._trial = self.study.ask(self.space)
        return dict(self._trial.params)

    def tell(self, value: float) -> None:
        """Finishes the last trial with ``value``."""
        self.study.tell(self._trial, value)

    def inject(self, values: dict[str, Any], value: float) -> None:
        """Adds a finished trial with the given values, bypassing the sampler."""
        self.study.add_trial(
            self._optuna.trial.create_trial(
                params=dict(values), distributions=self.space, value=value
            )
        )

    def close(self) -> None:
        """Nothing to clean up."""


def make_driver(
    tool: str, problem: Problem, seed: int, max_trials: int
) -> OracleDriver | OptunaDriver:
    """A fresh driver for ``tool`` (any of `TOOLS` but the grid) on ``problem``.

    Args:
        tool: The tool's name.
        problem: The test problem.
        seed: The tool's seed.
        max_trials: The oracle's ``max_trials``.

    Returns:
        The driver.
    """
    objective = keras_tuner.Objective("score", "min")
    common = {
        "objective": objective,
        "max_trials": max_trials,
        "hyperparameters": keras_tuner_space(problem),
        "seed": seed,
    }
    if tool == "keras_hpo random":
        return OracleDriver(RandomOracle(**common))
    if tool == "keras_hpo bayesian":
        return OracleDriver(BayesianOracle(**common))
    if tool == "keras_tuner random":
        return OracleDriver(keras_tuner.oracles.RandomSearchOracle(**common))
    if tool == "keras_tuner bayesian":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return OracleDriver(
                keras_tuner.oracles.BayesianOptimizationOracle(**common)
            )
    if tool in ("optuna tpe", "optuna gp"):
        import optuna

        logging.getLogger("optuna").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # GPSampler is "experimental"
            if tool == "optuna tpe":
                sampler = optuna.samplers.TPESampler(seed=seed)
            else:
                sampler = optuna.samplers.GPSampler(seed=seed)
        return OptunaDriver(sampler, problem)
    raise ValueError(f"Unknown tool {tool!r}; use one of {TOOLS[1:]}.")
