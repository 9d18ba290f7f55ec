"""Where a task instance keeps its remote job handle across retries and worker restarts.

The handle is written the moment the executor returns it, before the task defers, so
a retry (or a worker that died between submit and defer) reattaches to the running job
instead of submitting it again. Airflow 3.3+ has a store made for this (AIP-103's
``task_state_store``: scoped to dag run, task and map index, shared by all tries).
On 3.1 and 3.2 a Variable named after the task instance stands in.
"""

from __future__ import annotations

import re
from typing import Any

KEY = "covalent_job_handle"


class HandleStore:
    def __init__(self, context: Any) -> None:
        self._store = context.get("task_state_store")
        ti = context["ti"]
        parts = (KEY, ti.dag_id, ti.run_id, ti.task_id, str(ti.map_index))
        self._variable = re.sub(r"[^A-Za-z0-9_.-]", "_", "__".join(parts))

    def get(self) -> dict[str, Any] | None:
        if self._store is not None:
            return self._store.get(KEY)
        from airflow.sdk import Variable

        return Variable.get(self._variable, default=None, deserialize_json=True)

    def set(self, handle: dict[str, Any]) -> None:
        if self._store is not None:
            from airflow.sdk import NEVER_EXPIRE

            # A job may run for days; the key goes when the task has its result.
            self._store.set(KEY, handle, retention=NEVER_EXPIRE)
            return
        from airflow.sdk import Variable

        Variable.set(self._variable, handle, serialize_json=True,
                     description="covalent-airflow: remote job of a running task")

    def clear(self) -> None:
        if self._store is not None:
            self._store.delete(KEY)
            return
        from airflow.sdk import Variable

        Variable.delete(self._variable)
