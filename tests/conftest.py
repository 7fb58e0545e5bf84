"""Shared fixtures: quiet TensorFlow, small data, the offline data sets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def shared_datasets() -> Path:
    """The offline MNIST / Fashion-MNIST copies in ../shared/datasets."""
    override = os.environ.get("KERAS_HPO_SHARED_DATASETS")
    path = Path(override) if override else REPO.parent / "shared" / "datasets"
    if not (path / "mnist-idx").is_dir():
        pytest.fail(
            f"The offline data sets are missing: {path} has no mnist-idx/. CI and "
            "developers keep ../shared beside the checkout; set "
            "KERAS_HPO_SHARED_DATASETS to point elsewhere."
        )
    return path


@pytest.fixture(scope="session")
def mnist_idx_dir() -> Path:
    """Folder of LeCun's four MNIST idx files."""
    return shared_datasets() / "mnist-idx"


@pytest.fixture(scope="session")
def keras_home(tmp_path_factory) -> Path:
    """A KERAS_HOME whose cache holds Fashion-MNIST, so Keras' loader runs offline.

    Keras reads KERAS_HOME when it is imported, so use it in subprocesses.
    """
    home = tmp_path_factory.mktemp("keras_home")
    source = shared_datasets() / "keras_home" / "datasets" / "fashion-mnist"
    target = home / "datasets" / "fashion-mnist"
    target.mkdir(parents=True)
    for file in source.glob("*.gz"):
        shutil.copy(file, target / file.name)
    return home


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits, scaled, split into train and validation."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype("float32")
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def digits_tuner(directory: str):
    """A 12-trial random search of HyperMLP on digits, TensorBoard on."""
    import keras_hpo

    return keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10),
        max_trials=12,
        seed=1,
        directory=directory,
        project_name="digits",
        refit=False,
        verbose=0,
    )


@pytest.fixture(scope="session")
def finished_digits_search(tmp_path_factory, digits):
    """`digits_tuner` after its search (2 epochs): ``(tuner, (x_test, y_test))``.

    Shared by the analyses and the report (about 18 s); tests that write
    into its project write only files of their own.
    """
    x_train, x_test, y_train, y_test = digits
    tuner = digits_tuner(str(tmp_path_factory.mktemp("finished_digits")))
    tuner.search(x_train, y_train, validation_split=0.2, epochs=2)
    return tuner, (x_test, y_test)


@pytest.fixture
def tiny_classification():
    """200 samples of 8 features, 3 classes: fast enough for many trials."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    return x, y


def installed(module: str) -> bool:
    """Whether ``module`` can be imported here (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def run_python(args: list[str], env: dict | None = None, timeout: int = 600, cwd=None):
    """Runs ``python args...`` in a subprocess and returns the completed process."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd or REPO,
    )


def untrainable_mlp(**kwargs):
    """A HyperMLP whose every trial fails in fit (``this model cannot be trained``)."""
    import keras_hpo

    class Untrainable(keras_hpo.HyperMLP):
        def fit(self, hp, model, *args, **kwargs):
            raise ValueError("this model cannot be trained.")

    return Untrainable(**kwargs)
