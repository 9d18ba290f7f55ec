"""Workflows on GCPBatchExecutor through covalent_core's public API.

Storage is the fake-gcs-server emulator. Batch is a fake (Google has no Batch
emulator): covalent_testing.gcp_batch serves the REST API to the real
google-cloud-batch client and runs each job's container entrypoint as a local
process, so every task really runs through the package, the runner and the bucket.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

from covalent_gcp.executor import GCPBatchExecutor

import covalent_core as ct


def _creates(batch: Any, since: int) -> list[dict[str, Any]]:
    return [r for r in batch.requests()[since:]
            if r["method"] == "POST" and r["path"].endswith("/jobs")]


def _node(dispatch_id: str, name: str) -> dict[str, Any]:
    nodes = ct.get_result(dispatch_id).get_all_node_results()
    return next(n for n in nodes if n["node_name"] == name)


def _wait_for(condition: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def test_workflow_by_name_runs_each_task_as_a_batch_job(options, batch, monkeypatch):
    for key, value in options.items():
        monkeypatch.setenv(f"COVALENT_CORE_EXECUTORS__GCPBATCH__{key.upper()}", str(value))
    from covalent_core import config

    config.reload()
    before = len(batch.requests())

    @ct.electron(executor="gcpbatch")
    def square(x):
        print(f"squaring {x}")
        return x * x

    @ct.electron(executor="gcpbatch")
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
    assert len(_creates(batch, before)) == 4
    lists = [r for r in seen if r["method"] == "GET" and r["path"].endswith("/jobs")]
    gets = [r for r in seen if r["method"] == "GET" and "/jobs/" in r["path"]]
    assert lists, "status should come from ListJobs"
    assert not gets, "every job was found by the one ListJobs call of its round"


def test_raising_task_reports_the_remote_traceback(options):
    @ct.electron(executor=GCPBatchExecutor(**options))
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


def test_cancel_deletes_the_running_job(options, batch):
    executor = GCPBatchExecutor(**options)

    @ct.electron(executor=executor)
    def slow():
        import time

        time.sleep(120)
        return "finished"

    @ct.lattice
    def workflow():
        return slow()

    dispatch_id = ct.dispatch(workflow)()
    handle = _wait_for(lambda: _node(dispatch_id, "slow")["job_handle"], "the job handle")
    _wait_for(lambda: batch.jobs().get(handle["job"], {}).get("state") == "RUNNING",
              "the job to run")
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=60)
    assert result.status == "CANCELLED"
    deletes = [r for r in batch.requests() if r["method"] == "DELETE"
               and r["path"].endswith(handle["job"].rsplit("/", 1)[1])]
    assert deletes, "the job was not deleted on the backend"
    assert _wait_for(lambda: batch.jobs()[handle["job"]]["state"] == "KILLED", "the kill")


def test_time_limit_stops_the_job(options, batch):
    @ct.electron(executor=GCPBatchExecutor(**options), time_limit=3)
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
    job = node["job_handle"]["job"]
    assert _wait_for(lambda: batch.jobs()[job]["state"] == "KILLED", "the job to be killed")


def test_transient_errors_are_retried(options, batch):
    """One 503 on CreateJob and one 429 on ListJobs are injected into the fake."""
    batch.inject_failure("POST", "/locations/us-central1/jobs", 503)
    batch.inject_failure("GET", "/locations/us-central1/jobs", 429)
    before = len(batch.requests())

    @ct.electron(executor=GCPBatchExecutor(**options))
    def one():
        return 1

    @ct.lattice
    def workflow():
        return one()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result == 1
    statuses = [r["status"] for r in _creates(batch, before)]
    assert statuses == [503, 200]
    assert any(r["status"] == 429 for r in batch.requests()[before:])


def test_missing_settings_and_bucket_are_named(options, batch):
    before = len(batch.requests())

    @ct.electron(executor=GCPBatchExecutor(**{**options, "container_image_uri": ""}))
    def no_image():
        return 1

    @ct.electron(executor=GCPBatchExecutor(**{**options, "bucket_name": "no-such-bucket"}))
    def no_bucket():
        return 2

    @ct.lattice
    def workflow():
        return no_image(), no_bucket()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    assert "container_image_uri" in _node(result.dispatch_id, "no_image")["error"]
    error = _node(result.dispatch_id, "no_bucket")["error"]
    assert "bucket_name='no-such-bucket' does not exist" in error
    assert not _creates(batch, before), "nothing may be submitted with bad settings"


RESUME_SCRIPT = textwrap.dedent("""
    import time
    import covalent_core as ct
    from covalent_gcp.executor import GCPBatchExecutor

    executor = GCPBatchExecutor(**{options!r})

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


def test_resumed_dispatch_reattaches_to_the_job(options, batch, tmp_path):
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
    assert len(_creates(batch, before)) == 1, "the job was submitted again"
