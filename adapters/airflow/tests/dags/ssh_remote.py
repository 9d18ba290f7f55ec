"""@task.covalent on the SSH executor, configured wholly by an Airflow connection."""

from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="covalent_ssh", schedule=None, start_date=datetime(2026, 1, 1))
def pipeline():
    @task.covalent(executor="ssh", conn_id="covalent_ssh")
    def remote_sum(values: list[int]) -> int:
        import os

        print(f"summing on the far side of ssh, pid {os.getpid()}")
        return sum(values)

    @task.covalent(executor="ssh", conn_id="covalent_ssh")
    def remote_fail() -> None:
        raise RuntimeError("failed over ssh")

    remote_sum([1, 2, 3])
    remote_fail()


dag = pipeline()
