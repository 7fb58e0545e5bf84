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

from keras_hpo.distributed.chief import ChiefServer
from keras_hpo.distributed.client import ChiefUnreachable
from keras_hpo.distributed.client import Lease
from keras_hpo.distributed.client import LeaseLost
from keras_hpo.distributed.client import WorkerOracle
from keras_hpo.distributed.launch import WorkerProcesses
from keras_hpo.distributed.launch import launch
from keras_hpo.distributed.settings import Cluster

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
