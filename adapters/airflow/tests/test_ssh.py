"""A real sshd on 127.0.0.1 (covalent_testing.sshd) and covalent-ssh's SSHExecutor: the
task defers while its job runs over SSH; every executor option comes from the connection."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import run_dag, xcom

if TYPE_CHECKING:
    from covalent_testing.sshd import SSHServer


@pytest.fixture
def ssh_connection(sshd_server: SSHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # asyncssh logs each channel at INFO, also while the interpreter exits and the pooled
    # connection closes, after pytest has closed the captured stream.
    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    extra = {**sshd_server.executor_options(), "python_path": sys.executable,
             "remote_workdir": str(tmp_path / "remote"), "poll_freq": 0.2}
    monkeypatch.setenv("AIRFLOW_CONN_COVALENT_SSH", json.dumps(
        {"conn_type": "covalent", "extra": extra}))
    return tmp_path / "remote"


def test_tasks_defer_while_their_ssh_jobs_run(
    ssh_connection: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    dr, tis = run_dag("ssh_remote")
    log = capfd.readouterr().out
    assert tis["remote_sum"].state == "success"
    assert xcom(dr, "remote_sum") == 6
    assert "summing on the far side of ssh" in log
    assert tis["remote_fail"].state == "failed"
    assert "RuntimeError: failed over ssh" in log
    assert log.count("Pausing task as DEFERRED") == 2
