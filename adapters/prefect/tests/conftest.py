"""A real Prefect 3 for the whole session, in Prefect's own test-harness mode.

``prefect_test_harness`` starts a temporary Prefect server (a subprocess on 127.0.0.1,
SQLite in a temporary directory) and stops it at the end; nothing long-lived, no
network beyond loopback. Every test also gets its own covalent_core config and data dir.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="covalent-prefect-tests-"))
# Before Prefect reads its settings: a private home, no analytics or UI, no outside API.
os.environ["PREFECT_HOME"] = str(_HOME / "prefect")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_UI_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_BATCH_INTERVAL"] = "0.3"
for leftover in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(leftover, None)
# The Dask cluster's shutdown chatter comes at interpreter exit, after pytest has closed
# the streams Prefect's console handler writes to.
os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"
# Our cancellation watcher asks the API often, so cancel tests finish quickly.
os.environ["COVALENT_PREFECT_CANCEL_POLL"] = "0.3"

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "tests"))  # the core's reference remote executor (support/)
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    """The harness's server, or one already running at $COVALENT_PREFECT_TEST_SERVER.

    A fresh harness migrates a new SQLite database first, which takes a minute on a busy
    machine; pointing at a local `prefect server start` skips that while iterating.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    existing = os.environ.get("COVALENT_PREFECT_TEST_SERVER")
    if existing:
        with temporary_settings({PREFECT_API_URL: existing}):
            yield
        return
    with prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from covalent_core import config

    monkeypatch.setenv("COVALENT_CORE_CONFIG", str(tmp_path / "covalent_core.toml"))
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__NO_CLUSTER", "true")
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__DASK_WORKERS", "1")
    config.reload()
    yield tmp_path
    config.reload()


@pytest.fixture
def process_executor(tmp_path: Path):
    from support.process_executor import ProcessExecutor

    return ProcessExecutor(workdir=str(tmp_path / "jobs"), poll_freq=0.05)
