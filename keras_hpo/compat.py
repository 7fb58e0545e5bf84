"""Every private keras-tuner, Keras and TensorFlow symbol keras_hpo touches.

keras_hpo builds on keras-tuner's Oracle/Tuner and on Keras' weights files,
and a few things it needs are not public there. They are reached only
through this module, so an upgrade that removes one breaks here, by name,
and `tests/test_compat.py` fails loudly for each symbol of `PRIVATE_SYMBOLS`
(it resolves every one against the installed versions).

This module owns the access paths and nothing else: it must not hold logic
of its own beyond reaching the symbol.

Two kinds of use:

* calls and attributes, through the functions below;
* hooks keras_hpo *overrides* (``Tuner._populate_initial_space``,
  ``Oracle._record_values``, ``Oracle._save_trial``,
  ``Oracle._check_consecutive_failures``): they are defined in our
  subclasses and keras-tuner calls them; they are listed here so the test
  notices when keras-tuner stops calling them (a renamed hook would silently
  never run).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = [
    "HOOKS",
    "ORACLE_ATTRIBUTES",
    "PRIVATE_SYMBOLS",
    "activate_all_conditions",
    "convert_to_metrics_dict",
    "copy_hyperparameters",
    "create_objective",
    "get_best_step",
    "gradient_registry",
    "has_chief_oracle",
    "is_chief_oracle",
    "is_objective",
    "is_worker",
    "oracle_client_class",
    "oracle_service",
    "oracle_servicer_class",
    "load_weights_only",
    "oracle_display",
    "oracle_file",
    "oracle_project_dir",
    "oracle_project_path",
    "oracle_trial_dir",
    "remember_values",
    "resolve",
    "retry_queue",
    "save_weights_only",
    "set_fixed_value",
    "set_keras_global_seed",
    "set_seed_state",
    "symbolic_build",
    "tuner_file",
    "validate_trial_results",
]

#: Private module-level symbols: ``(module, attribute path)``.
PRIVATE_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("keras_tuner.src.distribute.utils", "has_chief_oracle"),
    ("keras_tuner.src.distribute.utils", "is_chief_oracle"),
    ("keras_tuner.src.distribute.oracle_chief", "OracleServicer"),
    ("keras_tuner.src.distribute.oracle_client", "OracleClient"),
    ("keras_tuner.src.protos", "get_service"),
    ("keras_tuner.src.protos", "get_service_grpc"),
    ("keras_tuner.src.engine.tuner_utils", "validate_trial_results"),
    ("keras_tuner.src.engine.tuner_utils", "get_best_step"),
    ("keras_tuner.src.engine.tuner_utils", "convert_to_metrics_dict"),
    ("keras_tuner.src.engine.objective", "Objective"),
    ("keras_tuner.src.engine.objective", "create_objective"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner._get_tuner_fname"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner._is_worker"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner._activate_all_conditions"),
    ("keras_tuner.src.engine.oracle", "Oracle._get_oracle_fname"),
    ("keras_tuner.src.engine.oracle", "Oracle._get_trial_dir"),
    ("keras_tuner.src.engine.oracle", "Oracle._compute_values_hash"),
    ("keras.src.saving.saving_lib", "save_weights_only"),
    ("keras.src.saving.saving_lib", "load_weights_only"),
    ("keras.src.trainers.trainer", "Trainer._symbolic_build"),
    ("keras.src.backend.common", "global_state.set_global_attribute"),
    ("keras.src.utils.rng_utils", "GLOBAL_RANDOM_SEED"),
    ("keras.src.random.seed_generator", "GLOBAL_SEED_GENERATOR"),
    ("tensorflow.python.framework.ops", "_gradient_registry._registry"),
)

#: keras-tuner hooks our subclasses override: ``(module, attribute path)``.
HOOKS: tuple[tuple[str, str], ...] = (
    ("keras_tuner.src.engine.base_tuner", "BaseTuner._populate_initial_space"),
    ("keras_tuner.src.engine.oracle", "Oracle._record_values"),
    ("keras_tuner.src.engine.oracle", "Oracle._save_trial"),
    ("keras_tuner.src.engine.oracle", "Oracle._get_trial_dir"),
    ("keras_tuner.src.engine.oracle", "Oracle._check_consecutive_failures"),
)

#: Private attributes of a keras-tuner ``Oracle`` instance we read or set.
ORACLE_ATTRIBUTES = (
    "_retry_queue",
    "_tried_so_far",
    "_id_to_hash",
    "_seed_state",
    "_display",
    "_project_dir",
    "_directory",
    "_project_name",
)


def resolve(module: str, path: str) -> Any:
    """Imports ``module`` and follows the dotted attribute ``path`` in it.

    Raises:
        ImportError: If the module is gone.
        AttributeError: If an attribute on the path is gone.
    """
    value: Any = importlib.import_module(module)
    for name in path.split("."):
        value = getattr(value, name)
    return value


# -- keras-tuner: chief/worker mode ---------------------------------------------
def has_chief_oracle() -> bool:
    """Whether this process is part of a keras-tuner chief/worker search."""
    return resolve("keras_tuner.src.distribute.utils", "has_chief_oracle")()


def is_chief_oracle() -> bool:
    """Whether this process is the chief (it serves the oracle, trains nothing)."""
    return resolve("keras_tuner.src.distribute.utils", "is_chief_oracle")()


def oracle_servicer_class() -> type:
    """keras-tuner's gRPC servicer of a chief's oracle (``OracleServicer``)."""
    return resolve("keras_tuner.src.distribute.oracle_chief", "OracleServicer")


def oracle_client_class() -> type:
    """keras-tuner's worker-side proxy of the chief's oracle (``OracleClient``)."""
    return resolve("keras_tuner.src.distribute.oracle_client", "OracleClient")


def oracle_service() -> tuple[Any, Any]:
    """keras-tuner's oracle service: ``(messages module, gRPC module)``."""
    protos = importlib.import_module("keras_tuner.src.protos")
    return protos.get_service(), protos.get_service_grpc()


# -- keras-tuner: a user's run_trial's return value -----------------------------
def validate_trial_results(results: Any, objective: Any, where: str) -> None:
    """keras-tuner's check of what a ``run_trial`` returned."""
    resolve("keras_tuner.src.engine.tuner_utils", "validate_trial_results")(
        results, objective, where
    )


def get_best_step(results: Any, objective: Any) -> int:
    """The best epoch of a ``run_trial`` return value (0 for plain metrics)."""
    return resolve("keras_tuner.src.engine.tuner_utils", "get_best_step")(
        results, objective
    )


def convert_to_metrics_dict(results: Any, objective: Any) -> dict:
    """A ``run_trial`` return value as ``{metric: value}``."""
    return resolve("keras_tuner.src.engine.tuner_utils", "convert_to_metrics_dict")(
        results, objective
    )


# -- keras-tuner: objectives -----------------------------------------------------
def is_objective(value: Any) -> bool:
    """Whether ``value`` is a keras-tuner ``Objective``."""
    return isinstance(value, resolve("keras_tuner.src.engine.objective", "Objective"))


def create_objective(value: Any) -> Any:
    """keras-tuner's objective from a name (raises if no direction is known)."""
    return resolve("keras_tuner.src.engine.objective", "create_objective")(value)


# -- keras-tuner: the tuner's files and space -------------------------------------
def tuner_file(tuner: Any) -> str:
    """The tuner's state file (``<project>/<tuner_id>.json``)."""
    return tuner._get_tuner_fname()


def is_worker(tuner: Any) -> bool:
    """Whether the tuner is a worker of a chief/worker search."""
    return tuner._is_worker()


def activate_all_conditions(tuner: Any) -> None:
    """Builds with every condition true, to declare conditional entries."""
    tuner._activate_all_conditions()


# -- keras-tuner: the oracle's internals -----------------------------------------
def oracle_file(oracle: Any) -> str:
    """The oracle's state file (``oracle.json``)."""
    return oracle._get_oracle_fname()


def oracle_trial_dir(oracle: Any, trial_id: str) -> str:
    """A trial's folder, as the oracle names it."""
    return oracle._get_trial_dir(trial_id)


def oracle_project_dir(oracle: Any) -> str:
    """The project folder the oracle writes to."""
    return oracle._project_dir


def oracle_project_path(oracle: Any) -> str | None:
    """The project folder an oracle was given, without creating it.

    ``None`` for an oracle that was given none (a test's, or a worker's
    oracle built without a tuner).
    """
    directory = getattr(oracle, "_directory", None)
    if directory is None:
        return None
    return os.path.join(str(directory), oracle._project_name)


def oracle_display(oracle: Any) -> Any:
    """The oracle's console display (``on_trial_begin``, ``on_trial_end``)."""
    return oracle._display


def retry_queue(oracle: Any) -> list:
    """Trial IDs the oracle will hand out again (a list; may be changed)."""
    return oracle._retry_queue


def remember_values(oracle: Any, trial: Any) -> None:
    """Records a trial's values as tried (what ``_record_values`` does)."""
    key = oracle._compute_values_hash(trial.hyperparameters.values)
    oracle._tried_so_far.add(key)
    oracle._id_to_hash[trial.trial_id] = key


def set_fixed_value(hyperparameters: Any, name: str, value: Any) -> bool:
    """Makes the ``Fixed`` hyperparameter ``name`` hold ``value``, in place.

    keras-tuner has no way to change a declared hyperparameter: registering
    ``name`` again keeps the first one. Every ``Fixed`` of that name in
    ``hyperparameters`` (a space: ``HyperParameters._hps``) gets the value,
    and so does its active value.

    Returns:
        Whether ``name`` is a ``Fixed`` hyperparameter there (only then is
        anything changed).
    """
    fixed = [
        hp for hp in hyperparameters._hps.get(name, ()) if type(hp).__name__ == "Fixed"
    ]
    for hp in fixed:
        hp.value = value
    if fixed and name in hyperparameters.values:
        hyperparameters.values[name] = value
    return bool(fixed)


def copy_hyperparameters(hyperparameters: Any) -> Any:
    """A copy of a space and its values, as ``HyperParameters.copy()`` makes.

    keras-tuner's copy goes through Keras' generic deserialisation (a
    signature inspection per hyperparameter), about 0.25 ms for `HyperMLP`'s
    space; each hyperparameter's own ``from_config`` gives the same copy in
    a quarter of that. The chief makes one per trial it hands out.
    """
    import keras_tuner

    copy = keras_tuner.HyperParameters()
    for hp in hyperparameters.space:
        twin = type(hp).from_config(hp.get_config())
        copy._hps[twin.name].append(twin)
        copy._space.append(twin)
    copy.values = dict(hyperparameters.values)
    return copy


def set_seed_state(oracle: Any, seed: Any) -> None:
    """Sets the seed keras-tuner's random draws start from."""
    oracle._seed_state = seed


# -- Keras: weights files without the optimizer ------------------------------------
def save_weights_only(model: Any, path: str, objects_to_skip: list) -> None:
    """Keras' weights writer, skipping objects (e.g. the optimizer)."""
    resolve("keras.src.saving.saving_lib", "save_weights_only")(
        model, path, objects_to_skip=objects_to_skip
    )


def load_weights_only(model: Any, path: str, objects_to_skip: list) -> None:
    """Keras' weights reader, skipping objects (e.g. the optimizer)."""
    resolve("keras.src.saving.saving_lib", "load_weights_only")(
        model, path, objects_to_skip=objects_to_skip
    )


# -- Keras: a model's training state, built before its first step ------------------
def symbolic_build(model: Any, data_batch: tuple) -> None:
    """Keras' build of a compiled model's state from a batch's shapes.

    What ``fit`` builds in its first step: the layers, the compiled metrics
    and loss, and the optimizer (``data_batch`` is ``(x, y, sample_weight)``).
    """
    model._symbolic_build(data_batch=data_batch)


# -- Keras: its global random state ------------------------------------------------
def set_keras_global_seed(seed: int) -> None:
    """Keras' global seed, and a fresh global seed generator drawn from it later.

    What ``keras.utils.set_random_seed`` sets in Keras' own state (it seeds
    Python, NumPy and TensorFlow besides).
    """
    state = resolve("keras.src.backend.common", "global_state")
    state.set_global_attribute(
        resolve("keras.src.utils.rng_utils", "GLOBAL_RANDOM_SEED"), seed
    )
    state.set_global_attribute(
        resolve("keras.src.random.seed_generator", "GLOBAL_SEED_GENERATOR"), None
    )


# -- TensorFlow: the process-wide gradient registry --------------------------------
def gradient_registry() -> dict | None:
    """TensorFlow's registry of gradient functions, or ``None`` without it."""
    try:
        registry = resolve("tensorflow.python.framework.ops", "_gradient_registry")
    except ImportError:  # pragma: no cover - TensorFlow without its internals
        return None
    names = getattr(registry, "_registry", None)
    return names if isinstance(names, dict) else None
