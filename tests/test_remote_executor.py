"""The remote split (submit/poll/fetch/cancel_job) through a real detached process backend."""

from __future__ import annotations

import time
from pathlib import Path

from support.process_executor import ProcessExecutor

import covalent_core as ct


def test_remote_tasks_run_in_another_process_with_one_poll_per_round(tmp_path):
    remote = ProcessExecutor(workdir=str(tmp_path / "jobs"), poll_freq=0.1)

    @ct.electron(executor=remote)
    def where(i):
        import os
        import time

        time.sleep(0.5)
        print("task", i)
        return os.getpid()

    @ct.lattice
    def workflow():
        return [where(i) for i in range(8)]

    import os

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert len(set(result.result)) == 8 and os.getpid() not in result.result
    assert result.get_node_result(0)["stdout"] == "task 0\n"
    assert result.get_node_result(0)["job_handle"]["pid"] > 0
    assert remote.submits == 8
    # 8 jobs of >= 0.5 s polled every 0.1 s: one poll call per round, not one per job.
    assert remote.poll_calls < 8 * 5


def test_remote_failure_carries_the_remote_traceback(tmp_path):
    remote = ProcessExecutor(workdir=str(tmp_path / "jobs"))

    @ct.electron(executor=remote)
    def explode(x):
        print("about to fail")
        return {"a": 1}[x]

    @ct.lattice
    def workflow():
        return explode("b")

    result = ct.dispatch_sync(workflow)()
    node = result.get_node_result(0)
    assert result.status == "FAILED"
    assert node["error"] == "KeyError: 'b'"
    assert 'return {"a": 1}[x]' in node["traceback"]
    assert node["stdout"] == "about to fail\n"


def test_cancel_reaches_the_backend(tmp_path):
    remote = ProcessExecutor(workdir=str(tmp_path / "jobs"))

    @ct.electron(executor=remote)
    def forever():
        import time

        time.sleep(60)

    @ct.lattice
    def workflow():
        return forever()

    dispatch_id = ct.dispatch(workflow)()
    deadline = time.monotonic() + 30
    while not ct.get_result(dispatch_id).get_node_result(0)["job_handle"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=30)
    assert result.status == "CANCELLED"
    job_dir = Path(result.get_node_result(0)["job_handle"]["dir"])
    assert (job_dir / "cancelled").exists() and not (job_dir / "outcome.pkg").exists()


def test_time_limit_cancels_the_remote_job(tmp_path):
    remote = ProcessExecutor(workdir=str(tmp_path / "jobs"), time_limit=0.5)

    @ct.electron(executor=remote)
    def forever():
        import time

        time.sleep(60)

    @ct.lattice
    def workflow():
        return forever()

    result = ct.dispatch_sync(workflow)()
    node = result.get_node_result(0)
    assert result.status == "FAILED" and "time_limit of 0.5s" in node["error"]
    assert (Path(node["job_handle"]["dir"]) / "cancelled").exists()


def test_secret_attributes_stay_out_of_stored_specs(tmp_path):
    remote = ProcessExecutor(workdir=str(tmp_path / "jobs"), api_token="s3cr3t-token")

    @ct.electron(executor=remote)
    def one():
        return 1

    @ct.lattice
    def workflow():
        return one()

    result = ct.dispatch_sync(workflow)()
    assert result.result == 1
    stored = b"".join(p.read_bytes() for p in Path(result.results_dir).iterdir() if p.is_file())
    assert b"s3cr3t-token" not in stored
    assert b"s3cr3t-token" not in b"".join(
        p.read_bytes() for p in (tmp_path / "jobs").rglob("*") if p.is_file())


class SlowSubmit(ProcessExecutor):
    """A backend that takes a while to accept a job (a busy scheduler, say)."""

    async def submit(self, task):
        import asyncio

        await asyncio.sleep(1.0)
        return await super().submit(task)


def test_a_job_started_after_its_task_was_cancelled_is_stopped(tmp_path):
    jobs = tmp_path / "jobs"
    remote = SlowSubmit(workdir=str(jobs))

    @ct.electron(executor=remote)
    def forever():
        import time

        time.sleep(60)

    @ct.lattice
    def workflow():
        return forever()

    dispatch_id = ct.dispatch(workflow)()
    deadline = time.monotonic() + 30
    while ct.get_result(dispatch_id).get_node_result(0)["status"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ct.cancel(dispatch_id)  # lands while submit() is still in flight
    assert ct.get_result(dispatch_id, wait=True, timeout=30).status == "CANCELLED"
    deadline = time.monotonic() + 30
    while not list(jobs.glob("*/cancelled")):
        assert time.monotonic() < deadline, "the late job was never stopped"
        time.sleep(0.05)
