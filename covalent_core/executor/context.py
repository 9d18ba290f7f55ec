"""What the dispatcher tells an executor about the task it is running right now.

One executor instance serves many electrons at once, so per-task state (job handle,
cancel flag, a handle to reattach to) cannot live on the instance. It lives in a
ContextVar the dispatcher sets around each task.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TaskContext:
    dispatch_id: str
    node_id: int
    node_name: str
    results_dir: str
    on_job_handle: Callable[[Any], Any] = lambda handle: None
    #: Stores a job handle at once; may return a future that completes when it is on disk.
    on_job_handle_now: Callable[[Any], concurrent.futures.Future[Any] | None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    previous_handle: Any = None
    job_handle: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    attempt: int = 1  # counts every run of the node, across retries and resumes

    async def record_handle_durably(self, handle: Any) -> None:
        """Store ``handle`` and wait until it is committed: what a launch must not outrun.

        Only the dispatcher can promise that (``on_job_handle_now``); front ends that
        keep handles their own way are not given a handle they could not keep.
        """
        if self.on_job_handle_now is None:
            return
        self.job_handle = handle
        written = self.on_job_handle_now(handle)
        if written is not None:
            await asyncio.wrap_future(written)

    @property
    def task_metadata(self) -> dict[str, Any]:
        return {
            "dispatch_id": self.dispatch_id,
            "node_id": self.node_id,
            "results_dir": self.results_dir,
            "node_name": self.node_name,
            "attempt": self.attempt,
        }


_current: ContextVar[TaskContext | None] = ContextVar("covalent_core_task", default=None)


def current_task() -> TaskContext | None:
    return _current.get()


def set_current_task(ctx: TaskContext | None) -> object:
    return _current.set(ctx)


def reset_current_task(token: Any) -> None:
    _current.reset(token)
