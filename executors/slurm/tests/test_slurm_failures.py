"""Failure paths on the real cluster, mostly through the login-node sshd: time limits (the
dispatcher's and Slurm's), cancel, an sshd restart, a SIGKILLed dispatcher, a failed node."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

from covalent_slurm import SlurmExecutor
from covalent_testing.killed_dispatch import killed_dispatch
from covalent_testing.slurm import SlurmCluster
from covalent_testing.sshd import SSHServer

import covalent_core as ct


def _runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _job(handle: dict) -> str:
    return f"{handle['job_id']}_{handle['array_index']}"


def _wait_state(slurm: SlurmCluster, handle: dict, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while slurm.job_states([str(handle["job_id"])]).get(_job(handle)) != state:
        assert time.monotonic() < deadline, f"{_job(handle)} never reached {state}"
        time.sleep(0.1)


def _sleepy_workflow(executor: SlurmExecutor, **electron_options):
    @ct.electron(executor=executor, **electron_options)
    def sleepy():
        import time

        print("going to sleep")
        time.sleep(300)

    @ct.lattice
    def workflow():
        return sleepy()

    return workflow


def _warm_up(options: dict) -> None:
    """Connect and check the interpreter first, so a time limit measures the job alone."""
    @ct.electron(executor=SlurmExecutor(**options))
    def warm_up():
        return "checked"

    @ct.lattice
    def workflow():
        return warm_up()

    assert ct.dispatch_sync(workflow)().result == "checked"


def test_dispatcher_time_limit_scancels_the_job(ssh_slurm, slurm: SlurmCluster):
    _warm_up(ssh_slurm)
    result = ct.dispatch_sync(_sleepy_workflow(SlurmExecutor(**ssh_slurm), time_limit=8))()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "exceeded its time_limit of 8s" in node["error"]
    _wait_state(slurm, node["job_handle"], "CANCELLED")


def test_time_limit_while_the_array_gathers_leaves_no_orphan_job(local_slurm,
                                                                  slurm: SlurmCluster):
    """The limit fires inside the 3 s array window: the job is submitted after its task
    gave up, so nobody holds its id; the executor scancels it as soon as sbatch answers."""
    _warm_up(local_slurm)  # the interpreter check is done once per shell: now submitting is quick
    executor = SlurmExecutor(**{**local_slurm, "array_window": 3.0,
                                "options": {"parsable": "", "job-name": "orphan-check"}})
    result = ct.dispatch_sync(_sleepy_workflow(executor, time_limit=0.5))()
    assert result.status == "FAILED"
    assert result.get_node_result(0)["job_handle"] is None
    deadline = time.monotonic() + 60
    while True:
        out = slurm.run("squeue", "-h", "-r", "--states=all", "-n", "orphan-check",
                        "-o", "%i|%T").stdout.split()
        if out and all(line.endswith("|CANCELLED") for line in out):
            break
        assert time.monotonic() < deadline, f"the orphaned job was not cancelled: {out}"
        time.sleep(0.2)
    assert executor.sbatch_calls == 1


def test_slurm_timeout_is_reported_as_such(ssh_slurm, slurm: SlurmCluster):
    """Slurm enforces limits in whole minutes, checked every ~30 s: this test waits ~1.5 min."""
    executor = SlurmExecutor(**{**ssh_slurm, "options": {"time": "0:01", "parsable": ""},
                                "poll_freq": 1.0})
    result = ct.dispatch_sync(_sleepy_workflow(executor))()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "TIMEOUT" in node["error"] and "options['time']" in node["error"]
    assert slurm.job_states([str(node["job_handle"]["job_id"])])[_job(node["job_handle"])] \
        == "TIMEOUT"


def test_cancel_reaches_scancel(ssh_slurm, slurm: SlurmCluster, wait_running):
    dispatch_id = ct.dispatch(_sleepy_workflow(SlurmExecutor(**ssh_slurm)))()
    handle = wait_running(dispatch_id, "sleepy")
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "CANCELLED"
    assert result.get_node_result(0)["status"] == "CANCELLED"
    _wait_state(slurm, handle, "CANCELLED")


def test_job_survives_an_sshd_restart_and_its_result_arrives(
        ssh_slurm, slurm_login_node: SSHServer, tmp_path: Path, wait_running):
    marks = tmp_path / "marks"
    executor = SlurmExecutor(**{**ssh_slurm, "retry_wait_time": 0.5})

    @ct.electron(executor=executor)
    def slow(x):
        import time

        with open(marks, "a") as fh:
            fh.write("started\n")
        time.sleep(4)
        return x * 2

    @ct.lattice
    def workflow(x):
        return slow(x)

    dispatch_id = ct.dispatch(workflow)(21)
    handle = wait_running(dispatch_id, "slow")
    accepted = slurm_login_node.log.read_text().count("Accepted publickey")
    slurm_login_node.restart()  # every open connection dropped, then back on the same port
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert result.get_node_result(0)["job_handle"] == handle
    assert _runs(marks) == 1
    assert executor.sbatch_calls == 1
    assert slurm_login_node.log.read_text().count("Accepted publickey") == accepted + 1


RESUME_SCRIPT = textwrap.dedent("""
    import time
    import covalent_core as ct
    from covalent_slurm import SlurmExecutor

    executor = SlurmExecutor(**{options!r})

    @ct.electron(executor=executor)
    def slow(x):
        import time
        with open({marks!r}, "a") as fh:
            fh.write("started\\n")
        time.sleep(5)
        return x + 1

    @ct.lattice
    def workflow(x):
        return slow(x)

    print(ct.dispatch(workflow)(41), flush=True)
    time.sleep(300)
""")


def test_resume_after_sigkill_reattaches_instead_of_resubmitting(
        ssh_slurm, slurm: SlurmCluster, tmp_path: Path, wait_running):
    marks = tmp_path / "marks"
    script = tmp_path / "dispatcher.py"
    script.write_text(RESUME_SCRIPT.format(options=ssh_slurm, marks=str(marks)))
    dispatch_id, handle = killed_dispatch(script, lambda d: wait_running(d, "slow"))

    assert ct.redispatch(dispatch_id)() == dispatch_id
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert result.get_node_result(0)["job_handle"] == handle  # the same Slurm job...
    assert _runs(marks) == 1  # ...run once
    batches = list((Path(ssh_slurm["remote_workdir"]) / ".covalent-slurm").glob("batch-*"))
    assert len(batches) == 1  # one sbatch in all


def test_node_failure_resubmits_the_job(local_slurm, slurm: SlurmCluster, tmp_path: Path,
                                        wait_running):
    """A real NODE_FAIL: the node is set DOWN under a running job that may not be requeued."""
    marks = tmp_path / "marks"
    executor = SlurmExecutor(**{**local_slurm, "options": {"no-requeue": "", "parsable": ""}})

    @ct.electron(executor=executor)
    def fragile():
        import time

        with open(marks, "a") as fh:
            fh.write("started\n")
        time.sleep(3)
        return "survived"

    @ct.lattice
    def workflow():
        return fragile()

    dispatch_id = ct.dispatch(workflow)()
    first = wait_running(dispatch_id, "fragile")
    deadline = time.monotonic() + 60
    while not _runs(marks):  # the task itself has started, not just its job
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        slurm.node_down("covalent test: node failure")
        _wait_state(slurm, first, "NODE_FAIL")
    finally:
        slurm.node_resume()
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    assert result.status == "COMPLETED", result.error
    assert result.result == "survived"
    assert result.get_node_result(0)["job_handle"]["job_id"] != first["job_id"]
    assert executor.sbatch_calls == 2
    assert _runs(marks) == 2
