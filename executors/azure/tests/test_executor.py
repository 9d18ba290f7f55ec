"""AzureBatchExecutor on its own: settings, secrets, and a task that dies without an
outcome (Batch's own wall-clock limit), reported with its output files from the node.

Batch is the fake of covalent_testing.azure_batch (no emulator exists); blobs are Azurite.
"""

from __future__ import annotations

import asyncio
import pickle

import pytest
from covalent_azure.executor import AzureBatchExecutor
from pydantic import SecretStr

from covalent_core.errors import TaskFailure
from covalent_core.executor.invoke import invoke, make_context


def _run(executor, function, *args):
    ctx = make_context(dispatch_id="direct-run", node_id=0, node_name=function.__name__,
                       results_dir="/tmp/unused")
    return asyncio.run(invoke(executor, function, list(args), {}, ctx))


def _talk_then_hang():
    import time

    print("working on it", flush=True)
    time.sleep(120)


def test_backend_wall_clock_limit_reports_streams_and_node_output(options):
    """No dispatcher limit here (a direct invoke): Batch's maxWallClockTime ends the task."""
    executor = AzureBatchExecutor(**{**options, "time_limit": 8})
    with pytest.raises(TaskFailure) as failure:
        _run(executor, _talk_then_hang)
    message = str(failure.value)
    assert "ended without an outcome: MaxWallClockTimeExceeded" in message
    assert "received signal 15" in message  # from stderr.txt of the task on the node
    assert failure.value.stdout == "working on it\n"
    assert "--- task output on the node" in failure.value.stderr


def test_direct_run_returns_value_and_streams(options):
    def add(a, b):
        print("adding")
        return a + b

    done = _run(AzureBatchExecutor(**options), add, 2, 3)
    assert done.value == 5 and done.stdout == "adding\n"


def test_settings_come_from_config_and_secrets_stay_secret(monkeypatch, options):
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__POOL_ID", "pool-from-env")
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__CLIENT_SECRET", "env-secret")
    from covalent_core import config

    config.reload()
    executor = AzureBatchExecutor(tenant_id="t", client_id="c")
    assert executor.pool_id == "pool-from-env" and executor.job_id == "covalent-pool-from-env"
    assert isinstance(executor.client_secret, SecretStr)
    assert executor.client_secret.get_secret_value() == "env-secret"
    text = repr(executor.to_dict()) + repr(pickle.dumps(executor))
    assert "env-secret" not in text
    assert (executor.retries, executor.time_limit, executor.poll_freq) == (3, 300, 10)
    with pytest.raises(ValueError, match="retries must be an integer >= 0"):
        AzureBatchExecutor(retries=-1)


def test_unpickled_executor_gets_its_keys_from_the_config(options, monkeypatch):
    executor = AzureBatchExecutor(**options)
    clone = pickle.loads(pickle.dumps(executor))
    assert "batch_account_key" not in clone.__dict__
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__BATCH_ACCOUNT_KEY",
                       options["batch_account_key"])
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__STORAGE_ACCOUNT_KEY",
                       options["storage_account_key"])
    from covalent_core import config

    config.reload()
    assert _run(clone, len, [1, 2, 3]).value == 3
