"""Peers for the Azure tests: Azurite for blobs and the fake Batch account.

Both start once per session on 127.0.0.1 and stop by PID. Each test still gets the
isolated covalent_core data dir and config of the repository's tests/conftest.py.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential
from covalent_testing import azure_batch, azurite
from covalent_testing.azure_batch import FakeAzureBatch
from covalent_testing.azurite import Azurite

_spec = importlib.util.spec_from_file_location(
    "covalent_core_tests_conftest", Path(__file__).resolve().parents[3] / "tests" / "conftest.py"
)
_root = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_root)  # type: ignore[union-attr]
isolated = _root.isolated
ct = _root.ct

POOL = "covalent-pool"


@pytest.fixture(scope="session")
def blob_service() -> Azurite:
    with Azurite() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def batch(tmp_path_factory: pytest.TempPathFactory) -> FakeAzureBatch:
    with FakeAzureBatch(tmp_path_factory.mktemp("azure-batch")) as fake:
        client = BatchClient(fake.url, AzureNamedKeyCredential(azure_batch.ACCOUNT,
                                                                azure_batch.KEY))
        client.create_pool(models.BatchPoolCreateOptions(id=POOL, vm_size="standard_d2s_v3"))
        yield fake


@pytest.fixture
def options(blob_service: Azurite, batch: FakeAzureBatch) -> dict[str, Any]:
    """Constructor options that point the executor at Azurite and the fake Batch account."""
    return {
        "batch_account_url": batch.url, "batch_account_name": azure_batch.ACCOUNT,
        "batch_account_key": azure_batch.KEY, "storage_account_name": azurite.ACCOUNT,
        "storage_account_key": azurite.KEY, "storage_account_url": blob_service.account_url,
        "pool_id": POOL, "base_image_uri": "covalent-azure:test", "poll_freq": 0.1,
        "retries": 0, "time_limit": 120,
    }
