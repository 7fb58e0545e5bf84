"""The installed package: its frozen public surface, keras_hpo.callbacks, the wheel."""

from __future__ import annotations

import importlib
import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO
from conftest import run_python

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

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
        "ProjectInUseError",
        "RandomOracle",
        "RandomSearch",
        "SavedSearch",
        "SearchSpaceError",
        "SearchTuner",
        "SklearnHyperModel",
        "SklearnSearch",
        "SuccessiveHalving",
        "TrialResult",
        "TrialStatus",
        "__version__",
        "load",
        "param_distributions_to_hyperparameters",
        "param_grid_to_hyperparameters",
    ],
    "keras_hpo.analysis": [
        "MajorityVote",
        "Trials",
        "build_ensemble",
        "greedy_weights",
        "hyperparameter_importance",
        "permutation_importance",
        "plot_importance",
        "plot_learning_curves",
        "plot_optimization_history",
        "plot_parallel_coordinates",
        "plot_slice",
        "trials_of",
        "write_report",
    ],
    "keras_hpo.callbacks": [
        "DeviceProbe",
        "EpochRecorder",
        "EpochTensorBoard",
        "ProgressPrinter",
        "SearchCallback",
        "TensorBoardLogger",
        "ValidationTimer",
    ],
    "keras_hpo.distributed": [
        "ChiefServer",
        "ChiefUnreachable",
        "Cluster",
        "Lease",
        "LeaseLost",
        "WorkerOracle",
        "WorkerProcesses",
        "launch",
    ],
    "keras_hpo.hypermodels": [
        "ACTIVATIONS",
        "HyperMLP",
        "KNOBS",
        "Knob",
        "OPTIMIZERS",
        "SUBGRID",
        "SklearnHyperModel",
        "TASKS",
        "param_distributions_to_hyperparameters",
        "param_grid_to_hyperparameters",
    ],
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
        "SavedSearch",
        "SearchTuner",
        "SklearnSearch",
        "TrialResult",
        "TrialStatus",
        "load",
    ],
}

# Where each top-level name really lives (keras_hpo imports them lazily).
HOMES = {
    "ConfigError": "keras_hpo.errors",
    "ConfigTypeError": "keras_hpo.errors",
    "NotSearchedError": "keras_hpo.errors",
    "ProjectInUseError": "keras_hpo.errors",
    "SearchSpaceError": "keras_hpo.errors",
    "HyperMLP": "keras_hpo.hypermodels",
    "SklearnHyperModel": "keras_hpo.hypermodels",
    "param_distributions_to_hyperparameters": "keras_hpo.hypermodels",
    "param_grid_to_hyperparameters": "keras_hpo.hypermodels",
    "BayesianOracle": "keras_hpo.oracles",
    "GridOracle": "keras_hpo.oracles",
    "HyperGrid": "keras_hpo.oracles",
    "RandomOracle": "keras_hpo.oracles",
    "MedianStopping": "keras_hpo.stopping",
    "SuccessiveHalving": "keras_hpo.stopping",
    "BayesianSearch": "keras_hpo.tuners",
    "GridSearch": "keras_hpo.tuners",
    "RandomSearch": "keras_hpo.tuners",
    "SearchTuner": "keras_hpo.tuners",
    "TrialResult": "keras_hpo.tuners",
    "TrialStatus": "keras_hpo.tuners",
    "SavedSearch": "keras_hpo.tuners",
    "SklearnSearch": "keras_hpo.tuners",
    "load": "keras_hpo.tuners",
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_the_public_surface_is_frozen(module):
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == PUBLIC[module]
    assert len(set(imported.__all__)) == len(imported.__all__)
    for name in imported.__all__:
        assert getattr(imported, name) is not None, name


def test_every_top_level_name_is_the_object_of_its_home_module():
    import keras_hpo

    assert sorted(HOMES) == sorted(set(PUBLIC["keras_hpo"]) - {"__version__"})
    for name, home in HOMES.items():
        assert getattr(keras_hpo, name) is getattr(importlib.import_module(home), name)
    assert set(PUBLIC["keras_hpo"]) <= set(dir(keras_hpo))
    with pytest.raises(AttributeError, match="no attribute 'HyperCNN'"):
        keras_hpo.HyperCNN  # noqa: B018


def test_the_version_agrees_everywhere():
    import keras_hpo

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert keras_hpo.__version__ == declared["version"] == "0.1.0"
    assert importlib.metadata.version("keras-hpo") == keras_hpo.__version__


def test_importing_keras_hpo_does_not_import_tensorflow():
    done = run_python(
        [
            "-c",
            "import sys, keras_hpo, keras_hpo.cli; keras_hpo.cli.build_parser(); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'keras_tuner') "
            "if m in sys.modules))",
        ],
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- keras_hpo.callbacks -----------------------------------------------------------


def test_callback_classes_live_in_keras_hpo_callbacks():
    import keras_hpo.callbacks as callbacks

    assert callbacks.__name__ == "keras_hpo.callbacks"
    for name in callbacks.__all__:
        module = getattr(callbacks, name).__module__
        assert module.startswith("keras_hpo.callbacks."), (name, module)
    assert {getattr(callbacks, name).__module__ for name in callbacks.__all__} == {
        "keras_hpo.callbacks.base",
        "keras_hpo.callbacks.curves",
        "keras_hpo.callbacks.device",
        "keras_hpo.callbacks.recording",
        "keras_hpo.callbacks.reporting",
        "keras_hpo.callbacks.tensorboard",
    }


def test_the_editable_install_maps_keras_hpo_callbacks_to_the_callbacks_folder():
    # In a neutral folder, so that only the installation can find the modules.
    done = run_python(
        [
            "-c",
            "import keras_hpo, keras_hpo.callbacks as c, keras_hpo.callbacks.reporting "
            "as r; print(keras_hpo.__file__); print(c.__file__); print(r.__file__); "
            "print(list(c.__path__))",
        ],
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines == [
        str(REPO / "keras_hpo" / "__init__.py"),
        str(REPO / "callbacks" / "__init__.py"),
        str(REPO / "callbacks" / "reporting.py"),
        str([str(REPO / "callbacks")]),
    ]
    assert not (REPO / "keras_hpo" / "callbacks").exists()


def test_there_is_no_bare_top_level_callbacks_package(tmp_path):
    # From a neutral folder: the checkout itself must not be on sys.path.
    done = run_python(["-c", "import callbacks"], cwd=tmp_path)
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'callbacks'" in done.stderr
    top_level = importlib.metadata.distribution("keras-hpo").read_text("top_level.txt")
    assert top_level is None or top_level.split() == ["keras_hpo"]


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "keras-hpo"
    assert script.is_file()
    done = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: keras-hpo ")
    (entry,) = [
        e
        for e in importlib.metadata.entry_points(group="console_scripts")
        if e.name == "keras-hpo"
    ]
    assert entry.value == "keras_hpo.cli:main"


# -- the wheel ---------------------------------------------------------------------


def source_copy(destination: Path) -> Path:
    """The project's own files (tracked or not ignored), without build leftovers.

    Building in the checkout would reuse its build/ folder, whose stale files
    can end up in the wheel.
    """
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if listed.returncode != 0:  # not a git checkout: copy all but the leftovers
        leftovers = shutil.ignore_patterns(
            ".git", "build", "dist", "*.egg-info", "__pycache__", "keras_hpo_results"
        )
        shutil.copytree(REPO, destination, ignore=leftovers, dirs_exist_ok=True)
        return destination
    for name in listed.stdout.splitlines():
        source = REPO / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = source_copy(tmp_path_factory.mktemp("source"))
    out = tmp_path_factory.mktemp("wheel")
    done = run_python(
        [
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("keras_hpo-0.1.0-*.whl")
    return built


def test_the_wheel_holds_keras_hpo_callbacks_and_no_top_level_callbacks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    packages = sorted(
        {name.rsplit("/", 1)[0] for name in names if name.endswith("/__init__.py")}
    )
    assert packages == [
        "keras_hpo",
        "keras_hpo/analysis",
        "keras_hpo/callbacks",
        "keras_hpo/distributed",
        "keras_hpo/fused",
        "keras_hpo/hypermodels",
        "keras_hpo/oracles",
        "keras_hpo/search_space",
        "keras_hpo/stopping",
        "keras_hpo/tuners",
    ]
    # Every package of the repository is in it (pyproject.toml lists them
    # one by one; keras_hpo.fused was once left out, so `pip install .`
    # could not import HyperMLP).
    inits = (REPO / "keras_hpo").rglob("__init__.py")
    in_repo = {str(p.parent.relative_to(REPO)) for p in inits}
    assert in_repo | {"keras_hpo/callbacks"} == set(packages)
    for path in (
        "keras_hpo/__init__.py",
        "keras_hpo/cli.py",
        "keras_hpo/callbacks/__init__.py",
        "keras_hpo/callbacks/reporting.py",
        "keras_hpo/callbacks/recording.py",
        "keras_hpo/callbacks/base.py",
        "keras_hpo/hypermodels/mlp.py",
        "keras_hpo/tuners/base.py",
    ):
        assert path in names, path
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"keras_hpo", "keras_hpo-0.1.0.dist-info"}
    assert not any(name.startswith("callbacks/") for name in names)
    assert not any(name.startswith(("tests/", "examples/")) for name in names)
    # The wheel's callbacks are the repository's callbacks/ folder.
    with zipfile.ZipFile(wheel) as archive:
        for source in sorted((REPO / "callbacks").glob("*.py")):
            packed = archive.read(f"keras_hpo/callbacks/{source.name}")
            assert packed == source.read_bytes(), source.name


def test_the_wheel_declares_the_console_script_and_metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read("keras_hpo-0.1.0.dist-info/entry_points.txt")
        metadata = archive.read("keras_hpo-0.1.0.dist-info/METADATA").decode()
    assert entry_points.decode().split("\n")[:2] == [
        "[console_scripts]",
        "keras-hpo = keras_hpo.cli:main",
    ]
    assert "Name: keras-hpo\n" in metadata
    assert "Version: 0.1.0\n" in metadata
    assert "Requires-Python: >=3.10\n" in metadata
    requirements = {
        line.split(": ", 1)[1].split(">")[0].split(";")[0].strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    }
    assert requirements == {
        "tensorflow",
        "keras",
        "keras-tuner",
        "numpy",
        "tensorboard",
        "scikit-learn",
        "scipy",
        "grpcio",
        "protobuf",
    }


def test_the_installed_wheel_imports_keras_hpo_callbacks(wheel, tmp_path):
    target = tmp_path / "site"
    done = run_python(
        [
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    # PYTHONPATH comes before the editable install, so the wheel's copy wins.
    done = run_python(
        [
            "-c",
            "import keras_hpo.callbacks as c, keras_hpo.callbacks.reporting as r; "
            "print(c.__file__); print(r.ProgressPrinter.__module__); "
            "import importlib.util as u; print(u.find_spec('callbacks'))",
        ],
        env={"PYTHONPATH": str(target)},
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [
        str(target / "keras_hpo" / "callbacks" / "__init__.py"),
        "keras_hpo.callbacks.reporting",
        "None",
    ]
    assert (target / "bin" / "keras-hpo").is_file()
    assert not (target / "callbacks").exists()


def test_python_requirement_and_dependencies_are_declared():
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
        "grpcio",
        "protobuf",
    }
    assert meta["scripts"] == {"keras-hpo": "keras_hpo.cli:main"}
    test_extras = {d.split(">")[0] for d in meta["optional-dependencies"]["test"]}
    # pytest-xdist: the README's test command asks for two processes (-n 2).
    assert {"pytest", "pytest-xdist", "setuptools", "wheel"} <= test_extras
    # keras-hpo report draws with matplotlib, an extra of its own.
    assert meta["optional-dependencies"]["report"] == ["matplotlib>=3.7"]
    # The other Keras backends: each extra adds its framework and six, which
    # keras-tuner imports without declaring it (TensorFlow brings it itself).
    assert meta["optional-dependencies"]["jax"] == ["jax>=0.4.30", "six>=1.16"]
    assert meta["optional-dependencies"]["torch"] == ["torch>=2.1", "six>=1.16"]
