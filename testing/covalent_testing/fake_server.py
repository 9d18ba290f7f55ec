"""Scaffolding shared by the fake cloud batch services (there are no emulators for them).

Each fake is a small HTTP server in its own process, started by PID and stopped by
PID like the real peers. Besides the cloud API it serves ``/_fake/*`` control routes
for tests: ``stats`` (every request seen, with the status returned), ``jobs`` (the
local processes behind the jobs) and ``fail`` (inject the next N answers of a route
as an error such as 429 or 503, to test that clients retry; injected, never random).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from covalent_testing.compute import ComputeAgent


@dataclass
class Fault:
    method: str
    path_contains: str
    status: int
    times: int
    body: dict[str, Any]


class FakeState:
    """What every fake keeps: the compute agent, the request log and injected faults."""

    def __init__(self, workdir: Path) -> None:
        self.compute = ComputeAgent(workdir / "jobs")
        self.lock = threading.RLock()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and fault.path_contains in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def jobs_snapshot(self) -> dict[str, Any]:
        return {
            key: {"state": job.state, "exit_code": job.exit_code,
                  "pid": job.process.pid if job.process else None}
            for key, job in self.compute.jobs.items()
        }


class FakeHandler(BaseHTTPRequestHandler):
    """Routes requests to ``route(method, path, query, body)`` of the concrete fake."""

    state: FakeState
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        path, query = split.path, {k: v[0] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if path.startswith("/_fake/"):
            status, payload = self._control(method, path, raw)
            self.reply(status, payload)
            return
        fault = self.state.take_fault(method, path)
        if fault is not None:
            payload = fault.body or self.fault_body(fault.status)
            status, headers = fault.status, {"Retry-After": "0"}
        else:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, payload, headers = self.route(method, path, query, body, raw)
        with self.state.lock:
            self.state.requests.append({"method": method, "path": path, "status": status})
        self.reply(status, payload, headers)

    def route(
        self, method: str, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        raise NotImplementedError

    def fault_body(self, status: int) -> Any:
        """The error document of this API for an injected ``status``."""
        return {"error": f"injected fault {status}"}

    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        if path == "/_fake/stats":
            with self.state.lock:
                return 200, {"requests": list(self.state.requests)}
        if path == "/_fake/jobs":
            return 200, self.state.jobs_snapshot()
        if path == "/_fake/fail" and method == "POST":
            spec = json.loads(raw)
            with self.state.lock:
                self.state.faults.append(Fault(
                    spec["method"], spec["path_contains"], int(spec["status"]),
                    int(spec.get("times", 1)), spec.get("body") or {},
                ))
            return 200, {}
        return 404, {"error": f"no control route {path}"}

    def reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(payload, bytes):
            data, ctype = payload, "application/octet-stream"
        else:
            data = b"" if payload is None else json.dumps(payload).encode()
            ctype = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)) if self.command != "HEAD" else "0")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def serve(handler: type[FakeHandler], make_state: Callable[[Path], FakeState]) -> None:
    """Entry point of a fake's process: bind a free loopback port, print it, serve."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    state = make_state(args.workdir)
    handler.state = state
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True

    def stop(*_: Any) -> None:
        state.compute.stop_all()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(server.server_address[1], flush=True)
    server.serve_forever()


class FakeProcess:
    """Client side: start a fake's module in a subprocess, talk to it, stop it by PID."""

    def __init__(self, module: str, workdir: Path | None = None) -> None:
        self.module = module
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="covalent-fake-")
        self.workdir = workdir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, "--workdir", str(self.workdir)],
            stdout=subprocess.PIPE, stderr=log, text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError(
                f"{self.module} did not start: {(self.workdir / 'server.log').read_text()}"
            )
        self.port = int(line)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> FakeProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _call(self, path: str, payload: dict[str, Any] | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        method = "POST" if data else "GET"
        request = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def inject_failure(self, method: str, path_contains: str, status: int, times: int = 1,
                       body: dict[str, Any] | None = None) -> None:
        """Make the next ``times`` matching requests fail with ``status`` (an injected fault)."""
        self._call("/_fake/fail", {"method": method, "path_contains": path_contains,
                                   "status": status, "times": times, "body": body})

    def requests(self) -> list[dict[str, Any]]:
        return self._call("/_fake/stats")["requests"]

    def jobs(self) -> dict[str, Any]:
        return self._call("/_fake/jobs")
