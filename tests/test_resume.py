"""A dispatching process killed with SIGKILL mid-run, and the dispatch resumed elsewhere.

Completed nodes are not re-run; a remote job that outlived the process is reattached
to, not submitted again; a local task that died with the process runs again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import covalent_core as ct
from covalent_core.errors import DispatchActiveError

SCRIPT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import covalent_core as ct
    from support.process_executor import ProcessExecutor

    marks = Path({marks!r})
    remote = ProcessExecutor(workdir={jobs!r}, poll_freq=0.1)

    def mark(name):
        with open(marks / name, "a") as fh:
            fh.write("run\\n")

    @ct.electron(executor="local")
    def quick(i):
        mark(f"quick-{{i}}")
        return i

    @ct.electron(executor="local")
    def add_all(values):
        mark("add_all")
        return sum(values)

    @ct.electron(executor=remote)
    def remote_slow(x):
        import time
        time.sleep(4)
        mark("remote_slow")
        return x * 100

    @ct.electron(executor="local")
    def local_slow(x):
        import time
        mark("local_slow_started")
        time.sleep(3)
        return x + 1

    @ct.electron
    def combine(a, b):
        return a + b

    @ct.lattice
    def workflow(n):
        s = add_all([quick(i) for i in range(n)])
        return combine(remote_slow(s), local_slow(s))

    print(ct.dispatch(workflow)(3), flush=True)
    time.sleep(120)
""")


def _runs(marks: Path, name: str) -> int:
    path = marks / name
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_sigkill_mid_dispatch_then_resume(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    jobs = tmp_path / "jobs"
    script = tmp_path / "dispatcher.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), marks=str(marks),
                                    jobs=str(jobs)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        dispatch_id = proc.stdout.readline().strip()
        assert dispatch_id, "the dispatching process printed no id"
        deadline = time.monotonic() + 60
        while True:
            nodes = {n["node_name"]: n for n in ct.get_result(dispatch_id).get_all_node_results()}
            if nodes["remote_slow"]["job_handle"] and _runs(marks, "local_slow_started"):
                break
            assert time.monotonic() < deadline, "the slow nodes never started"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    interrupted = ct.get_result(dispatch_id)
    assert interrupted.status == "RUNNING"
    with pytest.raises(DispatchActiveError, match="has died"):
        ct.get_result(dispatch_id, wait=True)

    assert ct.redispatch(dispatch_id)() == dispatch_id
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "COMPLETED", result.error
    assert result.result == 300 + 4
    for name in ("quick-0", "quick-1", "quick-2", "add_all"):
        assert _runs(marks, name) == 1, f"{name} ran again"
    assert _runs(marks, "remote_slow") == 1  # reattached to the surviving job
    assert len(list(jobs.iterdir())) == 1  # ...which was submitted once
    assert _runs(marks, "local_slow_started") == 2  # died with the process, so ran again


def test_resume_keeps_whole_outputs_a_crash_left_unrecorded(tmp_path):
    """Outputs are written before their status: a whole file counts, a cut one is re-run."""
    import cloudpickle

    from covalent_core.store import artifacts

    marks = tmp_path / "marks"
    marks.mkdir()

    @ct.electron(executor="local")
    def step(i):
        (marks / f"step-{i}").write_text("run")
        return i * 10

    @ct.electron(executor="local")
    def total(values):
        return sum(values)

    @ct.lattice
    def workflow():
        return total([step(0), step(1)])

    dispatch_id = ct.dispatch(workflow, disable_run=True)()
    results_dir = Path(ct.get_result(dispatch_id).results_dir)
    first, second = sorted(n["node_id"] for n in ct.get_result(dispatch_id)
                           .get_all_node_results() if n["node_name"] == "step")
    artifacts.write_output(results_dir / artifacts.node_output_name(first), cloudpickle.dumps(0))
    cut = results_dir / artifacts.node_output_name(second)
    artifacts.write_output(cut, cloudpickle.dumps(10))
    cut.write_bytes(cut.read_bytes()[:-3])

    ct.redispatch(dispatch_id)()
    result = ct.get_result(dispatch_id, wait=True, timeout=60)
    assert result.status == "COMPLETED", result.error
    assert result.result == 10
    assert not (marks / "step-0").exists()  # its whole output was kept
    assert (marks / "step-1").exists()  # its cut output was discarded and the node re-run


LAUNCH_SCRIPT = textwrap.dedent("""
    import asyncio, sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    import covalent_core as ct
    from support.process_executor import ProcessExecutor

    marks = Path({marks!r})

    class CrashWindow(ProcessExecutor):
        '''Holds the dispatcher {where} the launch, so the test can kill it there.'''

        async def submit(self, task):
            first = not (marks / "resumed").exists()
            if first and {where!r} == "before":
                (marks / "at-launch").touch()
                await asyncio.sleep(60)
            handle = await super().submit(task)
            if first and {where!r} == "after":
                (marks / "at-launch").touch()
                await asyncio.sleep(60)
            return handle

    @ct.electron(executor=CrashWindow(workdir={jobs!r}, poll_freq=0.1))
    def once(x):
        import time
        with open(marks / "runs", "a") as fh:
            fh.write("run\\n")
        time.sleep(1)
        return x * 2

    @ct.lattice
    def workflow(x):
        return once(x)

    print(ct.dispatch(workflow)(21), flush=True)
    time.sleep(120)
""")


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_kill_at_the_launch_moment_never_runs_the_job_twice(tmp_path, where):
    """The job's name is committed before its launch; a resume finds the job by it."""
    marks = tmp_path / "marks"
    marks.mkdir()
    script = tmp_path / "dispatcher.py"
    script.write_text(LAUNCH_SCRIPT.format(tests=str(Path(__file__).parent), marks=str(marks),
                                           jobs=str(tmp_path / "jobs"), where=where))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        dispatch_id = proc.stdout.readline().strip()
        deadline = time.monotonic() + 60
        while not (marks / "at-launch").exists():
            assert time.monotonic() < deadline, "the launch never began"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    pending = ct.get_result(dispatch_id).get_node_result(0)["job_handle"]
    assert set(pending) == {"covalent_pending_job"}  # named before the launch, no handle yet

    (marks / "resumed").touch()
    ct.redispatch(dispatch_id)()
    result = ct.get_result(dispatch_id, wait=True, timeout=90)
    assert result.status == "COMPLETED", result.error
    assert result.result == 42
    assert _runs(marks, "runs") == 1
    assert len(list((tmp_path / "jobs").iterdir())) == 1  # one job in all
