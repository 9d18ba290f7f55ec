"""An inline task past its execution_timeout: Airflow calls on_kill, which stops the worker."""

import os
import time
from datetime import datetime, timedelta

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator

import covalent_core as ct


def hang(marker: str) -> None:
    with open(marker, "w") as fh:
        fh.write(str(os.getpid()))
    time.sleep(600)


with DAG("covalent_inline_timeout", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CovalentOperator(task_id="hang", python_callable=hang,
                     op_args=[os.path.join(os.environ["COVALENT_AIRFLOW_TEST_JOBS"], "hang.pid")],
                     execution_timeout=timedelta(seconds=3),
                     executor=ct.executor.LocalExecutor())
