"""Reading what Prefect's API recorded about a run, the way the UI does.

Task run states reach the server as events, so the server's view settles a moment
after the flow returns; these helpers wait (bounded) for it to settle.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    LogFilter,
    LogFilterTaskRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.logging.handlers import APILogHandler

SETTLE_SECONDS = 60.0


def task_runs(flow_run_id: UUID, count: int) -> list[Any]:
    """The flow run's task runs once ``count`` of them are recorded in a final state."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(
                    flow_run_id=TaskRunFilterFlowRunId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=200)
            final = [r for r in runs if r.state is not None and r.state.is_final()]
            if len(final) >= count or time.monotonic() > deadline:
                return runs
            time.sleep(0.2)


def task_run(task_run_id: UUID, state_type: str | None = None) -> Any:
    """A task run, once the server shows ``state_type`` (if given)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_task_run(task_run_id)
            if state_type is None or (run.state_type and run.state_type.value == state_type):
                return run
            if time.monotonic() > deadline:
                return run
            time.sleep(0.1)


def subflow_runs(parent_flow_run_id: UUID) -> list[Any]:
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent_flow_run_id])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC, limit=200)


def logs(task_run_id: UUID, containing: str) -> list[str]:
    """Messages logged for a task run, once one contains ``containing``."""
    APILogHandler().flush()
    deadline = time.monotonic() + SETTLE_SECONDS
    with get_client(sync_client=True) as client:
        while True:
            found = [log.message for log in client.read_logs(
                log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])),
                limit=200, offset=0)]
            if any(containing in m for m in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.2)
