"""What a fused training step costs, and what padding widths costs.

``fuse="auto"`` decides with `keras_hpo.fused.StepCost`: one training step
of a fused group costs ``fixed + per_mac * batch * K * sum(in_max *
out_max)``. This script measures the seconds per training step of
`FusedMLP` on digits (batch 32) for groups from one slice of 16 units to 32
slices of 512, fits ``fixed`` and ``per_mac`` by least squares, and prints
them beside the defaults keras_hpo ships, with each shape's measured and
predicted step time. It then measures padding: 16 widths drawn log-uniformly
from HyperMLP's default range (16-512, two layers) trained as one padded
group, against the sum of the same 16 trained one by one (each a one-slice
fused model, so only the grouping differs).

Run:
    python benchmarks/fused_padding.py            # about 2 minutes on 2 cores
    python benchmarks/fused_padding.py --quick    # two shapes, one padding check

Writes ``fused_padding.json`` and ``fused_padding.md`` under ``--out``
(default ``benchmarks/results``) with the date, commit and machine.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner  # noqa: E402
import numpy as np  # noqa: E402
from common import run_stamp  # noqa: E402
from common import versions  # noqa: E402
from common import write_results  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from keras_hpo import HyperMLP  # noqa: E402
from keras_hpo.fused import FusedMLP  # noqa: E402
from keras_hpo.fused.planning import StepCost  # noqa: E402

HERE = Path(__file__).parent
#: (slices, width of both hidden layers) measured for the fit.
SHAPES = [(1, 16), (1, 64), (8, 64), (32, 64), (1, 256), (32, 256), (8, 512), (32, 512)]
BATCH = 32


def _models(widths: list[int], seed: int = 0) -> list[keras.Model]:
    hypermodel = HyperMLP(
        num_classes=10, input_shape=(64,), num_layers=2, units=sorted(set(widths))
    )
    models = []
    for k, width in enumerate(widths):
        hp = keras_tuner.HyperParameters()
        hypermodel.declare_hyperparameters(hp)
        hp.values["units"] = width
        keras.utils.set_random_seed(seed + k)
        models.append(hypermodel.build(hp))
    return models


def step_seconds(widths: list[int], x, y, epochs: int) -> float:
    """Seconds per training step of one fused model of these widths."""
    fused = FusedMLP.from_models(_models(widths), seed=0)
    fused.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)  # traces
    start = time.perf_counter()
    fused.fit(x, y, epochs=epochs, batch_size=BATCH, verbose=0)
    steps = epochs * int(np.ceil(len(x) / BATCH))
    return (time.perf_counter() - start) / steps


def _shape(width: int) -> tuple[int, ...]:
    return (64, width, width, 10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args(argv)
    x, y = load_digits(return_X_y=True)
    x = (x / 16).astype("float32")
    shapes = [(1, 64), (8, 64)] if args.quick else SHAPES
    epochs = 1 if args.quick else args.epochs
    rows = []
    for slices, width in shapes:
        seconds = step_seconds([width] * slices, x, y, epochs)
        macs = StepCost(0.0, 1.0).group([_shape(width)] * slices, 1)
        rows.append({"slices": slices, "width": width, "macs": macs, "s": seconds})
        print(f"{slices} x {width}: {seconds * 1e3:.2f} ms per step", flush=True)
    design = np.array([[1.0, r["macs"] * BATCH] for r in rows])
    fixed, per_mac = np.linalg.lstsq(design, [r["s"] for r in rows], rcond=None)[0]
    fitted, shipped = StepCost(float(fixed), float(per_mac)), StepCost()
    for row in rows:
        shapes_of = [_shape(row["width"])] * row["slices"]
        row["fitted_s"] = fitted.group(shapes_of, BATCH)
        row["shipped_s"] = shipped.group(shapes_of, BATCH)
    rng = np.random.default_rng(0)
    count = 4 if args.quick else 16
    widths = [int(w) for w in np.exp(rng.uniform(np.log(16), np.log(512), count))]
    padded = step_seconds(widths, x, y, epochs)
    alone = sum(step_seconds([w], x, y, epochs) for w in widths)
    padding = {
        "widths": widths,
        "padded_group_s_per_step": padded,
        "one_by_one_s_per_step": alone,
        "ratio": alone / padded,
        "shipped_predicts_padded": shipped.group([_shape(w) for w in widths], BATCH),
        "shipped_predicts_one_by_one": shipped.separate(
            [_shape(w) for w in widths], BATCH
        ),
    }
    report = {
        "benchmark": "fused_padding",
        "stamp": run_stamp(),
        "versions": versions(),
        "batch": BATCH,
        "epochs_timed": epochs,
        "rows": rows,
        "fitted": {"fixed": fitted.fixed, "per_mac": fitted.per_mac},
        "shipped": {"fixed": shipped.fixed, "per_mac": shipped.per_mac},
        "padding": padding,
    }
    stamp = report["stamp"]
    lines = [
        f"Fused step cost on digits, batch {BATCH}; written {stamp['date']} at "
        f"commit {stamp['commit']} on {stamp['machine']}",
        "",
        f"Fitted: fixed {fitted.fixed * 1e3:.3f} ms, per multiply-add "
        f"{fitted.per_mac:.3g} s; shipped StepCost: fixed "
        f"{shipped.fixed * 1e3:.3f} ms, per multiply-add {shipped.per_mac:.3g} s.",
        "",
        "| slices x width (2 layers) | measured ms/step | fitted | shipped |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['slices']} x {r['width']} | {r['s'] * 1e3:.2f} | "
        f"{r['fitted_s'] * 1e3:.2f} | {r['shipped_s'] * 1e3:.2f} |"
        for r in rows
    ]
    predicted = (
        padding["shipped_predicts_one_by_one"] / padding["shipped_predicts_padded"]
    )
    lines += [
        "",
        f"Padding: {count} widths {widths} as one group padded to "
        f"{max(widths)}: {padded * 1e3:.2f} ms per step; one by one: "
        f"{alone * 1e3:.2f} ms per step in all, {padding['ratio']:.2f}x the "
        f"padded group's (StepCost predicts "
        f"{predicted:.2f}x)."
        " A step is not a trial: one by one, each trial also pays its own build, "
        "compile and tracing (about 1 s here), which a group pays once.",
    ]
    text = "\n".join(lines) + "\n"
    write_results(args.out, "fused_padding", report, text)
    print(text)


if __name__ == "__main__":
    main()
