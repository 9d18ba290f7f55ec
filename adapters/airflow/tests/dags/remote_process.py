"""A CovalentOperator on a remote executor: submits, defers, resumes to fetch."""

import os
from datetime import datetime

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator
from support.process_executor import ProcessExecutor


def cube(x: int) -> int:
    print(f"cubing {x} in pid {os.getpid()}")
    return x**3


with DAG("covalent_remote_process", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CovalentOperator(task_id="cube", python_callable=cube, op_kwargs={"x": 3},
                     executor=ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"]))
