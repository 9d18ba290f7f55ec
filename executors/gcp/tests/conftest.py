"""Peers for the Google tests: the fake-gcs-server storage emulator and the fake Batch API.

Both start once per session on 127.0.0.1 and stop by PID; each test gets the
repository's isolated data dir and config (covalent_testing.core_conftest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from covalent_testing import core_conftest
from covalent_testing.gcp_batch import FakeGCPBatch
from covalent_testing.gcs import GCSEmulator

isolated = core_conftest.load(Path(__file__).resolve().parents[3]).isolated
# The shared scenarios' assertions are pytest's, with their explanations.
pytest.register_assert_rewrite("covalent_testing.cloud_workflows")

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

