"""Running one function on one executor, for any front end.

The standalone dispatcher, the Prefect task runner and the Airflow operator all need
the same thing: call ``execute`` the right way for a sync or async executor, with the
task context (job handle callback, cancel flag, a handle to reattach to) set, and get
back the value and the streams or a ``TaskFailure``. This is that one place.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from covalent_core.executor.base import AsyncBaseExecutor, BaseExecutor
from covalent_core.executor.context import TaskContext, reset_current_task, set_current_task

T = TypeVar("T")


@dataclass
class Invocation:
    value: Any
    stdout: str
    stderr: str


def make_context(
    *,
    dispatch_id: str,
    node_id: int,
    node_name: str,
    results_dir: str,
    on_job_handle: Callable[[Any], Any] | None = None,
    on_job_handle_now: Callable[[Any], Any] | None = None,
    previous_handle: Any = None,
    cancel_event: threading.Event | None = None,
    attempt: int = 1,
) -> TaskContext:
    return TaskContext(
        dispatch_id, node_id, node_name, results_dir,
        on_job_handle=on_job_handle or (lambda handle: None),
        cancel_event=cancel_event or threading.Event(),
        previous_handle=previous_handle,
        attempt=attempt,
        on_job_handle_now=on_job_handle_now,
    )


async def invoke(
    executor: Any, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
    ctx: TaskContext,
) -> Invocation:
    """Run ``function`` on ``executor``; raises TaskFailure / TaskCancelledError like it."""
    token = set_current_task(ctx)
    try:
        if isinstance(executor, AsyncBaseExecutor):
            value, out, err, _ = await executor.execute(
                function, args, kwargs, ctx.dispatch_id, ctx.results_dir, ctx.node_id
            )
        elif isinstance(executor, BaseExecutor):
            context = contextvars.copy_context()
            value, out, err, _ = await asyncio.get_running_loop().run_in_executor(
                None, context.run, executor.execute, function, args, kwargs,
                ctx.dispatch_id, ctx.results_dir, ctx.node_id,
            )
        else:
            raise TypeError(
                f"{type(executor).__name__} is not an executor: subclass "
                "covalent_core.executor.BaseExecutor or AsyncBaseExecutor"
            )
        return Invocation(value, out, err)
    finally:
        reset_current_task(token)


async def cancel(executor: Any, ctx: TaskContext) -> bool:
    """Ask the executor to stop the task on its backend; marks the task cancel-requested."""
    ctx.cancel_event.set()
    if isinstance(executor, AsyncBaseExecutor):
        return bool(await executor.cancel(ctx.task_metadata, ctx.job_handle))
    return bool(await asyncio.to_thread(executor.cancel, ctx.task_metadata, ctx.job_handle))


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Start an executor coroutine from a thread without a loop (a Prefect or Airflow worker).

    It runs on the process's dispatcher loop, so executors keep one client, pool and
    status watcher per process instead of one per call. Cancelling the returned future
    cancels the coroutine there (which is how ``on_kill`` stops an inline task).
    """
    from covalent_core.dispatcher.runtime import runtime

    return asyncio.run_coroutine_threadsafe(coro, runtime().loop)


def call(coro: Coroutine[Any, Any, T]) -> T:
    """``submit`` and wait for the result."""
    return submit(coro).result()


def invoke_sync(
    executor: Any, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
    ctx: TaskContext,
) -> Invocation:
    """``invoke`` from a thread without a loop; see ``submit``."""
    return call(invoke(executor, function, args, kwargs, ctx))
