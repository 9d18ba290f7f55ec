"""Peers for the Azure tests: Azurite for blobs and the fake Batch account.

Both start once per session on 127.0.0.1 and stop by PID; each test gets the
repository's isolated data dir and config (covalent_testing.core_conftest).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient, models
from azure.core.credentials import AzureNamedKeyCredential
from covalent_testing import azure_batch, azurite, core_conftest
from covalent_testing.azure_batch import FakeAzureBatch
from covalent_testing.azurite import Azurite

isolated = core_conftest.load(Path(__file__).resolve().parents[3]).isolated
# The shared scenarios' assertions are pytest's, with their explanations.
pytest.register_assert_rewrite("covalent_testing.cloud_workflows")

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
