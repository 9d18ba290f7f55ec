"""CovalentOperator inline and deferred, failures, retries that reattach, on_kill."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import run_dag, xcom
from covalent_airflow import CovalentOperator, CovalentTrigger
from covalent_airflow.compat import AirflowException
from covalent_airflow.hooks.covalent import executor_spec
from support.process_executor import ProcessExecutor

import covalent_core as ct
from covalent_core.executor.remote import CANCELLED
from covalent_core.processes import is_running
from covalent_core.remote.package import TaskPackage


def test_local_executor_runs_inline(jobs: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dr, tis = run_dag("inline_local")
    log = capfd.readouterr().out
    assert tis["square"].state == "success"
    assert xcom(dr, "square") == 49
    assert "squaring 7" in log
    assert "Pausing task as DEFERRED" not in log
    assert list(jobs.iterdir()) == []


def test_remote_executor_defers_and_fetches(jobs: Path, capfd: pytest.CaptureFixture[str]) -> None:
    dr, tis = run_dag("remote_process")
    log = capfd.readouterr().out
    assert tis["cube"].state == "success"
    assert xcom(dr, "cube") == 27
    assert "Pausing task as DEFERRED" in log
    assert len(list(jobs.iterdir())) == 1
    # The task's print ran in the job's process and reached the task log.
    (job,) = jobs.iterdir()
    pid = Path(job, "stdout.txt").read_text().split()[-1]
    assert pid != str(os.getpid())
    assert f"cubing 3 in pid {pid}" in log


def test_remote_failure_puts_remote_traceback_in_log(
    jobs: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    dr, tis = run_dag("remote_failure")
    log = capfd.readouterr().out
    assert tis["check"].state == "failed"
    assert dr.state == "failed"
    assert "the task raised on its executor" in log
    assert 'raise ValueError(f"input {x} is out of range")' in log
    assert "remote_failure.py" in log
    assert "ValueError: input 7 is out of range" in log
    assert "validating input on the far side" in log


@pytest.mark.parametrize("dag_name", ["dag", "dag_variable"])
def test_retry_reattaches_to_the_submitted_job(
    jobs: Path, capfd: pytest.CaptureFixture[str], dag_name: str
) -> None:
    dr, tis = run_dag("remote_retry", dag_name)
    log = capfd.readouterr().out
    assert "simulated worker loss between submit and defer" in log
    assert tis["double"].state == "success"
    assert tis["double"].try_number == 2
    assert xcom(dr, "double") == 42
    assert len(list(jobs.iterdir())) == 1, "the retry submitted the job again"
    assert "from an earlier try" in log
    _assert_handle_cleared(dr)


def _assert_handle_cleared(dr) -> None:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    try:
        from airflow.models.task_state_store import TaskStateStoreModel
    except ImportError:  # Airflow 3.1 and 3.2: no task state store, only the Variable
        TaskStateStoreModel = None
    with create_session() as session:
        if TaskStateStoreModel is not None:
            assert session.query(TaskStateStoreModel).filter_by(run_id=dr.run_id).count() == 0
        handles = session.query(Variable).filter(Variable.key.like("covalent_job_handle%"))
        assert handles.count() == 0


def test_unpicklable_argument_is_named_and_nothing_is_submitted(
    jobs: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, tis = run_dag("unpicklable")
    log = capfd.readouterr().out
    assert tis["locked"].state == "failed"
    assert "op_args[0] of task 'locked' cannot be pickled" in log
    assert list(jobs.glob("*/task.pkg")) == []


def test_execution_timeout_stops_the_inline_worker(
    jobs: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    _, tis = run_dag("inline_timeout")
    assert tis["hang"].state == "failed"
    assert "AirflowTaskTimeout" in capfd.readouterr().out
    _wait_gone(int((jobs / "hang.pid").read_text()))


def test_trigger_on_kill_cancels_the_remote_job(jobs: Path) -> None:
    executor = ProcessExecutor(workdir=str(jobs))
    handle = asyncio.run(executor.submit(TaskPackage(time.sleep, [60], {})))
    trigger = CovalentTrigger(executor_spec(executor), handle)

    async def kill() -> str:
        await trigger.on_kill()
        return (await executor.poll([handle]))[0].status

    assert asyncio.run(kill()) == CANCELLED
    _wait_gone(handle["pid"])


def test_on_kill_stops_an_inline_run(tmp_path: Path) -> None:
    """The context is a stand-in holding only the ids the operator reads (no DAG run)."""
    marker = tmp_path / "started"

    def wait_forever(path: str) -> None:
        Path(path).write_text(str(os.getpid()))
        time.sleep(600)

    op = CovalentOperator(task_id="forever", python_callable=wait_forever,
                          op_args=[str(marker)], executor=ct.executor.LocalExecutor())
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="forever", map_index=-1)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            op.execute({"ti": ti})
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    op.on_kill()
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(raised[0], AirflowException)
    assert "killed" in str(raised[0])
    _wait_gone(int(marker.read_text()))


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not is_running(pid):
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} is still running")
