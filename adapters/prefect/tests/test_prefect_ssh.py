"""Prefect task runs on the SSH executor, against a real sshd on 127.0.0.1.

The sshd (covalent_testing.sshd) runs from a temporary directory and is stopped by PID;
the "remote" Python is this environment's, reached only through SSH.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import covalent_prefect as cp
import pytest
from jobs import gone, wait_for_pid
from prefect import flow, task
from prefect_api import logs, task_runs

import covalent_core as ct

covalent_ssh = pytest.importorskip("covalent_ssh")


@pytest.fixture(scope="module")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from covalent_testing.sshd import sshd

    with sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def ssh_executor(sshd_server: Any, tmp_path: Path) -> Any:
    from covalent_ssh import SSHExecutor

    return SSHExecutor(**sshd_server.executor_options(), python_path=sys.executable,
                       remote_workdir=str(tmp_path / "remote"), poll_freq=0.2)


@task
def remote_info(x: int) -> dict[str, Any]:
    print(f"on the host: {x}")
    return {"x": x * 10, "pid": os.getpid(), "prefect_loaded": "prefect" in sys.modules}


def test_tasks_and_electrons_run_over_ssh(ssh_executor: Any) -> None:
    @ct.electron(executor=ssh_executor)
    def plus_one(x: int) -> int:
        return x + 1

    @flow(task_runner=cp.CovalentTaskRunner(ssh_executor))
    def over_ssh(n: int) -> tuple[list[dict[str, Any]], int]:
        infos = remote_info.map(range(n))
        return infos.result(), plus_one(41)

    state = over_ssh(3, return_state=True)
    infos, answer = state.result()
    assert [i["x"] for i in infos] == [0, 10, 20]
    assert all(i["pid"] != os.getpid() and not i["prefect_loaded"] for i in infos)
    assert answer == 42
    runs = task_runs(state.state_details.flow_run_id, 4)
    [first] = [r for r in runs if r.name.startswith("remote_info") and
               any("on the host: 0" in m for m in logs(r.id, "on the host"))]
    assert first.state.is_completed()


def test_a_timeout_stops_the_job_on_the_host(tmp_path: Path, ssh_executor: Any) -> None:
    pid_file = tmp_path / "pid"

    @ct.electron(executor=ssh_executor, time_limit=10)
    def hangs() -> str:
        pid_file.write_text(str(os.getpid()))
        time.sleep(300)
        return "never"

    @flow
    def timed() -> str:
        try:
            return hangs()
        except TimeoutError:
            return "timed out"

    assert timed() == "timed out"
    assert gone(wait_for_pid(pid_file))
