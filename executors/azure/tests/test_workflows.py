"""Workflows on AzureBatchExecutor through covalent_core's public API.

Blobs are Azurite. Batch is a fake (Microsoft has no Batch emulator):
covalent_testing.azure_batch serves the REST calls of the real azure-batch client,
checks their shared-key signatures, and runs each task's container entrypoint as a
local process, so every task really runs through the package, the runner and Azurite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

from covalent_azure.executor import AzureBatchExecutor
from pydantic import SecretStr

import covalent_core as ct


def _task_posts(batch: Any, since: int) -> list[dict[str, Any]]:
    return [r for r in batch.requests()[since:]
            if r["method"] == "POST" and r["path"].endswith("/tasks")]


def _node(dispatch_id: str, name: str) -> dict[str, Any]:
    nodes = ct.get_result(dispatch_id).get_all_node_results()
    return next(n for n in nodes if n["node_name"] == name)


def _wait_for(condition: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def _local(batch: Any, handle: dict[str, Any]) -> dict[str, Any]:
    return batch.jobs().get(f"{handle['job']}/{handle['task']}", {})


def test_workflow_by_name_runs_each_task_as_a_batch_task(options, batch, monkeypatch):
    for key, value in options.items():
        monkeypatch.setenv(f"COVALENT_CORE_EXECUTORS__AZUREBATCH__{key.upper()}", str(value))
    from covalent_core import config

    config.reload()
    before = len(batch.requests())

    @ct.electron(executor="azurebatch")
    def square(x):
        print(f"squaring {x}")
        return x * x

    @ct.electron(executor="azurebatch")
    def total(values):
        return sum(values)

    @ct.lattice
    def workflow(n):
        return total([square(i) for i in range(n)])

    result = ct.dispatch_sync(workflow)(3)
    assert result.status == "COMPLETED", result.error
    assert result.result == 0 + 1 + 4
    printed = sorted(n["stdout"] for n in result.get_all_node_results()
                     if n["node_name"] == "square")
    assert printed == [f"squaring {i}\n" for i in range(3)]
    seen = batch.requests()[before:]
    assert len(_task_posts(batch, before)) == 4
    lists = [r for r in seen if r["method"] == "GET" and r["path"].endswith("/tasks")]
    gets = [r for r in seen if r["method"] == "GET" and "/tasks/" in r["path"]]
    assert lists, "status should come from ListTasks"
    assert not gets, "every task was found by the one ListTasks call of its round"
    deletes = [r for r in seen if r["method"] == "DELETE"]
    assert len(deletes) == 4, "each task is deleted once its outcome is read"


def test_raising_task_reports_the_remote_traceback(options):
    @ct.electron(executor=AzureBatchExecutor(**options))
    def explode(x):
        print("about to fail")
        raise ValueError(f"bad value {x}")

    @ct.lattice
    def workflow(x):
        return explode(x)

    result = ct.dispatch_sync(workflow)(7)
    assert result.status == "FAILED"
    node = _node(result.dispatch_id, "explode")
    assert "ValueError: bad value 7" in node["error"]
    assert "in explode" in node["traceback"] and "raise ValueError" in node["traceback"]
    assert "about to fail" in node["stdout"]


def test_cancel_terminates_the_running_task(options, batch):
    @ct.electron(executor=AzureBatchExecutor(**options))
    def slow():
        import time

        time.sleep(120)
        return "finished"

    @ct.lattice
    def workflow():
        return slow()

    dispatch_id = ct.dispatch(workflow)()
    handle = _wait_for(lambda: _node(dispatch_id, "slow")["job_handle"], "the job handle")
    _wait_for(lambda: _local(batch, handle).get("state") == "RUNNING", "the task to run")
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=60)
    assert result.status == "CANCELLED"
    terminates = [r for r in batch.requests()
                  if r["path"] == f"/jobs/{handle['job']}/tasks/{handle['task']}/terminate"]
    assert terminates and terminates[0]["status"] == 204
    assert _wait_for(lambda: _local(batch, handle)["state"] == "KILLED", "the kill")


def test_time_limit_stops_the_task(options, batch):
    @ct.electron(executor=AzureBatchExecutor(**options), time_limit=3)
    def too_slow():
        import time

        time.sleep(120)

    @ct.lattice
    def workflow():
        return too_slow()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = _node(result.dispatch_id, "too_slow")
    assert "time_limit of 3s" in node["error"]
    assert _wait_for(lambda: _local(batch, node["job_handle"])["state"] == "KILLED",
                     "the task to be killed")


def test_transient_errors_are_retried(options, batch):
    """One 503 on AddTask and one 429 on ListTasks are injected into the fake."""
    batch.inject_failure("POST", "/tasks", 503)
    batch.inject_failure("GET", "/tasks", 429)
    before = len(batch.requests())

    @ct.electron(executor=AzureBatchExecutor(**options))
    def one():
        return 1

    @ct.lattice
    def workflow():
        return one()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result == 1
    assert [r["status"] for r in _task_posts(batch, before)] == [503, 201]
    assert any(r["status"] == 429 for r in batch.requests()[before:])


def test_missing_settings_and_pool_are_named(options, batch):
    before = len(batch.requests())

    @ct.electron(executor=AzureBatchExecutor(**{**options, "base_image_uri": ""}))
    def no_image():
        return 1

    @ct.electron(executor=AzureBatchExecutor(**{**options, "pool_id": "no-such-pool"}))
    def no_pool():
        return 2

    @ct.electron(executor=AzureBatchExecutor(**{**options, "batch_account_key": "d3Jvbmc="}))
    def wrong_key():
        return 3

    @ct.lattice
    def workflow():
        return no_image(), no_pool(), wrong_key()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    assert "base_image_uri" in _node(result.dispatch_id, "no_image")["error"]
    assert "pool_id='no-such-pool' does not exist" in _node(result.dispatch_id, "no_pool")["error"]
    assert "batch_account_key" in _node(result.dispatch_id, "wrong_key")["error"]
    assert not _task_posts(batch, before), "nothing may be submitted with bad settings"


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


RESUME_SCRIPT = textwrap.dedent("""
    import time
    import covalent_core as ct
    from covalent_azure.executor import AzureBatchExecutor

    executor = AzureBatchExecutor(**{options!r})

    @ct.electron(executor=executor)
    def remote_slow(x):
        import time
        time.sleep(5)
        return x * 10

    @ct.lattice
    def workflow(x):
        return remote_slow(x)

    print(ct.dispatch(workflow)(4), flush=True)
    time.sleep(120)
""")


def test_resumed_dispatch_reattaches_to_the_task(options, batch, tmp_path, monkeypatch):
    # The resumed process rebuilds the executor from its saved spec, which holds no keys:
    # they come from the config, as they would on a real restart.
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__BATCH_ACCOUNT_KEY",
                       options["batch_account_key"])
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__AZUREBATCH__STORAGE_ACCOUNT_KEY",
                       options["storage_account_key"])
    from covalent_core import config

    config.reload()
    script = tmp_path / "dispatcher.py"
    script.write_text(RESUME_SCRIPT.format(options=options))
    before = len(batch.requests())
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, env=os.environ.copy())
    try:
        dispatch_id = proc.stdout.readline().strip()
        assert dispatch_id, "the dispatching process printed no id"
        _wait_for(lambda: _node(dispatch_id, "remote_slow")["job_handle"], "the job handle")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    assert ct.redispatch(dispatch_id)() == dispatch_id
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "COMPLETED", result.error
    assert result.result == 40
    assert len(_task_posts(batch, before)) == 1, "the task was submitted again"
