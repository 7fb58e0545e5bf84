"""A search script for the multi-worker tests (run as a process).

``python tests/workers_script.py DIR [--max-trials N] [--epochs N]
[--workers N] [--sleep S]`` runs a seeded `RandomSearch` of a small
`HyperMLP` on digits in ``DIR/search``. Under keras-tuner's variables it is
a chief or a worker (as ``keras-hpo launch`` starts it); with ``--workers``
it serves and starts that many workers itself (``search(workers=N)``).
``--sleep`` makes every epoch last at least that many seconds (so a test
can kill a process mid-trial). ``--record-stopper PATH`` gives the search a
stopper that never stops a trial but appends, to ``PATH.<tuner ID>``, one
JSON line per question: the trial, its epochs, and the other trials' curves
it was given (running ones marked). ``--stall S`` makes the worker that
finishes a trial first wait S seconds after it renewed the lease for the
writes (a slow shared disk, a long pause): with S longer than the lease,
the trial goes to the other worker before the first one writes its files.
``--checkpoint`` is the tuner's ``checkpoint=``, ``--isolate`` sets
``isolate_trials=True``. When the search ends, the
chief (or the one process) prints ``RESULT <json>`` with the trial IDs and
scores it sees.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--max-trials", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--record-stopper", default=None)
    parser.add_argument("--stall", type=float, default=0.0)
    parser.add_argument("--checkpoint", default="best")
    parser.add_argument("--isolate", action="store_true")
    args = parser.parse_args()
    if args.stall and os.environ.get("KERASTUNER_TUNER_ID", "").startswith("worker"):
        stall_once(args.stall, args.directory + ".stalled")

    import keras

    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(args.sleep)

    tuner = search(
        args.directory,
        args.max_trials,
        args.epochs,
        workers=args.workers,
        callbacks=[Slow()] if args.sleep else None,
        stopper=recording_stopper(args.record_stopper) if args.record_stopper else None,
        checkpoint=args.checkpoint,
        isolate_trials=args.isolate,
    )
    print("RESULT " + json.dumps(results(tuner)), flush=True)


def recording_stopper(path: str):
    """A stopper that records what it is asked (see the module docstring)."""
    from keras_hpo.stopping import Stopper

    class Recording(Stopper):
        def should_stop(self, trial_id, epochs, curves):
            record = {
                "trial": trial_id,
                "epochs": epochs,
                "others": {
                    other: {"values": list(c.values), "finished": c.finished}
                    for other, c in curves.items()
                    if other != trial_id
                },
            }
            name = os.environ.get("KERASTUNER_TUNER_ID", "one")
            with open(f"{path}.{name}", "a") as out:
                out.write(json.dumps(record) + "\n")
            return False

    return Recording()


def stall_once(seconds: float, marker: str) -> None:
    """The first trial that a worker of the search finishes waits ``seconds``
    between its lease's last renewal and the writes of its files (see the
    module docstring); ``marker``, made by that worker, says it happened."""
    from keras_hpo.tuners.workers import MultiWorker

    renew = MultiWorker._still_held

    def still_held_then_stall(self, trial):
        held = renew(self, trial)
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return held  # another trial, or another worker's
        print(
            f"stalling {seconds:g}s before writing trial {trial.trial_id}", flush=True
        )
        time.sleep(seconds)
        return held

    MultiWorker._still_held = still_held_then_stall


def search(
    directory,
    max_trials=4,
    epochs=2,
    stopper=None,
    checkpoint="best",
    isolate_trials=False,
    **search_kwargs,
):
    """The seeded search, in ``directory/search``; returns its tuner."""
    from sklearn.datasets import load_digits

    import keras_hpo

    x, y = load_digits(return_X_y=True)
    x = (x[:600] / 16.0).astype("float32")
    y = y[:600]
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=10, num_layers=1, units=[8, 16, 32]),
        max_trials=max_trials,
        seed=7,
        directory=directory,
        project_name="search",
        refit=False,
        verbose=1,
        stopper=stopper,
        checkpoint=checkpoint,
        isolate_trials=isolate_trials,
    )
    tuner.search(
        x, y, validation_split=0.25, epochs=epochs, batch_size=64, **search_kwargs
    )
    return tuner


def results(tuner) -> dict:
    """Trial ID -> number, score and status, as the tuner sees them."""
    return {
        r.trial_id: {"number": r.number, "score": r.score, "status": r.status.value}
        for r in tuner.result_store.results()
    }


if __name__ == "__main__":
    main()
