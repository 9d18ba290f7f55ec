"""Waits in the triggerer for a remote job, so no worker slot is held while it runs.

Its kwargs (stored in Airflow's database) are the executor's secret-free spec, the job
handle and a connection id; the executor is rebuilt here and reads its secrets from that
connection or the environment. Triggers of one triggerer that use the same executor
share one instance, so its watcher answers all their jobs with one ``poll`` per round
(one ``squeue``, one ``DescribeJobs``...) instead of one per job.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from covalent_airflow.hooks.covalent import CovalentHook

_shared: dict[str, Any] = {}


class CovalentTrigger(BaseTrigger):
    def __init__(
        self, executor: dict[str, Any], handle: dict[str, Any], conn_id: str | None = None
    ) -> None:
        super().__init__()
        self.executor = executor
        self.handle = handle
        self.conn_id = conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"executor": self.executor, "handle": self.handle, "conn_id": self.conn_id},
        )

    async def _executor(self) -> Any:
        key = json.dumps([self.executor, self.conn_id], sort_keys=True, default=str)
        if key not in _shared:
            _shared[key] = await CovalentHook(self.conn_id).aget_executor(self.executor)
        return _shared[key]

    async def run(self) -> AsyncIterator[TriggerEvent]:
        executor = await self._executor()
        self.log.info("waiting for job %s on %s", json.dumps(self.handle), executor.short_name())
        state = await executor.wait_for_job(self.handle)
        yield TriggerEvent({"status": state.status, "reason": state.reason,
                            "retryable": state.retryable, "handle": self.handle})

    async def on_kill(self) -> None:
        """The user killed the deferred task (mark failed, clear): stop its job too."""
        executor = await self._executor()
        await executor.cancel_job(self.handle)
        self.log.info("cancelled job %s", json.dumps(self.handle))
