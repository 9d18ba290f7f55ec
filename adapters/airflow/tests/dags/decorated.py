"""@task.covalent beside plain @task in a TaskFlow DAG, on a remote and a local executor."""

import os
from datetime import datetime

from airflow.sdk import dag, task
from support.process_executor import ProcessExecutor

REMOTE = ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"])


@dag(dag_id="covalent_decorated", schedule=None, start_date=datetime(2026, 1, 1))
def pipeline():
    @task
    def load() -> list[int]:
        return [1, 2, 3, 4]

    @task.covalent(executor=REMOTE)
    def scale(values: list[int], factor: int) -> list[int]:
        print(f"scaling {len(values)} values remotely")
        return [v * factor for v in values]

    @task.covalent(executor="local", multiple_outputs=True)
    def stats(values: list[int]) -> dict:
        return {"n": len(values), "total": sum(values)}

    @task
    def report(n: int, total: int) -> str:
        return f"{n} values, total {total}"

    summary = stats(scale(load(), factor=10))
    report(summary["n"], summary["total"])
    scale.partial(factor=3).expand(values=[[1], [2, 3]])


dag = pipeline()
