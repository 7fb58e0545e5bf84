"""A screenshot of the HTML page `keras-hpo report` writes for a small search.

Runs a Bayesian search of HyperMLP on digits (or takes an existing project
folder with ``--project``), runs ``keras-hpo report`` on it into a temporary
folder (the project is left untouched), and has headless Chromium photograph
``index.html`` from the file system (the page needs no server, script or
network), so a person can see what a user sees: the plots and the trial
table, best first.

Needs matplotlib and a Chromium (``chromium``, ``chromium-browser`` or
``google-chrome`` on the PATH, or ``--chromium PATH``); on Debian/Ubuntu:
``apt-get install chromium``.

Run:
    python benchmarks/report_screenshot.py
    python benchmarks/report_screenshot.py --project keras_hpo_results/digits_bayesian
    python benchmarks/report_screenshot.py --trials 4 --epochs 2 --out shot.png

Writes ``benchmarks/results/report_page.png`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tensorboard_screenshot import find_chromium
from tensorboard_screenshot import screenshot
from tensorboard_screenshot import search

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: Chromium's window: the page's width and enough height for every plot and
#: the first rows of the trial table.
WINDOW = "1280,3900"


def bayesian_search(directory: str, trials: int, epochs: int) -> str:
    """A small Bayesian search on digits, no TensorBoard logs; its project."""
    return search(directory, trials, epochs, "bayesian", tensorboard_dir=None)


def report(project: str, output: str) -> Path:
    """Runs ``keras-hpo report PROJECT --output OUTPUT``; returns index.html."""
    done = subprocess.run(
        [sys.executable, "-m", "keras_hpo.cli", "report", project, "--output", output],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"keras-hpo report failed:\n{done.stderr}")
    print(done.stdout, end="")
    return Path(output, "index.html").resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--project", default=None, help="an existing project folder (no search)"
    )
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--chromium", default=None, help="path of a Chromium")
    parser.add_argument("--window-size", default=WINDOW, help="WIDTH,HEIGHT")
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "report_page.png")
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
        project = args.project or bayesian_search(directory, args.trials, args.epochs)
        index = report(project, os.path.join(directory, "report"))
        screenshot(chromium, index.as_uri(), out, size=args.window_size)
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
