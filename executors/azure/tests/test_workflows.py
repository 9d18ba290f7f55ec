"""Workflows on AzureBatchExecutor through covalent_core's public API.

Blobs are Azurite. Batch is a fake (Microsoft has no Batch emulator):
covalent_testing.azure_batch serves the REST calls of the real azure-batch client,
checks their shared-key signatures, and runs each task's container entrypoint as a
local process, so every task really runs through the package, the runner and Azurite.
The scenarios are the cloud executors' shared ones (covalent_testing.cloud_workflows),
plus the keys this backend's executor carries.
"""

from __future__ import annotations

from pathlib import Path

from covalent_azure.executor import AzureBatchExecutor
from covalent_testing.cloud_workflows import CloudBackend, CloudWorkflows
from pydantic import SecretStr

import covalent_core as ct


class TestAzureBatchWorkflows(CloudWorkflows):
    # A job handle names a Batch job and one task in it; each covalent job is that task.
    # The keys are secrets, so a resumed dispatcher reads them from the config.
    backend = CloudBackend(
        executor=AzureBatchExecutor, name="azurebatch", collection="/tasks", created=201,
        deletes_finished=True, local_key=lambda handle: f"{handle['job']}/{handle['task']}",
        stop_request=lambda handle: (
            "POST", f"/jobs/{handle['job']}/tasks/{handle['task']}/terminate", 204),
        bad_settings=(
            ("base_image_uri", "", "base_image_uri"),
            ("pool_id", "no-such-pool", "pool_id='no-such-pool' does not exist"),
            ("batch_account_key", "d3Jvbmc=", "batch_account_key"),
        ),
        config_only=("batch_account_key", "storage_account_key"),
    )


def test_secrets_reach_no_result_store_or_log(options, isolated):
    secret = "sp-secret-0123456789"
    executor = AzureBatchExecutor(**options, tenant_id="t", client_id="c", client_secret=secret)
    assert isinstance(executor.client_secret, SecretStr)

    @ct.electron(executor=executor)
    def report():
        import os

        return sorted(os.environ)

    @ct.lattice
    def workflow():
        return report()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert not [k for k in result.result if "KEY" in k or "SECRET" in k]
    needles = [secret.encode(), options["batch_account_key"].encode(),
               options["storage_account_key"].encode()]
    for path in Path(isolated).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not [n for n in needles if n in data], f"a secret leaked into {path}"
