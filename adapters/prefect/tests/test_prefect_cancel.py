"""Timeouts and cancellation reach the job on its backend; retries reattach to live jobs.

The remote jobs are real detached processes run by the core's reference remote executor
(tests/support/process_executor.py), so "stopped" means the process is gone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import covalent_prefect as cp
import pytest
from jobs import final_state, gone, in_thread, jobs_stopped, wait_for_pid
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.states import Cancelled, Cancelling
from prefect_api import logs, task_run, task_runs
from support.process_executor import ProcessExecutor

import covalent_core as ct


def sleeper(pid_file: Path, executor: Any, **options: Any) -> Any:
    @ct.electron(executor=executor, **options)
    def sleep_long() -> str:
        pid_file.write_text(str(os.getpid()))
        time.sleep(120)
        return "woke up"

    return sleep_long


def test_a_timeout_cancels_the_remote_job(tmp_path: Path, process_executor: Any) -> None:
    pid_file = tmp_path / "pid"
    slow = sleeper(pid_file, process_executor, time_limit=2)

    @flow
    def timed() -> str:
        try:
            return slow()  # called in the flow's main thread: Prefect times out via SIGALRM
        except TimeoutError:
            return "timed out"

    state = timed(return_state=True)
    assert state.result() == "timed out"
    assert jobs_stopped(process_executor)  # cancel_job reached the backend
    [run] = task_runs(state.state_details.flow_run_id, 1)
    assert run.state.name == "TimedOut"


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_timeout_on_a_runner_thread_stops_a_local_worker(
    tmp_path: Path, asynchronous: bool, caplog: pytest.LogCaptureFixture,
) -> None:
    pid_file = tmp_path / "pid"
    if asynchronous:
        @ct.electron(executor="local", time_limit=3)
        async def slow() -> str:
            import asyncio

            pid_file.write_text(str(os.getpid()))
            await asyncio.sleep(120)
            return "woke up"
    else:
        slow = sleeper(pid_file, "local", time_limit=3)

    @flow(task_runner=cp.CovalentTaskRunner("local"))
    def timed() -> str:
        return final_state(cp.task(slow).submit())

    assert timed() == "TimedOut"
    assert gone(wait_for_pid(pid_file))  # the pool killed the worker running it
    # Prefect's note that worker threads cannot honour timeouts is not true of these.
    assert "running in a worker thread" not in caplog.text


def test_cancelling_a_task_run_through_prefect_stops_its_job(
    tmp_path: Path, process_executor: Any,
) -> None:
    pid_file = tmp_path / "pid"
    slow = sleeper(pid_file, process_executor)

    def cancel_when_running(task_run_id: Any) -> None:
        wait_for_pid(pid_file)
        task_run(task_run_id, "RUNNING")  # the server has seen it start
        with get_client(sync_client=True) as client:
            client.set_task_run_state(task_run_id, Cancelled(), force=True)

    @flow(task_runner=cp.CovalentTaskRunner("local"))
    def cancelled() -> str:
        future = cp.task(slow).submit()
        in_thread(cancel_when_running, future.task_run_id)
        return final_state(future)

    assert cancelled() == "Cancelled"
    assert jobs_stopped(process_executor)


def test_cancelling_the_flow_run_stops_its_jobs(tmp_path: Path, process_executor: Any) -> None:
    pid_files = [tmp_path / "pid0", tmp_path / "pid1"]
    slow = [cp.task(sleeper(p, process_executor)) for p in pid_files]

    def cancel_flow(flow_run_id: Any) -> None:
        for p in pid_files:
            wait_for_pid(p)
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(flow_run_id, Cancelling(), force=True)

    @flow(task_runner=cp.CovalentTaskRunner("local"))
    def doomed() -> list[str]:
        from prefect.runtime import flow_run

        futures = [s.submit() for s in slow]
        in_thread(cancel_flow, flow_run.id)
        return [final_state(f) for f in futures]

    state = doomed(return_state=True)
    assert jobs_stopped(process_executor)
    runs = task_runs(state.state_details.flow_run_id, 2)
    assert [r.state.name for r in runs] == ["Cancelled", "Cancelled"]


def test_cancel_all_on_the_flow_s_runner_reaches_running_jobs(
    tmp_path: Path, process_executor: Any,
) -> None:
    """Prefect calls cancel_all on the runner set on the flow, not on the duplicate in use."""
    pid_file = tmp_path / "pid"
    slow = cp.task(sleeper(pid_file, process_executor))
    runner = cp.CovalentTaskRunner("local")

    def cancel_all() -> None:
        wait_for_pid(pid_file)
        runner.cancel_all()

    @flow(task_runner=runner)
    def stopped() -> str:
        in_thread(cancel_all)
        return final_state(slow.submit())

    assert stopped() == "Cancelled"
    assert jobs_stopped(process_executor)


class FlakyStatusExecutor(ProcessExecutor):
    """The reference remote executor with a fault injected into its status queries.

    Its first ``outage`` polls fail as they would while the connection to a cluster is
    down; the jobs themselves are real processes that keep running meanwhile. (The fault
    is injected because no real peer can be told to drop exactly those queries.)
    """

    def __init__(self, workdir: str, outage: int, **kwargs: Any) -> None:
        super().__init__(workdir=workdir, poll_freq=0.05, **kwargs)
        self.outage = outage

    async def poll(self, handles: list[dict[str, Any]]) -> list[Any]:
        if self.outage > 0:
            self.outage -= 1
            raise ConnectionError("status query failed: connection to the cluster lost")
        return await super().poll(handles)


def slow_job(pid_file: Path, executor: Any, retries: int) -> Any:
    @ct.electron(executor=executor, retries=retries)
    def finishes_later() -> str:
        pid_file.write_text(str(os.getpid()))
        time.sleep(4)
        return "finished"

    return finishes_later


def test_a_retry_reattaches_to_a_job_that_is_still_running(tmp_path: Path) -> None:
    executor = FlakyStatusExecutor(str(tmp_path / "jobs"), outage=5)  # the watcher gives up
    job = slow_job(tmp_path / "pid", executor, retries=1)

    @flow
    def resilient() -> str:
        return job()

    state = resilient(return_state=True)
    assert state.result() == "finished"
    assert executor.submits == 1  # the retry did not submit a duplicate
    [run] = task_runs(state.state_details.flow_run_id, 1)
    assert run.run_count == 2
    assert any("reattaching to job" in m for m in logs(run.id, "reattaching to job"))


def test_without_retries_left_a_live_job_is_cancelled(tmp_path: Path) -> None:
    executor = FlakyStatusExecutor(str(tmp_path / "jobs"), outage=5)
    job = slow_job(tmp_path / "pid", executor, retries=0)

    @flow
    def fragile() -> str:
        try:
            return job()
        except ConnectionError as exc:
            return f"lost: {exc}"

    assert fragile().startswith("lost: status query failed")
    assert jobs_stopped(executor)  # not left running unobserved
