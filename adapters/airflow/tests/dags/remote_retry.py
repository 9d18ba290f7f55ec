"""A worker lost right after submitting: the retry reattaches to the job it submitted.

``WorkerLostAfterSubmit`` fails its first try between submission and deferral, which is
where a worker crash or eviction hurts most. The second DAG hides ``task_state_store``
from the operator, as on Airflow 3.1/3.2, so the handle lives in a Variable instead.
"""

import os
import time
from datetime import datetime, timedelta

from airflow.sdk import DAG, get_current_context
from covalent_airflow import CovalentOperator
from support.process_executor import ProcessExecutor


def slow_double(x: int) -> int:
    time.sleep(1.5)
    print(f"doubled {x}")
    return 2 * x


class WorkerLostAfterSubmit(CovalentOperator):
    def defer(self, **kwargs):
        if get_current_context()["ti"].try_number == 1:
            raise RuntimeError("simulated worker loss between submit and defer")
        super().defer(**kwargs)


class WithoutTaskStateStore(WorkerLostAfterSubmit):
    def execute(self, context):
        return super().execute(_without_store(context))

    def execute_complete(self, context, event, resubmits=0):
        return super().execute_complete(_without_store(context), event, resubmits)


def _without_store(context):
    return {k: v for k, v in context.items() if k != "task_state_store"}


def _dag(dag_id: str, operator: type) -> DAG:
    with DAG(dag_id, schedule=None, start_date=datetime(2026, 1, 1)) as dag:
        operator(task_id="double", python_callable=slow_double, op_args=[21],
                 retries=1, retry_delay=timedelta(seconds=0),
                 executor=ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"]))
    return dag


dag = _dag("covalent_remote_retry", WorkerLostAfterSubmit)
dag_variable = _dag("covalent_remote_retry_variable", WithoutTaskStateStore)
