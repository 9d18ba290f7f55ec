"""A remote task that raises: the task fails and its remote traceback is in the task log."""

import os
from datetime import datetime

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator
from support.process_executor import ProcessExecutor


def check_input(x: int) -> int:
    print("validating input on the far side")
    if x > 5:
        raise ValueError(f"input {x} is out of range")
    return x


with DAG("covalent_remote_failure", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CovalentOperator(task_id="check", python_callable=check_input, op_args=[7],
                     executor=ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"]))
