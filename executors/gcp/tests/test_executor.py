"""GCPBatchExecutor on its own: settings, what it never carries, and a job that dies
without an outcome (Batch's own run-duration limit), reported with its Cloud Logging log.

Batch and Cloud Logging are the fake of covalent_testing.gcp_batch (no emulator
exists); storage is the fake-gcs-server emulator.
"""

from __future__ import annotations

import asyncio
import pickle

import pytest
from covalent_gcp.executor import GCPBatchExecutor

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


def test_backend_run_limit_reports_streams_and_cloud_logging(options, batch):
    """No dispatcher limit here (a direct invoke): Batch's maxRunDuration kills the job."""
    executor = GCPBatchExecutor(**{**options, "time_limit": 8})
    with pytest.raises(TaskFailure) as failure:
        _run(executor, _talk_then_hang)
    message = str(failure.value)
    assert "ended without an outcome" in message
    assert "exceeded its run duration of 8s" in message
    assert "received signal 15" in message  # a Cloud Logging line of the entrypoint
    assert failure.value.stdout == "working on it\n"
    assert "--- job log (Cloud Logging) ---" in failure.value.stderr


def test_direct_run_returns_value_and_streams(options):
    def add(a, b):
        print("adding")
        return a + b

    done = _run(GCPBatchExecutor(**options), add, 2, 3)
    assert done.value == 5 and done.stdout == "adding\n"


def test_settings_come_from_config_and_are_checked(monkeypatch):
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__GCPBATCH__PROJECT_ID", "from-env")
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__GCPBATCH__ANONYMOUS", "false")
    from covalent_core import config

    config.reload()
    executor = GCPBatchExecutor(bucket_name="given")
    assert (executor.project_id, executor.bucket_name, executor.anonymous) == (
        "from-env", "given", False)
    assert (executor.vcpus, executor.memory, executor.time_limit) == (2, 512, 300)
    with pytest.raises(ValueError, match="vcpus must be an integer >= 1"):
        GCPBatchExecutor(vcpus="many")
    with pytest.raises(ValueError, match="anonymous must be true or false"):
        GCPBatchExecutor(anonymous="perhaps")


def test_to_dict_and_pickle_carry_no_clients(options):
    executor = GCPBatchExecutor(**options)
    _run(executor, len, [1, 2])
    assert "_clients" in executor.__dict__
    attributes = executor.to_dict()["attributes"]
    assert not [k for k in attributes if k.startswith("_")]
    assert attributes["bucket_name"] == options["bucket_name"]
    clone = pickle.loads(pickle.dumps(executor))
    assert "_clients" not in clone.__dict__ and clone.region == options["region"]
