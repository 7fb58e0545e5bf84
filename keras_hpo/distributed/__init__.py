"""Several processes, one search: keras-tuner's chief/worker engine, made whole.

* `settings`: who this process is (keras-tuner's environment variables and
  keras_hpo's token, lease and timeout).
* `chief`: `ChiefServer`, keras-tuner's oracle service with leases, a token
  and an end.
* `client`: `WorkerOracle`, a worker's view of the chief's oracle, and
  `Lease`, the heartbeat.
* `launch`: the processes (``keras-hpo launch``, ``search(workers=N)``).

The tuners use them in `keras_hpo.tuners.workers`; see the README's "Many
GPUs and machines".
"""

import importlib
from typing import Any

# Light parts, imported now; ``launch`` is bound to the function, not to the
# module of the same name.
from keras_hpo.distributed.launch import WorkerProcesses
from keras_hpo.distributed.launch import launch
from keras_hpo.distributed.settings import Cluster

# Loaded when first used: the chief and the client import keras-tuner and
# TensorFlow, which ``keras-hpo launch`` does not need to start its
# processes.
_EXPORTS = {
    "ChiefServer": "keras_hpo.distributed.chief",
    "ChiefUnreachable": "keras_hpo.distributed.client",
    "Lease": "keras_hpo.distributed.client",
    "LeaseLost": "keras_hpo.distributed.client",
    "WorkerOracle": "keras_hpo.distributed.client",
}

__all__ = [
    "ChiefServer",
    "ChiefUnreachable",
    "Cluster",
    "Lease",
    "LeaseLost",
    "WorkerOracle",
    "WorkerProcesses",
    "launch",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(
            f"module 'keras_hpo.distributed' has no attribute {name!r}"
        )
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
