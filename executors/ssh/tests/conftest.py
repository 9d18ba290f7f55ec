"""Each test gets its own covalent_core data dir and config; one real sshd serves the session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from covalent_testing import core_conftest

if TYPE_CHECKING:
    from covalent_testing.sshd import SSHServer

pytest_plugins = ["covalent_testing.sshd"]


isolated = core_conftest.load(Path(__file__).resolve().parents[3]).isolated


@pytest.fixture
def ssh_options(sshd_server: SSHServer, tmp_path: Path) -> dict[str, object]:
    """Executor keywords for the test sshd; the "remote" Python is this venv's."""
    return {**sshd_server.executor_options(), "python_path": sys.executable,
            "remote_workdir": str(tmp_path / "remote"), "poll_freq": 0.1}


def electron_node(dispatch_id: str, name: str) -> dict[str, object]:
    import covalent_core as ct

    result = ct.get_result(dispatch_id)
    return next(n for n in result.get_all_node_results() if n["node_name"] == name)


@pytest.fixture
def wait_for_job_handle():
    """Waits until the named electron of a dispatch has saved its job handle; returns it."""
    import time

    def wait(dispatch_id: str, name: str, timeout: float = 60) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handle = electron_node(dispatch_id, name)["job_handle"]
            if handle and "covalent_pending_job" not in handle:  # launched, not only named
                return handle  # type: ignore[return-value]
            time.sleep(0.05)
        raise TimeoutError(f"{name} in {dispatch_id} saved no job handle in {timeout}s")

    return wait
