"""CovalentTaskRunner: Prefect's engine in the flow, task functions on executors."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import covalent_prefect as cp
import pytest
from prefect import flow, task
from prefect.cache_policies import INPUTS
from prefect_api import logs, task_runs

import covalent_core as ct


@task
def double(x: int) -> tuple[int, int]:
    return x * 2, os.getpid()


@task
def far_side() -> dict[str, Any]:
    """What the process that ran the function had: Prefect must not be needed there."""
    print("hello from the far side")
    print("careful", file=sys.stderr)
    return {"pid": os.getpid(), "prefect_loaded": "prefect" in sys.modules}


@task
async def far_side_async() -> dict[str, Any]:
    return {"pid": os.getpid(), "prefect_loaded": "prefect" in sys.modules}


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_plain_tasks_run_on_the_runner_s_executor(executor: str) -> None:
    @flow(task_runner=cp.CovalentTaskRunner(executor))
    def doubled(n: int) -> list[tuple[int, int]]:
        first = double.submit(1)
        rest = double.map(range(2, n), wait_for=[first])
        return [first.result(), *rest.result()]

    results = doubled(5)
    assert [v for v, _ in results] == [2, 4, 6, 8]
    assert all(pid != os.getpid() for _, pid in results)


def test_the_far_side_needs_no_prefect_and_its_streams_reach_the_logs(
    process_executor: Any,
) -> None:
    @flow(task_runner=cp.CovalentTaskRunner(process_executor))
    def remote() -> tuple[dict[str, Any], dict[str, Any]]:
        return far_side.submit().result(), far_side_async.submit().result()

    state = remote(return_state=True)
    sync_side, async_side = state.result()
    for side in (sync_side, async_side):
        assert side["pid"] != os.getpid()
        assert side["prefect_loaded"] is False
    assert process_executor.submits == 2
    runs = task_runs(state.state_details.flow_run_id, 2)
    [sync_run] = [r for r in runs if r.name.startswith("far_side-")]
    messages = logs(sync_run.id, "hello from the far side")
    assert any("hello from the far side" in m for m in messages)
    assert any("careful" in m for m in messages)


def test_an_electron_s_executor_overrides_the_runner_s(process_executor: Any) -> None:
    @ct.electron(executor=process_executor)
    def elsewhere(x: int) -> int:
        return x + 1

    @flow(task_runner=cp.CovalentTaskRunner("local"))
    def mixed() -> tuple[int, tuple[int, int]]:
        return cp.task(elsewhere).submit(1).result(), double.submit(3).result()

    assert mixed()[0] == 2
    assert process_executor.submits == 1


def test_hooks_and_caching_stay_in_the_flow_process(process_executor: Any) -> None:
    seen: list[str] = []
    key = uuid.uuid4().hex

    @task(cache_policy=INPUTS, persist_result=True,
          on_completion=[lambda tsk, run, state: seen.append(state.name)])
    def cached(token: str) -> str:
        return token.upper()

    @flow(task_runner=cp.CovalentTaskRunner(process_executor))
    def twice(token: str) -> tuple[str, str]:
        return cached.submit(token).result(), cached.submit(token).result()

    assert twice(key) == (key.upper(), key.upper())
    assert seen == ["Completed", "Cached"]  # the hook ran here, for both runs
    assert process_executor.submits == 1  # the cache hit shipped nothing


# Prefect warns that task runs outside a flow cannot send their logs to the API.
@pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted to send logs")
def test_the_runner_contract_outside_a_flow() -> None:
    runner = cp.CovalentTaskRunner("local", max_workers=4)
    twin = runner.duplicate()
    assert twin == runner and twin is not runner
    with pytest.raises(RuntimeError, match="must be started"):
        runner.submit(double, {"x": 1})
    with runner:
        futures = runner.map(double, {"x": [1, 2, 3]})
        assert [f.result()[0] for f in futures] == [2, 4, 6]


def test_generator_tasks_are_refused_clearly() -> None:
    @task
    def numbers() -> Iterator[int]:
        yield 1

    with cp.CovalentTaskRunner("local") as runner, pytest.raises(TypeError,
                                                                 match="is a generator"):
        runner.submit(numbers, {})
