"""The executor contract of Covalent's API reference: ``BaseExecutor`` and ``AsyncBaseExecutor``.

Executors written for Covalent run here unchanged: they implement ``run`` and, if they
can, ``cancel``; ``execute`` wraps them with setup/teardown, per-task stream capture and
the stream files. Per-task state (job handle, cancel flag) lives in the dispatcher's
task context, so one instance can serve many electrons at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import difflib
import os
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, NamedTuple

from pydantic import SecretBytes, SecretStr

from covalent_core.errors import ExecutorConfigError, TaskCancelledError, TaskFailure
from covalent_core.executor import streams
from covalent_core.executor.context import current_task
from covalent_core.remote.package import Outcome
from covalent_core.store.status import Status


class DispatchInfo(NamedTuple):
    dispatch_id: str


class _AbstractBaseExecutor(ABC):  # noqa: B024 - Covalent's name; subclasses add run()
    #: Attribute names never written by ``to_dict`` (besides SecretStr values and ``_private``).
    SECRET_ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        log_stdout: str = "",
        log_stderr: str = "",
        cache_dir: str = "",
        time_limit: float = -1,
        retries: int = 0,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if args or kwargs:
            # What reaches here no constructor along the class chain took: a typo, or an
            # option of another executor. Silently dropping it would run with defaults.
            raise ExecutorConfigError(_unknown_options(type(self), args, kwargs))
        self.log_stdout = log_stdout
        self.log_stderr = log_stderr
        self.cache_dir = cache_dir
        self.time_limit = time_limit
        self.retries = retries

    def short_name(self) -> str:
        return type(self).__module__.split(".")[-1]

    @contextlib.contextmanager
    def get_dispatch_context(self, dispatch_info: DispatchInfo) -> Iterator[DispatchInfo]:
        """Covalent's hook for code that must know which dispatch it serves."""
        yield dispatch_info

    def _public_state(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_")
            and k not in self.SECRET_ATTRIBUTES
            and not isinstance(v, (SecretStr, SecretBytes))
        }

    def __getstate__(self) -> dict[str, Any]:
        """Pickled executors (inside a pickled lattice, say) carry no secrets or clients."""
        return self._public_state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description without secrets or runtime state (clients, locks)."""
        attributes = copy.deepcopy(self._public_state())
        return {
            "type": str(type(self)),
            "short_name": self.short_name(),
            "attributes": attributes,
        }

    def from_dict(self, object_dict: dict[str, Any]) -> _AbstractBaseExecutor:
        if object_dict:
            self.__dict__.update(copy.deepcopy(object_dict["attributes"]))
        return self

    @property
    def task_stdout(self) -> Any:
        """The current task's stdout buffer: executors write remote output here."""
        buffers = streams.current()
        return buffers[0] if buffers else None

    @property
    def task_stderr(self) -> Any:
        buffers = streams.current()
        return buffers[1] if buffers else None

    def _deliver(self, outcome: Outcome) -> Any:
        """Hand a task's captured streams to the current task; return its value or raise."""
        if self.task_stdout is not None:
            self.task_stdout.write(outcome.stdout)
            self.task_stderr.write(outcome.stderr)
        task = current_task()
        if task is not None and outcome.extras:
            for name, items in outcome.extras.items():
                task.extras.setdefault(name, []).extend(items)
        if outcome.ok:
            return outcome.value
        exc = outcome.exception
        raise TaskFailure(
            f"{type(exc).__name__}: {exc}" if exc else "the task failed",
            exception=exc, remote_traceback=outcome.traceback,
            stdout=outcome.stdout, stderr=outcome.stderr,
        )

    def _metadata(self, dispatch_id: str, results_dir: str, node_id: int) -> dict[str, Any]:
        task = current_task()
        if task is not None and task.node_id == node_id and task.dispatch_id == dispatch_id:
            return task.task_metadata
        return {"dispatch_id": dispatch_id, "node_id": node_id, "results_dir": results_dir}


def _write_streams(
    stream_strings: tuple[str, ...], filepaths: tuple[str, ...], dispatch_id: str, results_dir: str
) -> None:
    for text, path in zip(stream_strings, filepaths, strict=False):
        if not path:
            continue
        if not os.path.isabs(path):
            path = os.path.join(results_dir, dispatch_id, path)
        path = os.path.expanduser(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a") as fh:
            fh.write(text)


def _as_failure(exc: BaseException, stdout: str, stderr: str) -> BaseException:
    """Attach the task's streams to its error so nothing printed before a crash is lost."""
    if isinstance(exc, (TaskCancelledError, asyncio.CancelledError)):
        return exc
    if isinstance(exc, TaskFailure):
        exc.stdout = exc.stdout or stdout
        exc.stderr = exc.stderr or stderr
        return exc
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return TaskFailure(
        f"{type(exc).__name__}: {exc}", exception=exc, remote_traceback=tb,
        stdout=stdout, stderr=stderr,
    )


def _unknown_options(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    from covalent_core.executor.registry import accepted_options

    known = sorted(accepted_options(cls) - {"args", "kwargs"})
    problems = []
    for name in kwargs:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problems.append(f"unknown option {name!r}{hint}")
    if args:
        problems.append(f"{len(args)} extra positional argument(s) {args!r}")
    return (f"{cls.__name__}: {'; '.join(problems)}. Its options are: {', '.join(known)}. "
            "Fix the argument, or the key in [executors.<name>] of the config file.")


def is_executor(obj: Any) -> bool:
    """True for instances of either executor base (sync or async)."""
    return isinstance(obj, _AbstractBaseExecutor)


class BaseExecutor(_AbstractBaseExecutor):
    """Executors whose ``run`` blocks; the dispatcher calls them from a worker thread."""

    def write_streams_to_file(
        self,
        stream_strings: tuple[str, ...],
        filepaths: tuple[str, ...],
        dispatch_id: str,
        results_dir: str,
    ) -> None:
        _write_streams(stream_strings, filepaths, dispatch_id, results_dir)

    def set_job_handle(self, handle: Any) -> None:
        task = current_task()
        if task is not None:
            task.job_handle = handle
            task.on_job_handle(handle)

    def get_cancel_requested(self) -> bool:
        task = current_task()
        return bool(task and task.cancel_event.is_set())

    def setup(self, task_metadata: dict[str, Any]) -> Any:
        """Prepare resources before a task; override when a backend needs it."""

    def teardown(self, task_metadata: dict[str, Any]) -> Any:
        """Release what setup made; runs even when the task failed."""

    @abstractmethod
    def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        """Run ``function(*args, **kwargs)`` where this executor runs things; return its value."""

    def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        """Stop a running task; return True if the backend confirmed it."""
        return False

    def execute(
        self,
        function: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        dispatch_id: str,
        results_dir: str,
        node_id: int = -1,
    ) -> tuple[Any, str, str, Status]:
        metadata = self._metadata(dispatch_id, results_dir, node_id)
        failure: BaseException | None = None
        result = None
        with streams.capture() as (out, err):
            try:
                self.setup(task_metadata=metadata)
                result = self.run(function, list(args), dict(kwargs), metadata)
            except BaseException as exc:
                failure = exc
            finally:
                self.teardown(task_metadata=metadata)
        stdout, stderr = out.getvalue(), err.getvalue()
        self.write_streams_to_file((stdout, stderr), (self.log_stdout, self.log_stderr),
                                   dispatch_id, results_dir)
        if failure is not None:
            raise _as_failure(failure, stdout, stderr)
        return result, stdout, stderr, Status.COMPLETED


class AsyncBaseExecutor(_AbstractBaseExecutor):
    """Executors whose ``run`` is a coroutine; the dispatcher awaits them on its event loop."""

    async def write_streams_to_file(
        self,
        stream_strings: tuple[str, ...],
        filepaths: tuple[str, ...],
        dispatch_id: str,
        results_dir: str,
    ) -> None:
        if any(filepaths):
            await asyncio.to_thread(
                _write_streams, stream_strings, filepaths, dispatch_id, results_dir
            )

    async def set_job_handle(self, handle: Any) -> None:
        task = current_task()
        if task is not None:
            task.job_handle = handle
            task.on_job_handle(handle)

    async def get_cancel_requested(self) -> bool:
        task = current_task()
        return bool(task and task.cancel_event.is_set())

    async def setup(self, task_metadata: dict[str, Any]) -> Any:
        """Prepare resources before a task; override when a backend needs it."""

    async def teardown(self, task_metadata: dict[str, Any]) -> Any:
        """Release what setup made; runs even when the task failed."""

    @abstractmethod
    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        """Run ``function(*args, **kwargs)`` where this executor runs things; return its value."""

    async def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        """Stop a running task; return True if the backend confirmed it."""
        return False

    async def execute(
        self,
        function: Callable[..., Any],
        args: list[Any],
        kwargs: dict[str, Any],
        dispatch_id: str,
        results_dir: str,
        node_id: int = -1,
    ) -> tuple[Any, str, str, Status]:
        metadata = self._metadata(dispatch_id, results_dir, node_id)
        failure: BaseException | None = None
        result = None
        with streams.capture() as (out, err):
            try:
                await self.setup(task_metadata=metadata)
                result = await self.run(function, list(args), dict(kwargs), metadata)
            except BaseException as exc:
                failure = exc
            finally:
                await self.teardown(task_metadata=metadata)
        stdout, stderr = out.getvalue(), err.getvalue()
        await self.write_streams_to_file((stdout, stderr), (self.log_stdout, self.log_stderr),
                                         dispatch_id, results_dir)
        if failure is not None:
            raise _as_failure(failure, stdout, stderr)
        return result, stdout, stderr, Status.COMPLETED
