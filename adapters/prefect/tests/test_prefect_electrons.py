"""Electrons inside hand-written Prefect flows become task runs on their executors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import covalent_prefect as cp
from prefect import flow
from prefect_api import logs, subflow_runs, task_runs

import covalent_core as ct


@ct.electron(executor="local")
def where(x: int) -> tuple[int, int]:
    print(f"computing {x}")
    print("a warning", file=sys.stderr)
    return x * 2, os.getpid()


@ct.electron
def add(a: int, b: int) -> int:
    return a + b


def test_electron_call_in_a_flow_is_a_task_run_on_its_executor() -> None:
    @flow
    def plain_flow(x: int) -> tuple[int, int]:
        return where(x)

    state = plain_flow(21, return_state=True)
    value, pid = state.result()
    assert value == 42
    assert pid != os.getpid()  # the Local executor ran it in a worker process
    [run] = task_runs(state.state_details.flow_run_id, 1)
    assert run.name.startswith("where")
    assert run.state.is_completed()
    assert run.start_time is not None and run.end_time is not None
    assert run.total_run_time.total_seconds() >= 0
    messages = logs(run.id, "computing 21")
    assert any("computing 21" in m for m in messages)
    assert any("a warning" in m for m in messages)


def test_outside_a_flow_an_electron_is_its_plain_function() -> None:
    value, pid = where(5)
    assert (value, pid) == (10, os.getpid())


def test_task_gives_submit_map_wait_for_tags_and_log_prints(tmp_path: Path) -> None:
    marker = tmp_path / "first"

    @ct.electron(executor="local")
    def record(value: int) -> int:
        marker.write_text(str(value))
        print(f"recorded {value}")
        return value

    @ct.electron(executor="local")
    def after_record() -> str:
        return marker.read_text()

    tagged = cp.task(add, tags=["covalent", "fanout"], log_prints=True)

    @flow
    def fan(values: list[int]) -> tuple[list[int], int, str]:
        mapped = tagged.map(values, 100)
        first = cp.task(record, log_prints=True).submit(7)
        later = cp.task(after_record).submit(wait_for=[first])
        total = cp.task(add).submit(mapped[0], mapped[1])
        return [f.result() for f in mapped], total.result(), later.result()

    state = fan([1, 2, 3], return_state=True)
    assert state.result() == ([101, 102, 103], 203, "7")
    runs = task_runs(state.state_details.flow_run_id, 6)
    assert len(runs) == 6 and all(r.state.is_completed() for r in runs)
    mapped = [r for r in runs if set(r.tags) == {"covalent", "fanout"}]
    assert len(mapped) == 3
    [after] = [r for r in runs if r.name.startswith("after_record")]
    assert after.task_inputs["wait_for"]  # the dependency Prefect draws in the UI
    [recorded] = [r for r in runs if r.name.startswith("record")]
    assert "recorded 7" in logs(recorded.id, "recorded 7")  # log_prints: one line, one log


def test_retries_are_prefect_retries(tmp_path: Path) -> None:
    attempts = tmp_path / "attempts"

    @ct.electron(executor="local", retries=2)
    def flaky() -> str:
        with attempts.open("a") as fh:
            fh.write("x")
        if len(attempts.read_text()) < 2:
            raise ConnectionError("first attempt fails")
        return "ok"

    @flow
    def retrying() -> str:
        return flaky()

    state = retrying(return_state=True)
    assert state.result() == "ok"
    [run] = task_runs(state.state_details.flow_run_id, 1)
    assert run.run_count == 2
    assert run.empirical_policy.retries == 2


def test_failures_raise_the_task_s_own_exception() -> None:
    @ct.electron(executor="local")
    def broken(x: int) -> int:
        raise ValueError(f"bad input {x}")

    @flow
    def failing() -> str:
        try:
            broken(3)
        except ValueError as exc:
            return str(exc)
        return "no error"

    assert failing() == "bad input 3"


def test_dask_executor_and_async_electrons() -> None:
    @ct.electron(executor="dask")
    def on_dask(x: int) -> tuple[int, int]:
        return x + 1, os.getpid()

    @ct.electron(executor="local")
    async def on_local(x: int) -> int:
        import asyncio

        await asyncio.sleep(0)
        return x * 3

    @flow
    def mixed() -> tuple[tuple[int, int], int]:
        return on_dask(1), cp.task(on_local).submit(2).result()

    (value, pid), tripled = mixed()
    assert value == 2 and pid != os.getpid()
    assert tripled == 6


def test_a_sublattice_electron_runs_as_a_subflow() -> None:
    @ct.lattice
    def inner(a: int) -> int:
        return add(a, 1)

    outer_electron = ct.electron(inner)

    @flow
    def outer() -> int:
        return outer_electron(4)

    state = outer(return_state=True)
    assert state.result() == 5
    [sub] = subflow_runs(state.state_details.flow_run_id)
    assert sub.name and sub.flow_id
