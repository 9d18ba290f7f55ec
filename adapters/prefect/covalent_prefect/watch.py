"""Noticing, through Prefect's API, that a running shipped task run was cancelled.

Prefect's engine only checks for cancellation before a task starts, and a task run or
flow run cancelled from the UI or the API changes state on the server alone. While
shipped calls run, one thread per process asks the server for the states of all of them
(one query for the task runs, one for their flow runs, per round, the way a batched job
watcher does) and stops the jobs of those that were cancelled.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from covalent_prefect.shipping import RemoteCall

log = logging.getLogger(__name__)

#: Seconds between two rounds of state queries.
POLL_SECONDS = float(os.environ.get("COVALENT_PREFECT_CANCEL_POLL", "2"))

_calls: dict[UUID, RemoteCall] = {}
_lock = threading.Lock()
_thread: threading.Thread | None = None
#: The newest caller's context: it carries Prefect's settings (which API to ask). A
#: thread that outlives one flow must not keep asking with the first flow's context.
_context: contextvars.Context | None = None


def register(call: RemoteCall) -> None:
    global _thread, _context
    with _lock:
        _calls[call.task_run_id] = call
        _context = contextvars.copy_context()
        if _thread is None:
            _thread = threading.Thread(target=_watch, daemon=True,
                                       name="covalent-prefect-cancel-watch")
            _thread.start()


def unregister(call: RemoteCall) -> None:
    with _lock:
        if _calls.get(call.task_run_id) is call:
            del _calls[call.task_run_id]


def running(task_run_ids: set[UUID]) -> list[RemoteCall]:
    with _lock:
        return [call for key, call in _calls.items() if key in task_run_ids]


def _watch() -> None:
    global _thread
    while True:
        time.sleep(POLL_SECONDS)
        with _lock:
            calls = list(_calls.values())
            if not calls:
                _thread = None
                return
            context = _context
        try:
            assert context is not None  # set by register before the thread starts
            doomed = context.copy().run(_cancelled, calls)
        except Exception as exc:  # the API is down: jobs keep running, try next round
            log.debug("reading task run states failed: %s", exc)
            continue
        for call, reason in doomed:
            call.stop(reason)


def _cancelled(calls: list[RemoteCall]) -> list[tuple[RemoteCall, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        TaskRunFilter,
        TaskRunFilterId,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort

    stopping = {StateType.CANCELLING, StateType.CANCELLED}
    flow_ids = list({c.flow_run_id for c in calls if c.flow_run_id is not None})
    with get_client(sync_client=True) as client:
        task_runs: list[Any] = client.read_task_runs(
            task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=[c.task_run_id for c in calls])),
            sort=TaskRunSort.ID_DESC, limit=len(calls),
        )
        flow_runs: list[Any] = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=flow_ids)),
            sort=FlowRunSort.ID_DESC, limit=len(flow_ids),
        ) if flow_ids else []
    cancelled_tasks = {r.id for r in task_runs if r.state_type in stopping}
    cancelled_flows = {r.id for r in flow_runs if r.state_type in stopping}
    doomed = []
    for call in calls:
        if call.task_run_id in cancelled_tasks:
            doomed.append((call, "the task run was cancelled through Prefect"))
        elif call.flow_run_id in cancelled_flows:
            doomed.append((call, "its flow run was cancelled through Prefect"))
    return doomed
