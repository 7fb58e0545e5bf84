"""A real TensorBoard server started by ``keras-hpo tensorboard`` over our logs."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
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
    """A headless Chromium on the PATH; the test is skipped without one."""
    sys.path.insert(0, str(BENCHMARKS))
    from tensorboard_screenshot import CHROMIUMS
    from tensorboard_screenshot import find_chromium

    path = find_chromium()
    if path is None:
        pytest.skip(
            "needs chromium (install it with: apt-get install chromium): none "
            f"of {', '.join(CHROMIUMS)} is on the PATH"
        )
    return path


class DevTools:
    """A minimal client of the Chrome DevTools protocol over one WebSocket."""

    def __init__(self, url: str):
        parts = urllib.parse.urlsplit(url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {parts.path} HTTP/1.1\r\n"
                f"Host: {parts.hostname}:{parts.port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += self.read(1)
        assert head.split(b"\r\n")[0].split(b" ")[1] == b"101", head
        self.last_id = 0

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("Chromium closed the DevTools connection")
            data += chunk
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x81, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def receive(self) -> str:
        message = b""
        while True:
            first, second = self.read(2)
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self.read(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self.read(8))
            mask = self.read(4) if second & 0x80 else b""
            payload = self.read(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = first & 0x0F
            if opcode == 8:
                raise ConnectionError("Chromium closed the DevTools connection")
            if opcode in (9, 10):  # ping, pong
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def call(self, method: str, **params) -> dict:
        self.last_id += 1
        self.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:  # events come in between; skip them
            reply = json.loads(self.receive())
            if reply.get("id") == self.last_id:
                assert "error" not in reply, reply
                return reply["result"]

    def close(self) -> None:
        self.sock.close()


#: The text of the page as shown: every text node outside scripts and styles,
#: inside shadow roots (TensorBoard's Polymer dashboards) and frames too.
SHOWN_TEXT = """(() => {
  const parts = [];
  const visit = (root) => {
    const walker = (root.ownerDocument || root).createTreeWalker(
      root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const tag = node.parentNode && node.parentNode.nodeName;
      if (tag !== "SCRIPT" && tag !== "STYLE") parts.push(node.nodeValue);
    }
    for (const element of root.querySelectorAll("*")) {
      if (element.shadowRoot) visit(element.shadowRoot);
      if (element.tagName === "IFRAME") {
        try { if (element.contentDocument) visit(element.contentDocument); }
        catch (error) {}
      }
    }
  };
  visit(document);
  return parts.join("\\n");
})()"""


def shown_text(chromium: str, url: str, wanted: list[str], timeout=120) -> str:
    """The text headless Chromium shows at ``url``, once ``wanted`` is all in it.

    Polls the rendered page (scripts run) until every string of ``wanted``
    is shown or ``timeout`` seconds pass, and returns the last text read.
    """
    port = free_port()
    with tempfile.TemporaryDirectory() as profile:
        browser = subprocess.Popen(
            [
                chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--window-size=1600,900",
                f"--remote-debugging-port={port}",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + timeout
            pages = []
            while not pages:
                assert time.monotonic() < deadline, "Chromium's DevTools never answered"
                assert browser.poll() is None, f"Chromium exited: {browser.returncode}"
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/json/list", timeout=10
                    ) as response:
                        targets = json.load(response)
                except OSError:
                    targets = []
                pages = [t for t in targets if t["type"] == "page"]
                time.sleep(0.5)
            devtools = DevTools(pages[0]["webSocketDebuggerUrl"])
            try:
                while True:
                    text = devtools.call(
                        "Runtime.evaluate", expression=SHOWN_TEXT, returnByValue=True
                    )["result"].get("value", "")
                    if all(w in text for w in wanted) or time.monotonic() > deadline:
                        return text
                    time.sleep(1)
            finally:
                devtools.close()
        finally:
            browser.terminate()
            browser.wait(timeout=30)


@pytest.mark.slow
def test_screenshot_of_the_hparams_table(tmp_path, chromium, searched):
    # The page the screenshot takes, over this search: it shows the HParams
    # table, with the search's hyperparameters and objective (not an error).
    port = free_port()
    server = Server(searched.project_dir, port)
    # The five hyperparameters the table shows first, and the objective.
    wanted = ["learning_rate", "num_layers", "units", "dropout", "activation"]
    wanted += ["best/val_accuracy"]
    try:
        server.wait()
        text = shown_text(chromium, f"{server.url}/?darkMode=false#hparams", wanted)
    finally:
        server.stop()
    missing = [w for w in wanted if w not in text]
    assert not missing, (missing, text[-3000:])
    # The screenshot itself: a PNG of the window's size with a rendered table.
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
