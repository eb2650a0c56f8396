"""Test fixtures: a real tracevis server, and misbehaving fake servers.

The server binary comes from ``TRACEVIS_BIN``, else
``$CARGO_TARGET_DIR/release/tracevis``, else
``~/.cache/tracevis-target/release/tracevis`` (``debug`` when there is no
release build). It is started once per session on a free port with a fresh
SQLite database; tests read back through its JSON API.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tracevis


def find_server_binary() -> Path:
    env = os.environ.get("TRACEVIS_BIN")
    if env:
        return Path(env)
    roots = []
    if os.environ.get("CARGO_TARGET_DIR"):
        roots.append(Path(os.environ["CARGO_TARGET_DIR"]))
    roots.append(Path.home() / ".cache" / "tracevis-target")
    for root in roots:
        if (root / "release" / "tracevis").exists():
            return root / "release" / "tracevis"
    for root in roots:
        if (root / "debug" / "tracevis").exists():
            return root / "debug" / "tracevis"
    raise RuntimeError(
        "no tracevis server binary: set TRACEVIS_BIN, or build it into "
        "$CARGO_TARGET_DIR or ~/.cache/tracevis-target (release or debug)"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Api:
    """Reads back from the real server."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, method: str, path: str, body: object | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path: str):
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def trace(self, execution_id: str) -> dict:
        return self.get(f"/api/v1/executions/{execution_id}")

    def runs(self, graph_type: str) -> list[dict]:
        return self.get(f"/api/v1/executions?graph_type={graph_type}&limit=100")["executions"]

    def only_run(self, graph_type: str) -> dict:
        runs = self.runs(graph_type)
        assert len(runs) == 1, runs
        return self.trace(runs[0]["execution_id"])


@contextlib.contextmanager
def running_server(tmp: Path, database_url: str, *extra_args: str):
    """A tracevis server on a free port over ``database_url``; yields its URL
    once ``/healthz`` answers, stops it afterwards."""
    binary = find_server_binary()
    port = free_port()
    log = open(tmp / "server.log", "wb")
    env = dict(os.environ)
    env.setdefault("RUST_LOG", "warn")
    proc = subprocess.Popen(
        [str(binary), "serve", "--addr", f"127.0.0.1:{port}", "--database-url", database_url, *extra_args],
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"tracevis server exited with {proc.returncode}: {(tmp / 'server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    try:
        wait_until(healthy, timeout=60, interval=0.1, what="the server's /healthz")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> str:
    if os.environ.get("TRACEVIS_TEST_URL"):  # an already running server (development only)
        yield os.environ["TRACEVIS_TEST_URL"]
        return
    tmp = tmp_path_factory.mktemp("tracevis-server")
    with running_server(tmp, f"sqlite://{tmp}/t.db") as url:
        yield url


@pytest.fixture
def api(server) -> Api:
    return Api(server)


@pytest.fixture(autouse=True)
def fresh_client(request):
    """Every test starts with its own client (pointing at the real server when it uses one)."""
    url = request.getfixturevalue("server") if "server" in request.fixturenames or "api" in request.fixturenames else "http://127.0.0.1:9"
    tracevis.configure(url=url, token=None, queue_size=10_000, enabled=True, timeout=5.0, flush_interval=0.05)
    yield
    tracevis.flush(2.0)


@pytest.fixture
def graph_type() -> str:
    return "t_" + uuid.uuid4().hex[:12]


# -- misbehaving servers --------------------------------------------------------


class FakeServer:
    """An HTTP server answering every request with ``handler(self, path, body, headers)``."""

    def __init__(self, responder) -> None:
        self.requests: list[tuple[float, str, str, dict, bytes]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def _handle(self, method):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                outer.requests.append((time.monotonic(), method, self.path, dict(self.headers), body))
                status, headers, payload = responder(outer, method, self.path, body, self.headers)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class StallServer:
    """Accepts connections, reads, and answers nothing for ``stall`` seconds."""

    def __init__(self, stall: float = 30.0) -> None:
        self.stall = stall
        self.stop = threading.Event()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.2)
            try:
                conn.recv(65536)
            except OSError:
                pass
            self.stop.wait(self.stall)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def fake_server():
    servers = []

    def make(responder):
        s = FakeServer(responder)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


@pytest.fixture
def stall_server():
    s = StallServer(30.0)
    yield s
    s.close()


@pytest.fixture
def closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"
