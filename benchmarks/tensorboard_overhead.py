"""Cost of our TensorBoard logging per epoch, against training with no callbacks.

Trains the same small MLP on digits (same seed, same data) alternately with no
callbacks and with the Keras callbacks our tuners add to every trial for
TensorBoard (`EpochTensorBoard`, writing every metric, the epoch time,
samples per second and the learning rate, flushed each epoch). Two numbers:

* the A/B ratio: median wall time per epoch with the callbacks over without,
  over ``--repeats`` alternating runs;
* the time spent inside the callbacks themselves (timed around each hook),
  as a share of the epoch time: the same cost without the noise of two
  separate runs.

Target (issue 4): less than 5% of training wall time per epoch.

Run:
    python benchmarks/tensorboard_overhead.py            # 7 repeats x 20 epochs
    python benchmarks/tensorboard_overhead.py --quick    # 2 repeats x 3 epochs

Writes ``benchmarks/results/tensorboard_overhead.json`` and ``.md`` (or under
``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from common import device  # noqa: E402
from common import versions  # noqa: E402
from keras_hpo.callbacks import EpochTensorBoard  # noqa: E402

from keras_hpo.datasets import load_dataset  # noqa: E402


class Timed(keras.callbacks.Callback):
    """Runs a callback and adds up the time spent in its epoch hooks."""

    def __init__(self, inner: keras.callbacks.Callback):
        super().__init__()
        self.inner = inner
        self.seconds = 0.0

    def set_model(self, model):
        """Passes the model on."""
        self.inner.set_model(model)

    def set_params(self, params):
        """Passes the params on."""
        self.inner.set_params(params)

    def _timed(self, hook, *args):
        start = time.perf_counter()
        getattr(self.inner, hook)(*args)
        self.seconds += time.perf_counter() - start

    def on_train_begin(self, logs=None):
        """Times the inner hook."""
        self._timed("on_train_begin", logs)

    def on_epoch_begin(self, epoch, logs=None):
        """Times the inner hook."""
        self._timed("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        """Times the inner hook."""
        self._timed("on_epoch_end", epoch, logs)

    def on_train_end(self, logs=None):
        """Times the inner hook."""
        self._timed("on_train_end", logs)


def model(input_dim: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    net = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    net.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return net


def fit(data, epochs: int, callbacks: list) -> float:
    """Seconds per epoch of one training."""
    net = model(data.x_train.shape[1])
    start = time.perf_counter()
    net.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=callbacks,
    )
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="2 repeats x 3 epochs")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.epochs = 2, 3
    data = load_dataset("digits")
    fit(data, 1, [])  # warm-up: the first fit builds and traces the graph
    plain, logged, inside = [], [], []
    with tempfile.TemporaryDirectory() as log_dir:
        for repeat in range(args.repeats):
            plain.append(fit(data, args.epochs, []))
            timed = Timed(
                EpochTensorBoard(
                    os.path.join(log_dir, f"run_{repeat}"), len(data.x_train)
                )
            )
            logged.append(fit(data, args.epochs, [timed]))
            inside.append(timed.seconds / args.epochs)
    ratio = statistics.median(logged) / statistics.median(plain)
    share = statistics.median(inside) / statistics.median(plain)
    report = {
        "benchmark": "tensorboard_overhead",
        "date": time.strftime("%Y-%m-%d"),
        "device": device(),
        "versions": versions(),
        "repeats": args.repeats,
        "epochs": args.epochs,
        "seconds_per_epoch_plain": plain,
        "seconds_per_epoch_logged": logged,
        "seconds_per_epoch_in_callbacks": inside,
        "ab_ratio": ratio,
        "callback_share": share,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tensorboard_overhead.json").write_text(json.dumps(report, indent=1))
    lines = [
        f"TensorBoard logging overhead: digits MLP, {args.repeats} x "
        f"{args.epochs} epochs; {report['device']}, {report['date']}",
        "",
        "| | seconds per epoch (median) |",
        "|---|---|",
        f"| no callbacks | {statistics.median(plain):.4f} |",
        f"| with EpochTensorBoard | {statistics.median(logged):.4f} |",
        f"| inside EpochTensorBoard | {statistics.median(inside):.5f} |",
        "",
        f"A/B: {100 * (ratio - 1):+.1f}% wall time per epoch; time inside the "
        f"callback: {100 * share:.2f}% of an epoch (target < 5%)",
    ]
    (out / "tensorboard_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
