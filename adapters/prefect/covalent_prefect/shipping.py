"""Running a Prefect task's function on a covalent_core executor, from inside its task run.

Prefect's engine (states, retries, caching, hooks, timeouts) stays in the flow's process;
only the call crosses to the executor. The task's function is swapped for a stand-in
with the same name and signature that sends the call and waits for it. Because the swap
lives in the function, it works under any task runner, and a task run that Prefect times
out or cancels stops its job on the backend too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import cloudpickle
from prefect.context import TaskRunContext
from prefect.logging import get_run_logger
from prefect.states import Cancelled, State

from covalent_core.config import settings
from covalent_core.errors import TaskCancelledError, TaskFailure, UnpicklableInputError
from covalent_core.executor.invoke import call, cancel, invoke, make_context, submit
from covalent_core.executor.remote import RemoteExecutor
from covalent_core.remote.call import wrap
from covalent_core.workflow.deps import DepsBash, DepsCall, DepsPip
from covalent_prefect import executors, watch

log = logging.getLogger(__name__)

SHIPMENT = "__covalent_shipment__"
# A thread waiting for a job wakes this often, so Prefect's timeout (an exception sent to
# the thread) and SIGALRM reach it promptly instead of after the job ends.
_WAIT_SLICE = 0.2
_STOP_TIMEOUT = 60.0
# Task run id -> handle of a job that outlived a failed attempt; the retry reattaches.
_live_jobs: dict[UUID, Any] = {}


class _ShippedTimeoutNote(logging.Filter):
    """Drop Prefect's note that a worker thread cannot honour a timeout, for shipped tasks.

    The note is true of a function running in the thread; a shipped task only waits
    there, in short slices, and its timeout stops the job on the executor promptly.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Timeout of %s seconds configured for this task"):
            return True
        context = TaskRunContext.get()
        return context is None or shipment_of(context.task.fn) is None


logging.getLogger("prefect.task_runs").addFilter(_ShippedTimeoutNote())


@dataclass(frozen=True)
class Shipment:
    """What a stand-in sends: the function (with deps and hooks) and where it runs."""

    function: Callable[..., Any]
    executor: Any
    signature: inspect.Signature


def ship(
    function: Callable[..., Any],
    executor: Any = None,
    *,
    deps_pip: DepsPip | None = None,
    deps_bash: DepsBash | None = None,
    call_before: Sequence[DepsCall] = (),
    call_after: Sequence[DepsCall] = (),
) -> Callable[..., Any]:
    """A stand-in for ``function`` that runs it on ``executor`` (None: the runner's default)."""
    is_async = inspect.iscoroutinefunction(function)
    body = _run_coroutine(function) if is_async else function
    shipment = Shipment(
        wrap(body, deps_pip, deps_bash, list(call_before), list(call_after)),
        executor,
        inspect.signature(function),
    )
    stand_in: Callable[..., Any]
    if is_async:
        async def stand_in(*args: Any, **kwargs: Any) -> Any:
            return await _call_async(shipment, args, kwargs)
    else:
        def stand_in(*args: Any, **kwargs: Any) -> Any:
            return _call_sync(shipment, args, kwargs)
    functools.update_wrapper(stand_in, function)
    setattr(stand_in, SHIPMENT, shipment)
    return stand_in


def shipment_of(function: Callable[..., Any]) -> Shipment | None:
    return getattr(function, SHIPMENT, None)


def _run_coroutine(coroutine_function: Callable[..., Any]) -> Callable[..., Any]:
    """Executors call functions; an async task's coroutine runs in its own loop there."""

    def run(*args: Any, **kwargs: Any) -> Any:
        import asyncio

        return asyncio.run(coroutine_function(*args, **kwargs))

    run.__name__ = getattr(coroutine_function, "__name__", "task")
    return run


def _call_sync(shipment: Shipment, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    call = RemoteCall(shipment, args, kwargs)
    future = call.start()
    try:
        while not future.done():
            concurrent.futures.wait([future], timeout=_WAIT_SLICE)
        return call.result()
    except BaseException as exc:  # Prefect's timeout or a KeyboardInterrupt
        call.stop(f"the task run was interrupted ({type(exc).__name__})")
        raise
    finally:
        call.close()


async def _call_async(shipment: Shipment, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    call = RemoteCall(shipment, args, kwargs)
    future = call.start()
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    future.add_done_callback(lambda _: loop.call_soon_threadsafe(finished.set))
    try:
        await finished.wait()
        return call.result()
    except BaseException as exc:  # Prefect's timeout cancels this coroutine
        await asyncio.to_thread(call.stop, f"the task run was interrupted ({type(exc).__name__})")
        raise
    finally:
        call.close()


class RemoteCall:
    """One attempt of one task run on its executor."""

    def __init__(self, shipment: Shipment, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        context = TaskRunContext.get()
        self.function = shipment.function
        if context is not None:
            task_run = context.task_run
            self.task_run_id: UUID = task_run.id
            self.flow_run_id: UUID | None = task_run.flow_run_id
            self.name = task_run.name
            self.log_prints = context.log_prints
            # run_count counts this attempt; retries are the attempts after the first.
            self.retries_left = context.task.retries - task_run.run_count + 1 > 0
            self.logger: Any = get_run_logger()
        else:  # the stand-in called directly, outside any task run
            self.task_run_id, self.flow_run_id = uuid4(), None
            self.name = getattr(self.function, "__name__", "task")
            self.log_prints, self.retries_left, self.logger = False, False, log
        where = f"task {self.name}"
        self.executor = executors.for_task(shipment.executor, where)
        self.args, self.kwargs = list(args), dict(kwargs)
        _check_shippable(shipment, args, kwargs, where, self.executor.short_name())
        previous = _live_jobs.pop(self.task_run_id, None)
        if previous is not None:
            self.logger.info("reattaching to job %s, still running from the previous attempt",
                             previous)
        self.ctx = make_context(
            dispatch_id=str(self.flow_run_id or self.task_run_id),
            node_id=self.task_run_id.int & 0x7FFFFFFF,
            node_name=self.name,
            results_dir=str(settings().dispatcher.results_root),
            previous_handle=previous,
        )
        self.cancel_reason: str | None = None
        self.future: concurrent.futures.Future[Any] | None = None
        self.registered = context is not None

    def start(self) -> concurrent.futures.Future[Any]:
        if self.registered:
            watch.register(self)
        self.future = submit(
            invoke(self.executor, self.function, self.args, self.kwargs, self.ctx)
        )
        return self.future

    def close(self) -> None:
        if self.registered:
            watch.unregister(self)

    def stop(self, reason: str) -> None:
        """Stop the job on its backend, then the local wait. Any thread but the runtime's."""
        if self.future is None or self.future.done() or self.cancel_reason is not None:
            return
        self.cancel_reason = reason
        try:
            submit(cancel(self.executor, self.ctx)).result(_STOP_TIMEOUT)
        except Exception as exc:
            log.warning("cancelling %s on %s failed: %s", self.name,
                        self.executor.short_name(), exc)
        self.future.cancel()

    def result(self) -> Any:
        """The value, a Cancelled state, or the task's own exception, with its streams logged."""
        assert self.future is not None
        try:
            done = self.future.result()
        except TaskFailure as exc:
            self._log_streams(exc.stdout, exc.stderr)
            if self.cancel_reason is not None:
                return self._cancelled()
            self._keep_live_job()
            if exc.remote_traceback:
                self.logger.error("%s failed on %s:\n%s", self.name, self.executor.short_name(),
                                  exc.remote_traceback.rstrip())
            if isinstance(exc.exception, Exception):
                raise exc.exception from None
            raise
        except (concurrent.futures.CancelledError, asyncio.CancelledError, TaskCancelledError):
            if self.cancel_reason is not None:
                return self._cancelled()
            raise
        self._log_streams(done.stdout, done.stderr)
        return done.value

    def _cancelled(self) -> State:
        return Cancelled(message=f"{self.name} was cancelled on {self.executor.short_name()}: "
                                 f"{self.cancel_reason}")

    def _keep_live_job(self) -> None:
        """Keep the handle of a job still running after a failed wait, for the retry.

        A lost connection to a cluster fails the wait, not the job. The retry reattaches
        instead of submitting a duplicate; with no retry left, the job is cancelled so it
        does not run on unobserved.
        """
        handle = self.ctx.job_handle
        if handle is None or not isinstance(self.executor, RemoteExecutor):
            return
        try:
            state = call(self.executor.poll([handle]))[0]
            alive = not state.done
        except Exception:  # cannot tell: let the retry's own poll decide
            alive = True
        if not alive:
            return
        if self.retries_left:
            _live_jobs[self.task_run_id] = handle
            self.logger.warning("job %s is still running; the retry will reattach to it", handle)
            return
        self.logger.warning("job %s is still running but no retry is left; cancelling it", handle)
        try:
            call(cancel(self.executor, self.ctx))
        except Exception as exc:
            self.logger.warning("cancelling job %s failed: %s", handle, exc)

    def _log_streams(self, stdout: str, stderr: str) -> None:
        where = self.executor.short_name()
        if stdout and self.log_prints:
            for line in stdout.splitlines():
                self.logger.info(line)
        elif stdout:
            self.logger.info("stdout on %s:\n%s", where, stdout.rstrip("\n"))
        if stderr:
            self.logger.warning("stderr on %s:\n%s", where, stderr.rstrip("\n"))


def _check_shippable(
    shipment: Shipment, args: tuple[Any, ...], kwargs: dict[str, Any], where: str,
    executor_name: str,
) -> None:
    """Name the argument that cannot travel, before any job is submitted.

    Left to the executor, the same failure surfaces deep inside its pickling with no
    argument name. Big buffers (arrays) are not copied by this check.
    """
    try:
        cloudpickle.dumps((args, kwargs), protocol=5, buffer_callback=lambda _buffer: None)
        return
    except Exception:
        pass
    try:
        named = dict(shipment.signature.bind_partial(*args, **kwargs).arguments)
    except TypeError:
        named = {**{str(i): a for i, a in enumerate(args)}, **kwargs}
    for name, value in named.items():
        try:
            cloudpickle.dumps(value, protocol=5, buffer_callback=lambda _buffer: None)
        except Exception as exc:
            raise UnpicklableInputError(
                f"{where}: argument {name!r} ({type(value).__name__}) cannot be pickled "
                f"({type(exc).__name__}: {exc}), so it cannot be shipped to the "
                f"{executor_name} executor. Pass plain data (numbers, strings, arrays, "
                "dataclasses), or create the object inside the task."
            ) from None
