"""Results XCom should not carry go to the results store; XCom passes references."""

import os
from datetime import datetime

import covalent_airflow
from airflow.sdk import dag, task
from support.process_executor import ProcessExecutor

REMOTE = ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"])


@dag(dag_id="covalent_large_results", schedule=None, start_date=datetime(2026, 1, 1))
def pipeline():
    @task.covalent(executor=REMOTE)
    def big() -> list[int]:
        return list(range(20_000))  # about 110 kB of JSON, over the 64 KiB default

    @task.covalent(executor="local")
    def odd_type() -> set:
        return {1, 2, 3}  # XCom's JSON has no sets

    @task.covalent(executor="local")
    def small() -> dict:
        return {"ok": True, "items": [1, 2]}

    @task.covalent(executor=REMOTE)
    def combine(values: list[int], extra: set, meta: dict) -> int:
        return len(values) + sum(extra) + len(meta["items"])

    @task
    def plain(values) -> int:
        return len(covalent_airflow.resolve(values))

    values = big()
    combine(values, odd_type(), small())
    plain(values)


dag = pipeline()
