"""``CovalentTaskRunner``: a Prefect task runner whose tasks run on covalent_core executors.

Like Prefect's ThreadPoolTaskRunner, each submitted task's engine runs on a thread of
the flow's process, so states, retries, caching and hooks behave exactly as usual and
the far side needs neither Prefect nor the Prefect API. Only the function call is sent
to an executor: the task's own (an electron's ``executor=``) or the runner's default.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import sys
import threading
import uuid
import weakref
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import Any

from prefect.futures import PrefectConcurrentFuture, PrefectFuture
from prefect.task_runners import TaskRunner
from prefect.tasks import Task
from typing_extensions import Self

from covalent_prefect import executors, watch
from covalent_prefect.shipping import ship, shipment_of


class CovalentTaskRunner(TaskRunner[PrefectConcurrentFuture[Any]]):
    """Run each task's function on an executor: ``@flow(task_runner=CovalentTaskRunner("dask"))``.

    ``executor`` is an executor instance, a plugin name (``"local"``, ``"dask"``,
    ``"ssh"``, ``"slurm"``...; built with the ``[executors.<name>]`` config defaults) or
    None for the config's default executor. Electrons that name an executor keep it.
    ``max_workers`` bounds the threads that run task engines (and wait on jobs).
    """

    def __init__(self, executor: Any = None, max_workers: int | None = None) -> None:
        super().__init__()
        executors.resolve(executor, "CovalentTaskRunner(executor=...)")  # fail at definition
        self.executor = executor
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._shipped: dict[int, tuple[Task[Any, Any], Task[Any, Any]]] = {}
        self._in_flight: dict[uuid.UUID, threading.Event] = {}
        # Prefect hands cancellation to the runner set on the flow, while tasks were
        # submitted to its duplicate; the original forwards to its duplicates.
        self._duplicates: weakref.WeakSet[CovalentTaskRunner] = weakref.WeakSet()

    def default_executor(self) -> Any:
        return executors.resolve(self.executor, "CovalentTaskRunner(executor=...)")

    def duplicate(self) -> Self:
        twin = type(self)(self.executor, self.max_workers)
        self._duplicates.add(twin)
        return twin

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CovalentTaskRunner):
            return NotImplemented
        return (self.executor, self.max_workers) == (other.executor, other.max_workers)

    __hash__ = object.__hash__

    def submit(
        self,
        task: Task[Any, Any],
        parameters: dict[str, Any],
        wait_for: Iterable[PrefectFuture[Any]] | None = None,
        dependencies: dict[str, set[Any]] | None = None,
    ) -> PrefectConcurrentFuture[Any]:
        from prefect.task_engine import run_task_async, run_task_sync

        if not self._started or self._pool is None:
            raise RuntimeError("CovalentTaskRunner must be started (used in a `with` block or "
                               "as a flow's task_runner) before tasks are submitted")
        shipped = self._ship(task)
        task_run_id = uuid.uuid4()
        cancel_event = threading.Event()
        self._in_flight[task_run_id] = cancel_event
        run = dict(
            task=shipped, task_run_id=task_run_id, parameters=parameters, wait_for=wait_for,
            return_type="state", dependencies=dependencies,
            context=dict(cancel_event=cancel_event),
        )
        context = copy_context()
        if shipped.isasync:
            future = self._pool.submit(context.run, asyncio.run, run_task_async(**run))
        else:
            future = self._pool.submit(context.run, run_task_sync, **run)
        future.add_done_callback(lambda _: self._in_flight.pop(task_run_id, None))
        return PrefectConcurrentFuture(task_run_id=task_run_id, wrapped_future=future)

    def _ship(self, task: Task[Any, Any]) -> Task[Any, Any]:
        """The task with its function swapped for one that runs it on an executor."""
        if shipment_of(task.fn) is not None:
            return task
        cached = self._shipped.get(id(task))
        if cached is not None and cached[0] is task:
            return cached[1]
        if inspect.isgeneratorfunction(task.fn) or inspect.isasyncgenfunction(task.fn):
            raise TypeError(
                f"task {task.name} is a generator: its values cannot stream back from an "
                "executor. Return a list instead, or run it under another task runner."
            )
        shipped = copy.copy(task)
        shipped.fn = ship(task.fn)
        self._shipped[id(task)] = (task, shipped)
        return shipped

    def cancel_all(self) -> None:
        """Stop every task of this runner: queued ones never start, running jobs are cancelled."""
        for event in list(self._in_flight.values()):
            event.set()
        for call in watch.running(set(self._in_flight)):
            call.stop("its flow run was cancelled")
        for twin in list(self._duplicates):
            twin.cancel_all()

    def __enter__(self) -> Self:
        super().__enter__()
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers or sys.maxsize,
                                        thread_name_prefix="covalent-prefect")
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        for event in list(self._in_flight.values()):
            event.set()  # queued engines end NotReady; running tasks finish
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._shipped.clear()
        super().__exit__(exc_type, exc_value, traceback)
