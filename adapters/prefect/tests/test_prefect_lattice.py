"""Lattices as Prefect flows: one task run per electron, dependencies, the lattice's value."""

from __future__ import annotations

import os
from dataclasses import dataclass

import covalent_prefect as cp
import pytest
from prefect import Flow
from prefect_api import subflow_runs, task_runs

import covalent_core as ct
from covalent_core.errors import ExecutorNotFoundError


@dataclass
class Stats:
    total: int
    count: int


@ct.electron
def square(x: int) -> int:
    return x * x


@ct.electron
def summarize(values: list[int]) -> Stats:
    return Stats(sum(values), len(values))


@ct.electron
def split(x: int) -> tuple[int, int]:
    return x // 10, x % 10


@ct.electron
def combine(a: int, b: int, *, scale: int = 1) -> int:
    return (a + b) * scale


@ct.electron
def pid() -> int:
    return os.getpid()


@ct.lattice
def inner(a: int) -> int:
    return square(a)


@ct.lattice
def workflow(n: int, scale: int = 2) -> dict[str, object]:
    squares = [square(i) for i in range(n)]        # fan-out, collected in a collection node
    stats = summarize(squares)                      # electron fed by a collection
    tens, ones = split(stats.total)                 # getattr + unpacked getitem nodes
    combined = combine(tens, ones, scale=scale)     # kwargs
    later = ct.wait(pid(), [combined])              # ct.wait: an order without data
    sub = ct.electron(inner)(ones + 1)              # operator node feeding a sublattice
    return {"stats": stats, "combined": combined, "sub": sub, "later": later}


def test_a_lattice_runs_as_a_prefect_flow() -> None:
    flow = cp.to_flow(workflow)
    assert isinstance(flow, Flow) and flow.name == "workflow"
    assert cp.to_flow(workflow) is flow
    state = flow(4, return_state=True)
    result = state.result()
    # squares 0, 1, 4, 9 -> total 14 -> (1 + 4) * 2
    assert result["stats"] == Stats(14, 4)
    assert result["combined"] == 10
    assert result["sub"] == 25
    assert result["later"] != os.getpid()

    # squares, summarize, split, combine, pid, and the subflow's placeholder task run
    runs = task_runs(state.state_details.flow_run_id, 4 + 1 + 1 + 1 + 1 + 1)
    names = sorted(r.name.rsplit("-", 1)[0] for r in runs)
    assert names == ["combine", "inner", "pid", "split", "square", "square", "square",
                     "square", "summarize"]
    assert all(r.state.is_completed() for r in runs)
    by_name = {r.name.rsplit("-", 1)[0]: r for r in runs}
    squares = {r.id for r in runs if r.name.startswith("square")}
    summarize_inputs = {i.id for i in by_name["summarize"].task_inputs["wait_for"]}
    assert summarize_inputs == squares  # the fan-in is a dependency in Prefect
    pid_waits = {i.id for i in by_name["pid"].task_inputs["wait_for"]}
    assert pid_waits == {by_name["combine"].id}  # ct.wait became wait_for
    combine_inputs = {i.id for inputs in by_name["combine"].task_inputs.values()
                      for i in inputs}
    assert by_name["split"].id in combine_inputs
    [sub] = subflow_runs(state.state_details.flow_run_id)
    assert sub.state.is_completed()


def test_a_failing_node_fails_the_flow_and_keeps_the_rest() -> None:
    @ct.electron
    def boom(x: int) -> int:
        raise RuntimeError(f"node exploded on {x}")

    @ct.lattice
    def partly(x: int) -> tuple[int, int]:
        return square(x), square(boom(x))

    state = cp.to_flow(partly)(3, return_state=True)
    assert state.is_failed()
    with pytest.raises(cp.LatticeFailedError, match=r"boom\(\d+\).*node exploded on 3"):
        state.result()
    runs = task_runs(state.state_details.flow_run_id, 2)
    by_state = {r.name.rsplit("-", 1)[0]: r.state.type.value for r in runs}
    assert "COMPLETED" in [r.state.type.value for r in runs if r.name.startswith("square")]
    assert by_state["boom"] == "FAILED"


def test_a_missing_executor_fails_before_any_task_runs() -> None:
    @ct.electron(executor="no_such_plugin")
    def nowhere(x: int) -> int:
        return x

    @ct.lattice
    def lost(x: int) -> int:
        return nowhere(square(x))

    state = cp.to_flow(lost)(2, return_state=True)
    with pytest.raises(ExecutorNotFoundError, match=r"nowhere.*no_such_plugin.*pip install"):
        state.result()
    assert task_runs(state.state_details.flow_run_id, 0) == []
