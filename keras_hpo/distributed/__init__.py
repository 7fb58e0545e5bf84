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

# Loaded when first used: `launch` and `settings` need neither TensorFlow nor
# keras-tuner, so ``keras-hpo launch`` starts its processes without
# importing them itself.
_EXPORTS = {
    "ChiefServer": "keras_hpo.distributed.chief",
    "ChiefUnreachable": "keras_hpo.distributed.client",
    "Cluster": "keras_hpo.distributed.settings",
    "Lease": "keras_hpo.distributed.client",
    "LeaseLost": "keras_hpo.distributed.client",
    "WorkerOracle": "keras_hpo.distributed.client",
    "WorkerProcesses": "keras_hpo.distributed.launch",
    "launch": "keras_hpo.distributed.launch",
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
