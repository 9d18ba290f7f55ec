"""Azurite, Microsoft's Azure Storage emulator, serving blobs on 127.0.0.1.

Azurite is a Node package. It is installed with npm into a cache directory the suite
controls (``$COVALENT_TESTING_AZURITE_DIR``, default ``~/.cache/covalent-testing/azurite``)
the first time it is needed, then started with ``--disableTelemetry`` and
``--inMemoryPersistence`` on a free port, and stopped by its PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

VERSION = "3.37.0"
#: Azurite's documented development account and key (public, not a secret).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "covalent-testing" / "azurite"
    return Path(os.environ.get("COVALENT_TESTING_AZURITE_DIR") or default)


def ensure_installed(directory: Path | None = None) -> Path:
    """The ``azurite-blob`` executable, installed with npm if it is not there yet."""
    directory = directory or cache_dir()
    executable = directory / "node_modules" / ".bin" / "azurite-blob"
    if not executable.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("Azurite needs Node.js and npm: apt-get install nodejs npm")
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund",
             "--loglevel=error", f"azurite@{VERSION}"],
            check=True,
        )
    return executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Azurite:
    """The blob service of Azurite; ``account_url`` and ``KEY`` are what clients need."""

    def __init__(self) -> None:
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._workspace = Path(tempfile.mkdtemp(prefix="azurite-"))

    @property
    def account_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint={self.account_url};")

    def start(self) -> Azurite:
        executable = ensure_installed()
        self.port = _free_port()
        log = (self._workspace / "azurite.log").open("w")
        self.process = subprocess.Popen(
            [str(executable), "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
             "--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent"],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, cwd=self._workspace,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Azurite exited: {(self._workspace / 'azurite.log').read_text()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("Azurite did not listen within 60s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        shutil.rmtree(self._workspace, ignore_errors=True)

    def __enter__(self) -> Azurite:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
