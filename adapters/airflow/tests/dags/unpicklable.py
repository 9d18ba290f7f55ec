"""A remote task given an argument that cannot be pickled: a clear error, nothing submitted."""

import os
import threading
from datetime import datetime

from airflow.sdk import DAG
from covalent_airflow import CovalentOperator
from support.process_executor import ProcessExecutor


def use_lock(lock) -> bool:
    return lock.locked()


with DAG("covalent_unpicklable", schedule=None, start_date=datetime(2026, 1, 1)) as dag:
    CovalentOperator(task_id="locked", python_callable=use_lock, op_args=[threading.Lock()],
                     executor=ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"]))
