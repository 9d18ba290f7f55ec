"""A CovalentOperator on the Local executor: runs inline in the worker, no deferral."""

from datetime import datetime

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator

import covalent_core as ct


def square(x: int) -> int:
    print(f"squaring {x}")
    return x * x


with DAG("covalent_inline_local", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CovalentOperator(task_id="square", python_callable=square, op_args=[7],
                     executor=ct.executor.LocalExecutor())
