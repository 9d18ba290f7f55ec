"""Each test gets its own covalent_core data dir and config; one real Slurm cluster (and one
sshd in front of it, the login node) serves the session."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from covalent_testing import core_conftest

if TYPE_CHECKING:
    from covalent_testing.slurm import SlurmCluster
    from covalent_testing.sshd import SSHServer

pytest_plugins = ["covalent_testing.sshd", "covalent_testing.slurm"]


isolated = core_conftest.load(Path(__file__).resolve().parents[3]).isolated


def _common(tmp_path: Path) -> dict[str, object]:
    return {"python_path": sys.executable, "remote_workdir": str(tmp_path / "remote"),
            "poll_freq": 0.2, "array_window": 0.2, "bashrc_path": ""}


@pytest.fixture
def local_slurm(slurm: SlurmCluster, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Executor keywords for running right where sbatch is (``local=True``)."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    return {**_common(tmp_path), "local": True}


@pytest.fixture
def ssh_slurm(slurm_login_node: SSHServer, tmp_path: Path) -> dict[str, object]:
    """Executor keywords for the login-node pattern: SSH to an sshd that fronts the cluster."""
    options = slurm_login_node.executor_options()
    options["address"] = options.pop("hostname")
    return {**_common(tmp_path), **options}


def electron_node(dispatch_id: str, name: str) -> dict[str, object]:
    import covalent_core as ct

    result = ct.get_result(dispatch_id)
    return next(n for n in result.get_all_node_results() if n["node_name"] == name)


@pytest.fixture
def wait_running(slurm: SlurmCluster):
    """Waits until the named electron's Slurm job is RUNNING; returns its job handle."""
    import time

    def wait(dispatch_id: str, name: str, timeout: float = 90) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            handle = electron_node(dispatch_id, name)["job_handle"]
            if handle:
                job = f"{handle['job_id']}_{handle['array_index']}"
                if slurm.job_states([str(handle["job_id"])]).get(job) == "RUNNING":
                    return handle  # type: ignore[return-value]
            time.sleep(0.1)
        raise TimeoutError(f"{name} in {dispatch_id} was not RUNNING within {timeout}s")

    return wait
