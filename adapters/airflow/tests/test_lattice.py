"""A lattice as a DAG: tasks are its electrons, wired through XCom, with its executors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import load_dag, run_dag, xcom
from covalent_airflow import to_dag

import covalent_core as ct


def test_tasks_are_the_electrons_and_edges_follow_the_graph() -> None:
    dag = load_dag("lattice_workflow")
    names = {tid.rsplit("_", 1)[0] for tid in dag.task_dict}
    # Inline nodes (the list, the indexing, a * 2) have no task of their own.
    assert names == {"add", "mul", "split", "total", "increment", "lattice"}
    by_name = {}
    for tid, task in dag.task_dict.items():
        by_name.setdefault(tid.rsplit("_", 1)[0], []).append(task)
    (total,) = by_name["total"]
    (split,) = by_name["split"]
    (mul,) = by_name["mul"]
    adds = {t.task_id for t in by_name["add"]}
    assert set(total.upstream_task_ids) == {split.task_id} | adds  # data and ct.wait
    assert set(mul.upstream_task_ids) < adds
    assert type(mul).__name__ == "LatticeNodeOperator"
    assert mul.executor_spec["class"] == "support.process_executor:ProcessExecutor"
    assert by_name["increment"][0].__class__.__name__ == "SublatticeOperator"


def test_lattice_runs_as_a_dag_and_matches_a_plain_call(
    jobs: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from lattice_workflow import workflow

    dr, tis = run_dag("lattice_workflow")
    log = capfd.readouterr().out
    assert dr.state == "success", {t: ti.state for t, ti in tis.items()}
    assert xcom(dr, "lattice_result") == {"sum": 18, "sub": 19, "low": 6}
    assert workflow(3) == {"sum": 18, "sub": 19, "low": 6}
    assert len(list(jobs.iterdir())) == 1  # only mul runs on the remote executor
    assert "multiplying 3 by 4 remotely" in log


def test_output_of_one_electron_needs_no_result_task() -> None:
    @ct.electron
    def inc(x: int) -> int:
        return x + 1

    @ct.lattice
    def chain(x: int) -> int:
        return inc(inc(x))

    dag = to_dag(chain, lattice_args=(1,))
    assert dag.dag_id == "chain"
    assert sorted(dag.task_dict) == ["inc_0", "inc_2"]
    assert dag.task_dict["inc_2"].upstream_task_ids == {"inc_0"}


def test_wait_on_a_node_traced_later() -> None:
    @ct.electron
    def inc(x: int) -> int:
        return x + 1

    @ct.lattice
    def ordered() -> int:
        first = inc(1)
        second = inc(2)
        ct.wait(first, [second])
        return first

    dag = to_dag(ordered)
    assert dag.task_dict["inc_0"].upstream_task_ids == {"inc_2"}


def test_electron_options_become_airflow_options() -> None:
    @ct.electron(retries=3, time_limit=30, executor=ct.executor.LocalExecutor(retries=1))
    def careful(x: int) -> int:
        return x

    @ct.electron(executor=ct.executor.LocalExecutor(retries=2, time_limit=60))
    def fallback(x: int) -> int:
        return x

    @ct.lattice
    def flow(x: int) -> list:
        return [careful(x), fallback(x)]

    dag = to_dag(flow, "options", lattice_args=(1,))
    careful_task, fallback_task = dag.task_dict["careful_0"], dag.task_dict["fallback_2"]
    assert careful_task.retries == 3
    assert careful_task.execution_timeout.total_seconds() == 30
    assert fallback_task.retries == 2
    assert fallback_task.execution_timeout.total_seconds() == 60
    assert set(dag.task_dict["lattice_result"].upstream_task_ids) == {"careful_0", "fallback_2"}


def test_not_a_lattice_is_refused() -> None:
    with pytest.raises(TypeError, match=r"expects a @ct\.lattice"):
        to_dag(lambda: 1)
