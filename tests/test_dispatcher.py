"""The standalone dispatcher: failure isolation, retries, time limits, cancellation, redispatch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import covalent_core as ct
from covalent_core.errors import ExecutorConfigError, ExecutorNotFoundError, UnpicklableInputError


def _count(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_failed_node_stops_only_its_descendants(tmp_path):
    @ct.electron
    def ok(x):
        return x + 1

    @ct.electron
    def broken(x):
        raise ZeroDivisionError(f"cannot divide {x}")

    @ct.lattice
    def workflow(x):
        bad = broken(x)
        after_bad = ok(bad)
        good = ok(x)
        after_good = ok(good)
        return [after_bad, after_good]

    result = ct.dispatch_sync(workflow)(1)
    assert result.status == "FAILED"
    assert "broken(0): ZeroDivisionError: cannot divide 1" in result.error
    by_name = {}
    for node in result.get_all_node_results():
        by_name.setdefault(node["node_name"], []).append(node)
    assert by_name["broken"][0]["status"] == "FAILED"
    assert 'raise ZeroDivisionError(f"cannot divide {x}")' in by_name["broken"][0]["traceback"]
    statuses = sorted(str(n["status"]) for n in by_name["ok"])
    assert statuses == ["COMPLETED", "COMPLETED", "NEW_OBJECT"]
    assert result.result is None


def test_retries_with_backoff(tmp_path):
    attempts = tmp_path / "attempts.txt"

    @ct.electron(executor="local", retries=2)
    def flaky():
        with open(attempts, "a") as fh:
            fh.write("x\n")
        if len(attempts.read_text().splitlines()) < 3:
            raise RuntimeError("not yet")
        return "done"

    @ct.lattice
    def workflow():
        return flaky()

    result = ct.dispatch_sync(workflow)()
    assert result.result == "done"
    assert _count(attempts) == 3
    assert result.get_node_result(0)["attempts"] == 3


def test_retries_exhausted_keeps_last_error(tmp_path):
    class Rejecting(ct.executor.BaseExecutor):
        def run(self, function, args, kwargs, task_metadata):
            raise ConnectionError("backend refused the job: queue 'gpu' is disabled")

    @ct.electron(executor=Rejecting(retries=1))
    def task():
        return 1

    @ct.lattice
    def workflow():
        return task()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert node["attempts"] == 2
    assert "queue 'gpu' is disabled" in node["error"]


def test_time_limit_stops_a_local_task(tmp_path):
    @ct.electron(executor="local", time_limit=0.5)
    def sleepy():
        import time

        time.sleep(30)

    @ct.lattice
    def workflow():
        return sleepy()

    started = time.monotonic()
    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    assert "exceeded its time_limit of 0.5s" in result.get_node_result(0)["error"]
    assert time.monotonic() - started < 25  # the worker was stopped, not waited for


def test_cancel_whole_dispatch(tmp_path):
    @ct.electron(executor="local")
    def slow(i):
        import time

        time.sleep(30)
        return i

    @ct.electron
    def total(xs):
        return sum(xs)

    @ct.lattice
    def workflow():
        return total([slow(i) for i in range(2)])

    dispatch_id = ct.dispatch(workflow)()
    _wait_for_status(dispatch_id, "slow", "RUNNING")
    message = ct.cancel(dispatch_id)
    assert message == f"Dispatch {dispatch_id} cancelled."
    result = ct.get_result(dispatch_id, wait=True, timeout=30)
    assert result.status == "CANCELLED"
    assert {str(n["status"]) for n in result.get_all_node_results()
            if n["node_name"] != ":parameter:0" and not n["node_name"].startswith(":param")} \
        == {"CANCELLED"}


def test_cancel_some_tasks(tmp_path):
    @ct.electron(executor="local")
    def slow():
        import time

        time.sleep(30)
        return 1

    @ct.electron
    def fast():
        return 2

    @ct.lattice
    def workflow():
        return [slow(), fast()]

    dispatch_id = ct.dispatch(workflow)()
    _wait_for_status(dispatch_id, "slow", "RUNNING")
    assert ct.cancel(dispatch_id, 0) == f"Cancelled tasks [0] in dispatch {dispatch_id}."
    result = ct.get_result(dispatch_id, wait=True, timeout=30)
    assert result.get_node_result(0)["status"] == "CANCELLED"
    assert result.get_node_result(1)["status"] == "COMPLETED"
    assert result.status == "CANCELLED"


def _wait_for_status(dispatch_id, name, status, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = ct.get_result(dispatch_id).get_all_node_results()
        if any(n["node_name"] == name and n["status"] == status for n in nodes):
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} never reached {status}")


def test_unpicklable_argument_is_named_before_anything_runs():
    import threading

    @ct.electron
    def use(lock, n):
        return n

    @ct.lattice
    def workflow(lock):
        return use(lock, 1)

    with pytest.raises(UnpicklableInputError, match=r"argument 0 of use \(node 0\)"):
        ct.dispatch(workflow)(threading.Lock())


def test_unknown_executor_lists_installed_ones():
    @ct.electron(executor="slurmm")
    def task():
        return 1

    @ct.lattice
    def workflow():
        return task()

    with pytest.raises(ExecutorNotFoundError, match=r"no executor named 'slurmm'.*dask, local"):
        ct.dispatch(workflow)()


def test_invalid_executor_config_names_the_key(monkeypatch):
    from covalent_core import config

    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__LOCAL__LOG_STDOUTT", "x.txt")
    config.reload()

    @ct.electron(executor="local")
    def task():
        return 1

    @ct.lattice
    def workflow():
        return task()

    expected = r"executors\.local: unknown option\(s\) log_stdoutt"
    with pytest.raises(ExecutorConfigError, match=expected):
        ct.dispatch(workflow)()


def test_get_result_from_another_process():
    @ct.electron
    def inc(x):
        return x + 1

    @ct.lattice
    def workflow(x):
        return inc(inc(x))

    dispatch_id = ct.dispatch_sync(workflow)(1).dispatch_id
    code = textwrap.dedent(f"""
        import covalent_core as ct
        r = ct.get_result({dispatch_id!r}, wait=True)
        print(r.status, r.result, r.get_node_result(0)["output"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.split() == ["COMPLETED", "3", "2"]


def test_redispatch_with_replaced_electron_reuses_unchanged_nodes(tmp_path):
    calls = tmp_path / "calls.txt"

    @ct.electron
    def task_1(x):
        with open(calls, "a") as fh:
            fh.write("task_1\n")
        return x * 10

    @ct.electron
    def task_2(y):
        return y + 1

    @ct.lattice
    def workflow(x):
        return task_2(task_1(x))

    first = ct.dispatch_sync(workflow)(3)
    assert first.result == 31

    @ct.electron
    def task_2_redefined(y):
        return y - 1

    new_id = ct.redispatch(first.dispatch_id, replace_electrons={"task_2": task_2_redefined},
                           reuse_previous_results=True)()
    assert new_id != first.dispatch_id
    second = ct.get_result(new_id, wait=True)
    assert second.result == 29
    assert calls.read_text().split() == ["task_1"]  # task_1 was reused, not re-run
    reused = second.get_node_result(0)
    assert reused["start_time"] == reused["end_time"]

    third = ct.get_result(ct.redispatch(first.dispatch_id)(5), wait=True)
    assert third.result == 51 and third.inputs["args"] == [5]


def test_a_large_argument_is_stored_once(tmp_path):
    """The graph keeps the inputs beside the parameter nodes: one copy on disk, not three."""
    big = b"x" * (20 * 1024 * 1024)

    @ct.electron
    def size(data):
        return len(data)

    @ct.lattice
    def workflow(data):
        return size(data)

    dispatch_id = ct.dispatch(workflow, disable_run=True)(big)
    result = ct.get_result(dispatch_id)
    stored = sum(f.stat().st_size for f in Path(result.results_dir).iterdir())
    assert len(big) < stored < 1.1 * len(big)
    assert result.inputs["args"] == [big]
    (param,) = [n for n in result.get_all_node_results() if n["node_id"] != 0]
    assert param["output"] == big
    assert ct.redispatch(dispatch_id)() == dispatch_id
    assert ct.get_result(dispatch_id, wait=True, timeout=60).result == len(big)
