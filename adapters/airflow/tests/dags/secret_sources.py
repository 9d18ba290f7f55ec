"""Executor secrets from an Airflow connection or the environment, never from DAG code."""

import os
from datetime import datetime

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator
from token_executor import TokenProcessExecutor


def whoami() -> str:
    print("running with credentials the DAG never saw")
    return "done"


with DAG("covalent_secret_sources", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    workdir = os.environ["COVALENT_AIRFLOW_TEST_JOBS"]
    CovalentOperator(task_id="via_connection", python_callable=whoami,
                     executor=TokenProcessExecutor(workdir=workdir), conn_id="covalent_token")
    CovalentOperator(task_id="via_environment", python_callable=whoami,
                     executor=TokenProcessExecutor(workdir=workdir))
