"""Every private keras-tuner, Keras and TensorFlow symbol we use still exists.

`keras_hpo.compat` is the only place that reaches them; each one listed
there is resolved here against the installed versions, so an upgrade that
removes or renames one fails here, by name, before anything else breaks.
"""

from __future__ import annotations

import inspect

import keras_tuner
import pytest

from keras_hpo import compat


@pytest.mark.parametrize(
    ("module", "path"),
    compat.PRIVATE_SYMBOLS + compat.HOOKS,
    ids=[f"{m}:{p}" for m, p in compat.PRIVATE_SYMBOLS + compat.HOOKS],
)
def test_each_private_symbol_is_still_there(module, path):
    try:
        compat.resolve(module, path)
    except (ImportError, AttributeError) as err:
        pytest.fail(
            f"{module}:{path} is gone ({type(err).__name__}: {err}). An upgrade "
            "removed a private symbol keras_hpo uses: adapt keras_hpo/compat.py."
        )


@pytest.mark.parametrize(("module", "path"), compat.HOOKS, ids=lambda v: str(v))
def test_each_hook_we_override_is_still_called(module, path):
    """keras-tuner's own code still calls the hooks our subclasses override."""
    owner = compat.resolve(module, path.rsplit(".", 1)[0])
    source = inspect.getsource(owner)
    hook = path.rsplit(".", 1)[1]
    assert f"self.{hook}(" in source, f"keras-tuner no longer calls {path}"


def _tuner(directory):
    import keras_hpo

    return keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=1,
        directory=directory,
        project_name="p",
        verbose=0,
    )


@pytest.mark.parametrize("name", compat.ORACLE_ATTRIBUTES)
def test_each_private_oracle_attribute_is_still_set(tmp_path, name):
    """Set by keras-tuner's own Oracle, built or given a project folder."""
    plain = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    given = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    given._set_project_dir(str(tmp_path / "plain"), "p")
    oracle = _tuner(tmp_path).oracle
    assert hasattr(oracle, name), f"keras-tuner's Oracle no longer sets {name}"
    assert hasattr(plain, name) or hasattr(given, name)


def test_the_accessors_work_on_the_installed_versions(tmp_path):
    assert compat.has_chief_oracle() is False and compat.is_chief_oracle() is False
    objective = compat.create_objective("val_accuracy")
    assert compat.is_objective(objective) and objective.direction == "max"
    assert not compat.is_objective("val_accuracy")
    metrics = {"val_accuracy": 0.5}
    compat.validate_trial_results(metrics, objective, "run_trial")
    assert compat.get_best_step(metrics, objective) == 0
    assert compat.convert_to_metrics_dict(metrics, objective) == metrics
    registry = compat.gradient_registry()
    assert isinstance(registry, dict) and registry
    tuner = _tuner(tmp_path)
    assert compat.tuner_file(tuner) == str(tmp_path / "p" / "tuner0.json")
    assert compat.oracle_file(tuner.oracle) == str(tmp_path / "p" / "oracle.json")
    assert compat.oracle_project_dir(tuner.oracle) == str(tmp_path / "p")
    assert compat.oracle_project_path(tuner.oracle) == str(tmp_path / "p")
    plain = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=1)
    assert compat.oracle_project_path(plain) is None
    assert compat.retry_queue(tuner.oracle) == []
    assert compat.is_worker(tuner) is False


def test_a_copied_space_is_keras_tuner_s_copy_and_independent():
    hp = keras_tuner.HyperParameters()
    hp.Int("layers", 1, 3)
    hp.Choice("activation", ["relu", "tanh"])
    with hp.conditional_scope("layers", [2, 3]):
        hp.Float("dropout", 0.0, 0.5, step=0.1)
    hp.Fixed("batch_size", 32)
    hp.values["layers"] = 2
    copy = compat.copy_hyperparameters(hp)
    assert type(copy) is keras_tuner.HyperParameters
    assert copy.get_config() == hp.copy().get_config()
    assert [p.conditions for p in copy.space][2][0].get_config() == (
        hp.space[2].conditions[0].get_config()
    )
    copy.values["layers"] = 3
    compat.set_fixed_value(copy, "batch_size", 64)
    assert hp.values["layers"] == 2 and hp.get("batch_size") == 32
    assert not any(a is b for a, b in zip(copy.space, hp.space, strict=True))
