"""Failure paths against the real sshd: time limits, cancel, sshd restart, a SIGKILLed
dispatcher, and a remote interpreter that is missing or cannot read our packages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from covalent_ssh import SSHExecutor
from covalent_testing._proc import wait_until
from covalent_testing.killed_dispatch import killed_dispatch
from covalent_testing.sshd import SSHServer, sshd

import covalent_core as ct


def _alive(handle: dict) -> bool:
    """Is the remote job's process running? (The "remote" host is this machine.)"""
    try:
        cmdline = Path(f"/proc/{handle['pid']}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return handle["workdir"].encode() in cmdline


def _wait_gone(handle: dict, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _alive(handle):
        assert time.monotonic() < deadline, f"remote job {handle['pid']} still running"
        time.sleep(0.05)


def _runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.fixture
def executor(ssh_options) -> SSHExecutor:
    return SSHExecutor(**ssh_options)


def _warm_up(executor: SSHExecutor) -> None:
    """Connect and check the interpreter first, so a time limit measures the task alone."""
    @ct.electron(executor=executor)
    def warm_up():
        return "connected"

    @ct.lattice
    def workflow():
        return warm_up()

    assert ct.dispatch_sync(workflow)().result == "connected"


def test_time_limit_kills_the_remote_job(executor: SSHExecutor):
    _warm_up(executor)

    @ct.electron(executor=executor, time_limit=5)
    def sleepy():
        import time

        time.sleep(120)

    @ct.lattice
    def workflow():
        return sleepy()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "exceeded its time_limit of 5s" in node["error"]
    handle = node["job_handle"]
    _wait_gone(handle)
    assert Path(handle["workdir"], "cancelled").exists()


def test_time_limit_during_submission_leaves_no_orphan_job(tmp_path: Path):
    """The limit fires while the launch command is on the wire, before the handle exists.

    Once the connection is warm, the sshd makes every command take 1.5 s more (BASH_ENV
    sleeps, like a slow site bashrc), so the 1 s limit falls inside the launch.
    """
    slow_flag = tmp_path / "slow"
    bash_env = tmp_path / "bash_env"
    bash_env.write_text(f'[ -e {slow_flag} ] && [ -z "$SLOWED" ] && export SLOWED=1 && sleep 1.5\n')
    with sshd(tmp_path / "sshd", env={"BASH_ENV": str(bash_env)}) as server:
        executor = SSHExecutor(**server.executor_options(), python_path=sys.executable,
                               remote_workdir=str(tmp_path / "remote"), poll_freq=0.1)

        @ct.electron(executor=executor, time_limit=1.0)
        def sleepy():
            import time

            time.sleep(120)

        @ct.lattice
        def second():
            return sleepy()

        _warm_up(executor)
        slow_flag.touch()
        result = ct.dispatch_sync(second)()
        assert result.status == "FAILED"
        assert "exceeded its time_limit" in result.get_node_result(0)["error"]
        assert result.get_node_result(0)["job_handle"] is None
        jobs = list((tmp_path / "remote" / ".covalent-jobs").iterdir())
        assert len(jobs) == 1
        deadline = time.monotonic() + 30
        while not (jobs[0] / "cancelled").exists():  # the launch lands, then it is stopped
            assert time.monotonic() < deadline, "the orphaned job was never stopped"
            time.sleep(0.1)
        _wait_gone({"pid": int((jobs[0] / "pid").read_text()), "workdir": str(jobs[0])})


def test_cancel_reaches_the_remote_process(executor: SSHExecutor, wait_for_job_handle):
    @ct.electron(executor=executor)
    def sleepy():
        import time

        time.sleep(120)

    @ct.lattice
    def workflow():
        return sleepy()

    dispatch_id = ct.dispatch(workflow)()
    handle = wait_for_job_handle(dispatch_id, "sleepy")
    deadline = time.monotonic() + 15
    while not _alive(handle):  # the handle is saved as soon as the pid is known
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=60)
    assert result.status == "CANCELLED"
    assert result.get_node_result(0)["status"] == "CANCELLED"
    _wait_gone(handle)


def test_task_survives_an_sshd_restart_and_its_result_arrives(tmp_path: Path,
                                                              wait_for_job_handle):
    marks = tmp_path / "marks"
    with sshd(tmp_path / "sshd") as server:
        executor = SSHExecutor(**server.executor_options(), python_path=sys.executable,
                               remote_workdir=str(tmp_path / "remote"), poll_freq=0.1,
                               retry_wait_time=0.5)

        @ct.electron(executor=executor)
        def slow(x):
            import time

            with open(marks, "a") as fh:
                fh.write("started\n")
            time.sleep(3)
            print("done sleeping")
            return x * 2

        @ct.lattice
        def workflow(x):
            return slow(x)

        dispatch_id = ct.dispatch(workflow)(21)
        handle = wait_for_job_handle(dispatch_id, "slow")
        assert server.connections(), "no open connection to drop"
        server.restart()  # drops our connection; the listener comes back on the same port
        result = ct.get_result(dispatch_id, wait=True, timeout=90)
        assert result.status == "COMPLETED", result.error
        assert result.result == 42
        node = result.get_node_result(0)
        assert node["stdout"] == "done sleeping\n"
        assert node["job_handle"] == handle  # the same job: nothing was resubmitted
        assert _runs(marks) == 1
        # The executor reconnected to the new sshd: a second accepted login.
        assert server.log.read_text().count("Accepted publickey") == 2


RESUME_SCRIPT = textwrap.dedent("""
    import sys, time
    import covalent_core as ct
    from covalent_ssh import SSHExecutor

    executor = SSHExecutor(**{options!r})

    @ct.electron(executor=executor)
    def slow(x):
        import time
        with open({marks!r}, "a") as fh:
            fh.write("started\\n")
        time.sleep(4)
        return x + 1

    @ct.lattice
    def workflow(x):
        return slow(x)

    print(ct.dispatch(workflow)(41), flush=True)
    time.sleep(120)
""")


def test_resume_after_sigkill_reattaches_to_the_running_remote_job(
        ssh_options, tmp_path: Path, wait_for_job_handle):
    marks = tmp_path / "marks"
    script = tmp_path / "dispatcher.py"
    script.write_text(RESUME_SCRIPT.format(options=ssh_options, marks=str(marks)))
    dispatch_id, handle = killed_dispatch(script, lambda d: wait_for_job_handle(d, "slow"))
    assert _alive(handle), "the remote job must outlive the dispatching process"

    assert ct.redispatch(dispatch_id)() == dispatch_id
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert result.get_node_result(0)["job_handle"] == handle  # reattached...
    assert _runs(marks) == 1  # ...and not submitted again
    jobs_dir = Path(ssh_options["remote_workdir"]) / ".covalent-jobs"
    assert list(jobs_dir.iterdir()) == []  # one job, fetched and cleaned up


LAUNCH_SCRIPT = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    import covalent_core as ct
    from covalent_ssh import SSHExecutor

    marks = Path({marks!r})

    class CrashWindow(SSHExecutor):
        # Holds the dispatcher just after the launch, before it learns the pid.
        async def submit(self, task):
            handle = await super().submit(task)
            if not (marks / "resumed").exists():
                (marks / "launched").touch()
                await asyncio.sleep(60)
            return handle

    @ct.electron(executor=CrashWindow(**{options!r}))
    def once(x):
        import time
        with open(marks / "runs", "a") as fh:
            fh.write("started\\n")
        time.sleep(1)
        return x + 1

    @ct.lattice
    def workflow(x):
        return once(x)

    print(ct.dispatch(workflow)(41), flush=True)
    time.sleep(120)
""")


def test_a_kill_just_after_the_launch_reattaches_by_the_job_s_name(
        ssh_options, tmp_path: Path):
    """The job directory is named and recorded before the launch command is sent."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "dispatcher.py"
    script.write_text(LAUNCH_SCRIPT.format(options=ssh_options, marks=str(marks)))

    dispatch_id, _ = killed_dispatch(script, lambda _: wait_until(
        (marks / "launched").exists, 60, "the job's launch"))
    pending = ct.get_result(dispatch_id).get_node_result(0)["job_handle"]
    assert set(pending) == {"covalent_pending_job"}
    (marks / "resumed").touch()
    assert ct.redispatch(dispatch_id)() == dispatch_id
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert len((marks / "runs").read_text().splitlines()) == 1
    assert result.get_node_result(0)["job_handle"]["workdir"].endswith(
        pending["covalent_pending_job"])


def _one_task(executor: SSHExecutor) -> ct.Result:
    @ct.electron(executor=executor)
    def hello():
        return "hi"

    @ct.lattice
    def workflow():
        return hello()

    return ct.dispatch_sync(workflow)()


def test_missing_remote_interpreter_is_a_clear_error(sshd_server: SSHServer, ssh_options):
    result = _one_task(SSHExecutor(**{**ssh_options, "python_path": "/opt/nowhere/python3"}))
    assert result.status == "FAILED"
    error = result.get_node_result(0)["error"]
    assert "RemoteEnvironmentError" in error
    assert "'/opt/nowhere/python3'" in error and f"127.0.0.1:{sshd_server.port}" in error
    assert "python_path" in error


def test_interpreter_without_covalent_core_is_a_clear_error(ssh_options, tmp_path: Path):
    """A real venv of the same Python that lacks covalent-core (only cloudpickle)."""
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    result = _one_task(SSHExecutor(**{**ssh_options, "python_path": str(venv / "bin/python")}))
    error = result.get_node_result(0)["error"]
    assert "covalent-core is not installed" in error and str(venv / "bin/python") in error
    assert "pip install 'covalent-core==" in error


def test_mismatched_interpreter_names_both_versions(ssh_options, tmp_path: Path):
    """A real venv whose cloudpickle major version differs from ours (2.x vs 3.x)."""
    # scripts/test.sh names its own uv; elsewhere one on PATH will do.
    uv = os.environ.get("COVALENT_TESTING_UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is needed to build the mismatched environment")
    venv = tmp_path / "old-cloudpickle"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    core = Path(ct.__file__).resolve().parent.parent
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin/python"),
                    "cloudpickle==2.2.1", "--no-deps", "-e", str(core)], check=True)
    result = _one_task(SSHExecutor(**{**ssh_options, "python_path": str(venv / "bin/python")}))
    error = result.get_node_result(0)["error"]
    assert "cannot read tasks pickled here" in error
    assert "cloudpickle 2.2.1 there vs 3." in error
