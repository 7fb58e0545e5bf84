"""The installed package: its public surface, keras_hpo.callbacks, the wheel."""

from __future__ import annotations

import importlib
import sys
import zipfile

import pytest
from conftest import REPO
from conftest import run_python

PUBLIC = {
    "keras_hpo": [
        "BayesianOracle",
        "BayesianSearch",
        "ConfigError",
        "ConfigTypeError",
        "GridOracle",
        "GridSearch",
        "HyperGrid",
        "HyperMLP",
        "MedianStopping",
        "NotSearchedError",
        "RandomOracle",
        "RandomSearch",
        "SearchSpaceError",
        "SearchTuner",
        "SuccessiveHalving",
        "TrialResult",
        "TrialStatus",
        "__version__",
        "param_distributions_to_hyperparameters",
        "param_grid_to_hyperparameters",
    ],
    "keras_hpo.callbacks": ["EpochRecorder", "ProgressPrinter", "SearchCallback"],
    "keras_hpo.oracles": [
        "BayesianOracle",
        "GridOracle",
        "HyperGrid",
        "RandomOracle",
        "SearchOracle",
        "UnitCube",
        "log_expected_improvement",
    ],
    "keras_hpo.stopping": [
        "Curve",
        "MedianStopping",
        "Stopper",
        "SuccessiveHalving",
        "best_so_far",
    ],
    "keras_hpo.tuners": [
        "BayesianSearch",
        "GridSearch",
        "RandomSearch",
        "SearchTuner",
        "TrialResult",
        "TrialStatus",
    ],
    "keras_hpo.hypermodels": [
        "ACTIVATIONS",
        "KNOBS",
        "OPTIMIZERS",
        "SUBGRID",
        "TASKS",
        "HyperMLP",
        "Knob",
        "param_distributions_to_hyperparameters",
        "param_grid_to_hyperparameters",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_surface_is_frozen(module):
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in imported.__all__:
        assert getattr(imported, name) is not None


def test_callbacks_live_in_keras_hpo_callbacks():
    import keras_hpo.callbacks as callbacks

    assert callbacks.__name__ == "keras_hpo.callbacks"
    assert callbacks.__file__.startswith(str(REPO / "callbacks"))
    for name in callbacks.__all__:
        assert getattr(callbacks, name).__module__.startswith("keras_hpo.callbacks.")


def test_no_bare_top_level_callbacks_package():
    # Run from a neutral folder so the checkout itself is not on sys.path.
    done = run_python(
        ["-c", "import importlib.util as u; print(u.find_spec('callbacks'))"],
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "None"


def test_the_wheel_holds_keras_hpo_callbacks_and_the_console_script(tmp_path):
    done = run_python(
        [
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ]
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("keras_hpo-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for path in (
        "keras_hpo/__init__.py",
        "keras_hpo/callbacks/__init__.py",
        "keras_hpo/callbacks/reporting.py",
        "keras_hpo/hypermodels/mlp.py",
        "keras_hpo/oracles/bayesian.py",
        "keras_hpo/stopping/halving.py",
        "keras_hpo/tuners/base.py",
    ):
        assert path in names
    assert not any(name.startswith("callbacks/") for name in names)
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "keras-hpo = keras_hpo.cli:main" in text


def test_python_requirement_and_dependencies_are_declared():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.10"
    declared = {d.split(">")[0].split("=")[0] for d in meta["dependencies"]}
    assert declared == {
        "tensorflow",
        "keras",
        "keras-tuner",
        "numpy",
        "tensorboard",
        "scikit-learn",
        "scipy",
    }
    assert any(d.startswith("pytest") for d in meta["optional-dependencies"]["test"])
