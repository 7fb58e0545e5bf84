"""What travels between the chief and the workers, besides keras-tuner's calls.

keras-tuner's service (``GetSpace``, ``CreateTrial``, ``UpdateTrial``,
``EndTrial``, ``GetTrial``, ``GetBestTrials``...) carries the trials. Every
call also carries two metadata entries: the shared token (when one is set)
and the caller's tuner ID, so the chief knows which worker speaks. Two
answers carry more, as trailing metadata: ``CreateTrial`` the trial's number
in the search, and ``EndTrial`` the ended trial as the oracle scored it (a
serialised ``GetTrialResponse``, when under `ENDED_MAX_BYTES`), which a
worker reads right after ending it; otherwise it asks with ``GetTrial``.
keras_hpo adds one small service beside keras-tuner's, ``keras_hpo.Chief``,
whose messages are JSON:

* ``Hello`` (``{}``) -> ``{"seed": int, "lease": seconds}``: what a worker
  needs to train trials exactly as a single process would.
* ``Renew`` (``{"trial_id"}``) -> ``{"held": bool, "number": int}``: the
  heartbeat; ``held`` is false when the trial's lease was lost (handed to
  another worker), ``number`` is the trial's number in the search.
* ``Release`` (``{"trial_id"}``) -> ``{}``: a worker gives a trial back at
  once (it is failing), instead of letting its lease expire.
* ``Progress`` (``{"trial_id", "execution", "values"}``) ->
  ``{"curves": {trial_id: values}}``: after an epoch, a worker whose search
  has a stopper gives its running trial's objective curve (lower is better)
  and gets those of the other running trials, of the same execution.

It owns these names and encodings and nothing else.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ENDED_KEY",
    "ENDED_MAX_BYTES",
    "EXTENSION",
    "NUMBER_KEY",
    "TOKEN_KEY",
    "TUNER_ID_KEY",
    "decode",
    "encode",
    "method",
]

#: gRPC metadata key of the shared token.
TOKEN_KEY = "keras-hpo-token"
#: gRPC metadata key of the caller's tuner ID.
TUNER_ID_KEY = "keras-hpo-tuner-id"
#: gRPC trailing metadata key of a created trial's number (``CreateTrial``).
NUMBER_KEY = "keras-hpo-trial-number"
#: gRPC trailing metadata key of an ended trial (``EndTrial``); binary.
ENDED_KEY = "keras-hpo-ended-trial-bin"
#: The largest ended trial sent with ``EndTrial``'s answer, in bytes: gRPC
#: refuses metadata over 8 KiB (base64 on the wire makes 2 KiB about 2.7).
#: A `HyperMLP` trial is about 0.5 KiB; a larger one is asked for.
ENDED_MAX_BYTES = 2048
#: The name of keras_hpo's own service on the chief.
EXTENSION = "keras_hpo.Chief"


def method(name: str) -> str:
    """The full gRPC method path of one of the extension's calls."""
    return f"/{EXTENSION}/{name}"


def encode(message: dict[str, Any]) -> bytes:
    """A message as bytes on the wire."""
    return json.dumps(message).encode("utf-8")


def decode(data: bytes) -> dict[str, Any]:
    """Bytes from the wire as a message."""
    return json.loads(data.decode("utf-8")) if data else {}
