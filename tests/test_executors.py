"""The executor contract, with Covalent's documentation examples (only the import changed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

import covalent_core as ct
from covalent_core.executor import AsyncBaseExecutor, BaseExecutor


class TimingExecutor(BaseExecutor):
    """Verbatim shape of Covalent's "Creating a Custom Executor" example."""

    def __init__(self, timing_filepath, **kwargs):
        self.timing_filepath = str(Path(timing_filepath).resolve())
        super().__init__(**kwargs)

    def run(self, function: Callable, args: list, kwargs: dict, task_metadata: dict):
        start = time.process_time()
        result = function(*args, **kwargs)
        time_taken = time.process_time() - start
        with open(f"{self.timing_filepath}", "a") as f:
            f.write(
                f"Node {task_metadata['node_id']} in dispatch {task_metadata['dispatch_id']} "
                f"took {time_taken}s of CPU time.\n"
            )
        return result


def test_custom_timing_executor_doc_example(tmp_path):
    timing_log = tmp_path / "cpu_timing.log"
    timing_executor = TimingExecutor(timing_log)

    @ct.electron(executor=timing_executor)
    def add(x, y):
        return x + y

    @ct.electron(executor=timing_executor)
    def multiply(x, y):
        return x * y

    @ct.lattice
    def workflow(x, y):
        r1 = add(x, y)
        return multiply(y, r1)

    dispatch_id = ct.dispatch(workflow)(3, 4)
    result = ct.get_result(dispatch_id, wait=True)
    assert result.result == 28
    lines = timing_log.read_text().splitlines()
    assert len(lines) == 2
    assert all(dispatch_id in line for line in lines)
    assert {line.split()[1] for line in lines} == {"0", "3"}


def test_shared_local_executor_with_log_files(tmp_path):
    same_executor = ct.executor.LocalExecutor(log_stdout="exec_stdout_common.txt",
                                              log_stderr="exec_stderr_common.txt")

    @ct.electron(executor=same_executor)
    def task_1():
        import sys

        print("task_1 says hi")
        print("task_1 warns", file=sys.stderr)
        return [10, 20, 30]

    @ct.electron(executor=same_executor)
    def task_2(x_list):
        print("task_2 squares", len(x_list))
        return [x**2 for x in x_list]

    @ct.lattice
    def workflow():
        return task_2(task_1())

    result = ct.dispatch_sync(workflow)()
    assert result.result == [100, 400, 900]
    assert result.get_node_result(0)["stdout"] == "task_1 says hi\n"
    assert result.get_node_result(0)["stderr"] == "task_1 warns\n"
    assert result.get_node_result(1)["stdout"] == "task_2 squares 3\n"
    # Covalent writes relative log paths under <results_dir>/<dispatch_id>/.
    logs = Path(result.results_dir)
    out = (logs / "exec_stdout_common.txt").read_text()
    assert "task_1 says hi" in out and "task_2 squares 3" in out
    assert "task_1 warns" in (logs / "exec_stderr_common.txt").read_text()


def test_executor_by_name_and_lazy_class_lookup():
    @ct.electron(executor="local")
    def square(x):
        return x * x

    @ct.lattice
    def workflow(x):
        return square(x)

    assert ct.dispatch_sync(workflow)(7).result == 49
    assert ct.executor.LocalExecutor.__name__ == "LocalExecutor"
    assert ct.executor.DaskExecutor.__name__ == "DaskExecutor"
    with pytest.raises(AttributeError, match="installed executors: dask, local"):
        ct.executor.NoSuchExecutor  # noqa: B018


def test_dask_executor_with_scheduler_address():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        dask_executor = ct.executor.DaskExecutor(scheduler_address=cluster.scheduler_address)

        @ct.electron(executor=dask_executor)
        def my_custom_task(x, y):
            print("on dask", x, y)
            return x + y

        @ct.lattice
        def workflow(x):
            return my_custom_task(my_custom_task(x, 1), 2)

        result = ct.dispatch_sync(workflow)(1)
        assert result.status == "COMPLETED", result.error
        assert result.result == 4
        assert result.get_node_result(0)["stdout"] == "on dask 1 1\n"


def test_dask_fan_out_shares_one_client_and_batched_graph_updates():
    """A fan-out's tasks connect once; all but the first reach the scheduler together."""
    from distributed import LocalCluster
    from distributed.diagnostics.plugin import SchedulerPlugin

    class Updates(SchedulerPlugin):
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def update_graph(self, scheduler, *, keys, **kwargs) -> None:
            self.sizes.append(len(keys))

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=None, host="127.0.0.1") as cluster:
        updates = Updates()
        cluster.scheduler.add_plugin(updates)
        before = set(cluster.scheduler.clients)
        dask_executor = ct.executor.DaskExecutor(scheduler_address=cluster.scheduler_address)
        square = ct.electron(lambda x: x * x, executor=dask_executor)
        total = ct.electron(sum, executor=dask_executor)

        @ct.lattice
        def workflow(n):
            return total([square(i) for i in range(n)])

        result = ct.dispatch_sync(workflow)(20)
        assert result.status == "COMPLETED", result.error
        assert result.result == sum(i * i for i in range(20))
        assert len(set(cluster.scheduler.clients) - before) == 1
        assert updates.sizes == [1, 19, 1]


def test_default_dask_cluster_is_started_once_and_reused(monkeypatch):
    from covalent_core import config
    from covalent_core.executor import dask as dask_module

    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__NO_CLUSTER", "false")
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__DASK_WORKERS", "1")
    config.reload()

    @ct.electron
    def where():
        import os

        return os.getpid()

    @ct.lattice
    def workflow():
        return [where(), where()]

    first = ct.dispatch_sync(workflow)()
    assert first.status == "COMPLETED", first.error
    assert first.get_node_result(0)["executor"] == "dask"
    address = dask_module.local_cluster_address()
    second = ct.dispatch_sync(workflow)()
    assert dask_module.local_cluster_address() == address
    assert set(first.result) == set(second.result)  # the same single worker process


def test_one_instance_runs_many_electrons_concurrently(tmp_path):
    class SleepyExecutor(BaseExecutor):
        def run(self, function, args, kwargs, task_metadata):
            start = time.monotonic()
            value = function(*args, **kwargs)
            return (start, time.monotonic(), value)

    sleepy = SleepyExecutor()

    @ct.electron(executor=sleepy)
    def nap(i):
        time.sleep(0.3)
        return i

    @ct.lattice
    def workflow():
        return [nap(i) for i in range(4)]

    spans = ct.dispatch_sync(workflow)().result
    # Every pair of tasks overlapped in time: they ran at once on one instance.
    for a in spans:
        for b in spans:
            assert a[0] < b[1] and b[0] < a[1]


def test_async_executor_and_per_task_job_handles():
    seen = {}

    class AsyncEcho(AsyncBaseExecutor):
        async def run(self, function, args, kwargs, task_metadata):
            await self.set_job_handle({"job": task_metadata["node_id"]})
            seen[task_metadata["node_id"]] = await self.get_cancel_requested()
            return function(*args, **kwargs)

    ex = AsyncEcho()

    @ct.electron(executor=ex)
    def inc(x):
        return x + 1

    @ct.lattice
    def workflow():
        return [inc(1), inc(2)]

    result = ct.dispatch_sync(workflow)()
    assert result.result == [2, 3]
    handles = {n["node_id"]: n["job_handle"] for n in result.get_all_node_results()
               if n["node_name"] == "inc"}
    assert handles == {0: {"job": 0}, 2: {"job": 2}}
    assert seen == {0: False, 2: False}


class KeyedExecutor(BaseExecutor):
    SECRET_ATTRIBUTES = frozenset({"passphrase"})

    def __init__(self, token: str = "", passphrase: str = "", **kwargs):
        super().__init__(**kwargs)
        self.host = "127.0.0.1"
        self.token = SecretStr(token)
        self.passphrase = passphrase
        self._client = object()

    def run(self, function, args, kwargs, task_metadata):
        return function(*args, **kwargs)


def test_to_dict_and_pickle_never_carry_secrets():
    import pickle

    ex = KeyedExecutor("tok-123", "pass-456", time_limit=5)
    d = ex.to_dict()
    assert d["short_name"] == "test_executors"
    assert d["attributes"]["host"] == "127.0.0.1" and d["attributes"]["time_limit"] == 5
    text = repr(d) + repr(pickle.dumps(ex))
    assert "tok-123" not in text and "pass-456" not in text and "_client" not in text
    clone = KeyedExecutor().from_dict(d)
    assert clone.host == "127.0.0.1" and clone.time_limit == 5


def test_deps_and_hooks_run_around_the_task(tmp_path):
    marker = tmp_path / "bash.txt"

    def setup_value():
        return 41

    def after():
        print("after hook ran")

    @ct.electron(
        executor="local",
        deps_bash=[f"echo from-bash > {marker}"],
        call_before=[ct.DepsCall(setup_value, retval_keyword="base")],
        call_after=[ct.DepsCall(after)],
    )
    def compute(x, base=0):
        return base + x

    @ct.lattice
    def workflow():
        return compute(1)

    result = ct.dispatch_sync(workflow)()
    assert result.result == 42
    assert marker.read_text().strip() == "from-bash"
    assert "after hook ran" in result.get_node_result(0)["stdout"]


def test_unreachable_dask_scheduler_is_named():
    import dask

    dask_executor = ct.executor.DaskExecutor(scheduler_address="tcp://127.0.0.1:9")

    @ct.electron(executor=dask_executor)
    def task(x):
        return x

    @ct.lattice
    def workflow():
        return [task(1), task(2)]

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    for node in (0, 2):
        error = result.get_node_result(node)["error"]
        assert "scheduler_address='tcp://127.0.0.1:9'" in error, error
        assert "start that scheduler or correct scheduler_address" in error
