"""A screenshot of TensorBoard's HParams table for a small search.

Runs a random search on digits (TensorBoard logs on, as by default), serves
the logs with ``keras-hpo tensorboard`` on a free localhost port, and has
headless Chromium photograph the HParams dashboard, so a person can see what
a user sees: one row per trial, the important hyperparameters first.

Needs a Chromium (``chromium``, ``chromium-browser`` or ``google-chrome`` on
the PATH, or ``--chromium PATH``); on Debian/Ubuntu: ``apt-get install
chromium``.

Run:
    python benchmarks/tensorboard_screenshot.py
    python benchmarks/tensorboard_screenshot.py --trials 4 --epochs 2 --out shot.png

Writes ``benchmarks/results/hparams_table.png`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The first Chromium on the PATH, or ``None``."""
    for name in CHROMIUMS:
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def search(
    directory: str, trials: int, epochs: int, strategy: str = "random", **kwargs
) -> str:
    """A small search on digits (``"random"`` or ``"bayesian"``); its project.

    ``kwargs`` go to the tuner (``tensorboard_dir=None``...).
    """
    import keras_hpo
    from keras_hpo.datasets import load_dataset

    data = load_dataset("digits")
    tuners = {"random": keras_hpo.RandomSearch, "bayesian": keras_hpo.BayesianSearch}
    tuner = tuners[strategy](
        keras_hpo.HyperMLP(num_classes=data.num_classes),
        max_trials=trials,
        seed=1,
        directory=directory,
        project_name=f"digits_{strategy}",
        verbose=1,
        refit=False,  # the screenshot shows the trials
        **kwargs,
    )
    tuner.search(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=epochs,
    )
    return tuner.project_dir


def wait_for(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"TensorBoard exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"TensorBoard did not answer at {url}")


def screenshot(chromium: str, url: str, out: Path, size: str = "1600,900") -> None:
    """Loads ``url`` in headless Chromium and writes a PNG of the page."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                "--virtual-time-budget=20000",
                f"--screenshot={out}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--chromium", default=None, help="path of a Chromium")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "hparams_table.png")
    )
    args = parser.parse_args()
    chromium = args.chromium or find_chromium()
    if chromium is None:
        sys.exit(
            "No Chromium found: install one (apt-get install chromium) or pass "
            "--chromium PATH."
        )
    out = Path(args.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        project = search(directory, args.trials, args.epochs)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keras_hpo.cli",
                "tensorboard",
                project,
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/data/runs", server)
            screenshot(chromium, f"{base}/?darkMode=false#hparams", out)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
