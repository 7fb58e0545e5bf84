"""A real TensorBoard server started by ``keras-hpo tensorboard`` over our logs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import REPO
from conftest import run_python

import keras_hpo

BENCHMARKS = REPO / "benchmarks"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as handle:
            for line in list(handle)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if int(hex_port, 16) == port and state == "0A":  # LISTEN
                    found.add(address)
    return found


class Server:
    """``keras-hpo tensorboard DIR --port PORT`` in a subprocess."""

    def __init__(self, directory, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keras_hpo.cli",
                "tensorboard",
                str(directory),
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"TensorBoard exited: {self.process.stdout.read()}"
                )
            try:
                self.get("/data/runs")
                return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("TensorBoard did not answer in time")

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.load(response)

    def post(self, path: str, body: dict):
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.process.kill()
            self.process.wait()


@pytest.fixture
def searched(tmp_path, tiny_classification):
    x, y = tiny_classification
    tuner = keras_hpo.RandomSearch(
        keras_hpo.HyperMLP(num_classes=3),
        max_trials=3,
        seed=5,
        directory=tmp_path,
        verbose=0,
    )
    tuner.search(x, y, validation_split=0.25, epochs=3, batch_size=50)
    return tuner


def test_tensorboard_serves_every_trial_and_the_hparams(searched):
    port = free_port()
    server = Server(searched.project_dir, port)
    try:
        server.wait()
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1 only
        results = searched.results()
        trials = [f"trial_{r.trial_id}" for r in results]

        tags = server.get("/data/plugin/scalars/tags")
        for trial in trials:
            assert {"epoch_loss", "epoch_accuracy"} <= set(tags[f"{trial}/validation"])
            assert "epoch_learning_rate" in tags[f"{trial}/train"]
        assert set(tags["search"]) == {"search/objective", "search/best_so_far"}
        curve = server.get(
            f"/data/plugin/scalars/scalars?run={trials[1]}/validation"
            "&tag=epoch_accuracy"
        )
        assert [point[1] for point in curve] == [0, 1, 2]
        assert [point[2] for point in curve] == pytest.approx(
            results[1].history["val_accuracy"]
        )

        experiment = server.post(
            "/data/plugin/hparams/experiment", {"experimentName": ""}
        )
        names = {info["name"] for info in experiment["hparamInfos"]}
        assert names == set(results[0].values) | {"trial_status"}
        shown = [info["name"] for info in experiment["hparamInfos"]][:5]
        assert set(shown) == {
            "learning_rate",
            "num_layers",
            "units",
            "dropout",
            "activation",
        }
        groups = server.post(
            "/data/plugin/hparams/session_groups",
            {
                "experimentName": "",
                "allowedStatuses": [
                    "STATUS_UNKNOWN",
                    "STATUS_SUCCESS",
                    "STATUS_FAILURE",
                    "STATUS_RUNNING",
                ],
                "colParams": [],
                "startIndex": 0,
                "sliceSize": 100,
            },
        )["sessionGroups"]
        by_name = {group["name"]: group for group in groups}
        assert set(by_name) == set(trials)
        for trial, result in zip(trials, results, strict=True):
            group = by_name[trial]
            assert group["hparams"] == pytest.approx(
                dict(result.values, trial_status="completed")
            )
            [session] = group["sessions"]
            assert session["status"] == "STATUS_SUCCESS"
            metric = {
                (m["name"]["group"], m["name"]["tag"]): m["value"]
                for m in group["metricValues"]
            }
            assert metric[("", "best/val_accuracy")] == pytest.approx(result.score)
            assert metric[("validation", "epoch_loss")] == pytest.approx(
                result.history["val_loss"][-1]
            )
    finally:
        server.stop()
    assert server.process.returncode is not None


@pytest.fixture(scope="session")
def chromium() -> str:
    """A headless Chromium, installed with apt-get when missing (as root)."""
    sys.path.insert(0, str(BENCHMARKS))
    from tensorboard_screenshot import find_chromium

    path = find_chromium()
    if path is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"],
            capture_output=True,
            timeout=900,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        path = find_chromium()
    if path is None:
        pytest.skip(
            "No headless Chromium: it is not on the PATH and `apt-get install "
            "chromium` was not possible here (needs root and the package "
            "registry). Install one to take the HParams screenshot."
        )
    return path


@pytest.mark.slow
def test_screenshot_of_the_hparams_table(tmp_path, chromium):
    out = tmp_path / "hparams.png"
    done = run_python(
        [
            str(BENCHMARKS / "tensorboard_screenshot.py"),
            "--trials",
            "3",
            "--epochs",
            "1",
            "--chromium",
            chromium,
            "--out",
            str(out),
        ]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1600, 900)
    assert len(data) > 30_000  # a rendered table, not a blank page
