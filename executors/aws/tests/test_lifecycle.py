"""Every AWS executor through covalent_core's public API, against moto's server + the agent.

The user's function really runs (the agent starts the job's container command, which is
the covalent_aws entrypoint running the core's runner) and its result comes back
through S3. Braket's job API is emulated by the peer because moto has none (a mock);
the job's container still really runs. EC2 instances are moto's, their SSH endpoint is
the session's real sshd on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cloudpickle
import pytest
from aws_cases import CASES
from covalent_testing.aws import inject_errors

import covalent_core as ct


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request):
    return request.param


@pytest.fixture
def make(case, infra, tmp_path, sshd_server):
    return lambda **extra: case.build(infra, tmp_path, sshd_server, **extra)


def wait_for(check, timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s")


def test_tasks_run_and_results_flow_back(make):
    ex = make()

    @ct.electron(executor=ex)
    def square(x):
        print(f"squaring {x}")
        return x * x

    @ct.electron(executor=ex)
    def total(values):
        return sum(values)

    @ct.lattice
    def workflow(n):
        return total([square(i) for i in range(n)])

    result = ct.dispatch_sync(workflow)(3)
    assert result.status == "COMPLETED", result.error
    assert result.result == 5
    squares = [n for n in result.get_all_node_results() if n["node_name"] == "square"]
    assert sorted(n["stdout"] for n in squares) == [f"squaring {i}\n" for i in range(3)]
    assert all(n["job_handle"] for n in squares)


def test_raising_task_reports_the_remote_traceback(make):
    ex = make()

    @ct.electron(executor=ex)
    def fails(x):
        print("about to fail")
        raise ValueError(f"bad input {x}")

    @ct.lattice
    def workflow():
        return fails(7)

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert node["status"] == "FAILED"
    assert "ValueError: bad input 7" in node["error"]
    assert "in fails" in node["traceback"] and 'raise ValueError(f"bad input {x}")' in (
        node["traceback"])
    assert "about to fail" in node["stdout"]


def _sleeper_workflow(ex, marker: Path, **options):
    @ct.electron(executor=ex, **options)
    def sleeper(path):
        import time

        open(path + ".started", "w").close()
        time.sleep(120)
        open(path + ".finished", "w").close()
        return "never"

    @ct.lattice
    def workflow():
        return sleeper(str(marker))

    return workflow


def test_cancel_stops_the_job_on_the_backend(make, case, peer, tmp_path):
    marker = tmp_path / "job"
    dispatch_id = ct.dispatch(_sleeper_workflow(make(), marker))()
    wait_for(lambda: Path(f"{marker}.started").exists(), what="the task starting")
    ct.cancel(dispatch_id)
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    assert result.status == "CANCELLED"
    handle = result.get_node_result(0)["job_handle"]
    wait_for(lambda: case.stopped(peer, handle), what=f"{case.name} stopping {handle}")
    assert not Path(f"{marker}.finished").exists()


def test_time_limit_stops_the_job(make, case, peer, tmp_path):
    marker = tmp_path / "job"
    # Long enough for the job to start on a busy machine, far shorter than the task.
    result = ct.dispatch_sync(_sleeper_workflow(make(), marker, time_limit=10))()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "time_limit" in node["error"]
    wait_for(lambda: case.stopped(peer, node["job_handle"]),
             what=f"{case.name} stopping {node['job_handle']}")
    assert Path(f"{marker}.started").exists() and not Path(f"{marker}.finished").exists()


_DISPATCHER = textwrap.dedent("""
    import sys
    import cloudpickle
    import covalent_core as ct

    ex = cloudpickle.loads(open(sys.argv[1], "rb").read())

    @ct.electron(executor=ex)
    def waits(path):
        import os, time
        open(path + ".started", "w").close()
        while not os.path.exists(path):
            time.sleep(0.1)
        return 42

    @ct.lattice
    def workflow(path):
        return waits(path)

    dispatch_id = ct.dispatch(workflow)(sys.argv[2])
    print(dispatch_id, flush=True)
    ct.get_result(dispatch_id, wait=True)
""")


def test_resumed_dispatch_reattaches_to_the_running_job(make, case, peer, tmp_path):
    """The dispatching process dies mid-task; a resume adopts the job instead of resubmitting."""
    script, pickled, go = tmp_path / "dispatch.py", tmp_path / "executor.pkl", tmp_path / "go"
    script.write_text(_DISPATCHER)
    pickled.write_bytes(cloudpickle.dumps(make()))
    proc = subprocess.Popen([sys.executable, str(script), str(pickled), str(go)],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        dispatch_id = proc.stdout.readline().strip()
        assert dispatch_id, "the dispatching process printed no dispatch id"
        wait_for(lambda: Path(f"{go}.started").exists(), what="the task starting")
        wait_for(lambda: ct.get_result(dispatch_id).get_node_result(0)["job_handle"],
                 what="the job handle being saved")
        before = ct.get_result(dispatch_id).get_node_result(0)["job_handle"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    go.touch()
    ct.redispatch(dispatch_id)()
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert result.get_node_result(0)["job_handle"] == before
    assert case.submissions(peer, tmp_path, dispatch_id, 0) == 1


def test_throttled_api_call_is_retried(make, case):
    """One throttling error is injected (a botocore hook answers in AWS's own format) into the
    call; botocore's retry mode retries it and the dispatch never notices."""
    ex = make()
    service, operation, code = case.throttled
    attempts = inject_errors(ex.client(service), operation, code, times=1)

    @ct.electron(executor=ex)
    def double(x):
        return 2 * x

    @ct.lattice
    def workflow():
        return double(21)

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert attempts[:2] == ["injected", "sent"]
