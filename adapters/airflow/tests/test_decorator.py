"""@task.covalent beside @task: registered through the provider info, XCom in and out."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import task
from conftest import load_dag, run_dag, xcom
from covalent_airflow.decorators.covalent import covalent_task


def test_task_covalent_is_registered_through_the_provider() -> None:
    assert task.covalent is covalent_task


def test_decorated_tasks_run_beside_plain_tasks(jobs: Path) -> None:
    dag = load_dag("decorated")
    assert dag.task_dict["scale"].custom_operator_name == "@task.covalent"
    assert set(dag.task_dict["scale"].upstream_task_ids) == {"load"}
    dr, tis = run_dag("decorated")
    assert {t: ti.state for t, ti in tis.items()} == {
        "load": "success", "scale": "success", "stats": "success", "report": "success",
        "scale__1": "success",
    }
    assert xcom(dr, "scale") == [10, 20, 30, 40]
    assert xcom(dr, "stats", "n") == 4
    assert xcom(dr, "stats", "total") == 100
    assert xcom(dr, "report") == "4 values, total 100"
    # scale ran remotely once, and the mapped copy once per element
    assert len(list(jobs.iterdir())) == 3
