"""Peers for the Google tests: the fake-gcs-server storage emulator and the fake Batch API.

Both start once per session on 127.0.0.1 and stop by PID. Each test still gets the
isolated covalent_core data dir and config of the repository's tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from covalent_testing.gcp_batch import FakeGCPBatch
from covalent_testing.gcs import GCSEmulator

_spec = importlib.util.spec_from_file_location(
    "covalent_core_tests_conftest", Path(__file__).resolve().parents[3] / "tests" / "conftest.py"
)
_root = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_root)  # type: ignore[union-attr]
isolated = _root.isolated
ct = _root.ct

BUCKET = "covalent-test"


@pytest.fixture(scope="session")
def gcs() -> GCSEmulator:
    with GCSEmulator() as emulator:
        emulator.create_bucket(BUCKET)
        yield emulator


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> FakeGCPBatch:
    with FakeGCPBatch(tmp_path_factory.mktemp("gcp-batch")) as fake:
        yield fake


@pytest.fixture
def options(gcs: GCSEmulator, batch: FakeGCPBatch) -> dict[str, Any]:
    """Constructor options that point the executor at the emulator and the fake."""
    return {
        "bucket_name": BUCKET, "project_id": "test-project", "region": "us-central1",
        "container_image_uri": "covalent-gcp:test", "anonymous": True,
        "batch_endpoint": batch.url, "storage_endpoint": gcs.url,
        "logging_endpoint": batch.url, "poll_freq": 0.1, "retries": 0, "time_limit": 120,
    }

