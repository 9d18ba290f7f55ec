"""The remote split: ``submit`` / ``poll`` / ``fetch`` / ``cancel_job``, and ``run`` built on it.

Splitting ``run`` is what lets an Airflow trigger wait without a worker slot, the
dispatcher resume after a crash without re-running a job (the handle is persisted the
moment it exists), and cancellation reach the backend. One watcher per executor and
event loop polls every job of that executor with a single ``poll`` call per round,
the way submitit's watcher does, so a backend can answer with one query.
"""

from __future__ import annotations

import asyncio
import json
import logging
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from covalent_core.errors import TaskCancelledError, TaskFailure
from covalent_core.executor.base import AsyncBaseExecutor
from covalent_core.executor.context import current_task
from covalent_core.remote.package import Outcome, TaskPackage

log = logging.getLogger(__name__)

PENDING = "PENDING"
RUNNING = "RUNNING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
LOST = "LOST"
TERMINAL_JOB_STATES = frozenset({COMPLETED, FAILED, CANCELLED, LOST})


@dataclass(frozen=True)
class JobState:
    """A backend job's state; ``retryable`` marks failures worth resubmitting (preemption)."""

    status: str
    reason: str = ""
    retryable: bool = False

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_JOB_STATES


Handle = dict[str, Any]
#: Key of the handle recorded before a launch: it names the job about to be submitted.
PENDING_JOB = "covalent_pending_job"
_late_stops: set[asyncio.Future[None]] = set()


class RemoteExecutor(AsyncBaseExecutor):
    """Base for executors that ship the task package to a backend and wait on a job."""

    #: Seconds between status rounds; plugins expose it as ``poll_freq``.
    poll_freq: float = 1.0
    #: Times a job the backend lost or preempted is resubmitted before the task fails.
    resubmit_limit: int = 2

    @abstractmethod
    async def submit(self, task: TaskPackage) -> Handle:
        """Start the task on the backend; return a JSON-able handle that identifies the job."""

    @abstractmethod
    async def poll(self, handles: list[Handle]) -> list[JobState]:
        """States of many jobs at once, in the order of ``handles``."""

    @abstractmethod
    async def fetch(self, handle: Handle) -> Outcome:
        """The outcome the runner wrote for a finished job."""

    @abstractmethod
    async def cancel_job(self, handle: Handle) -> None:
        """Stop the job on the backend."""

    async def find_job(self, name: str) -> Handle | None:
        """The handle of the job submitted as ``name`` (``TaskPackage.job_name``), if any.

        A plugin whose ``submit`` names the job ``task.job_name`` (a job directory, a
        Slurm job name, a cloud job id) and can look it up implements this; the
        dispatcher then records the name before every launch, and a resume after a crash
        at the launch moment reattaches to the job instead of starting a second one. The
        default cannot look jobs up: such a task is submitted again.
        """
        return None

    @property
    def finds_jobs(self) -> bool:
        return type(self).find_job is not RemoteExecutor.find_job

    async def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        if job_handle is None:
            return False
        await self.cancel_job(job_handle)
        return True

    async def _submit_or_stop_late(self, package: TaskPackage) -> Handle:
        """Submit; if the task is cancelled meanwhile, stop the job once it exists.

        A cancel (or time limit) that lands while ``submit`` is in flight finds no handle
        to cancel; without this the job would start anyway and run with nobody holding it.
        """
        submitting = asyncio.ensure_future(self.submit(package))
        try:
            return await asyncio.shield(submitting)
        except asyncio.CancelledError:
            submitting.add_done_callback(self._stop_late)
            raise

    def _stop_late(self, submitting: asyncio.Future[Handle]) -> None:
        if submitting.cancelled() or submitting.exception() is not None:
            return
        handle = submitting.result()
        log.info("job %s started after its task was cancelled; stopping it", handle)
        stopping = asyncio.ensure_future(self.cancel_job(handle))
        _late_stops.add(stopping)
        stopping.add_done_callback(_late_stops.discard)

    def _watcher(self) -> _Watcher:
        loop = asyncio.get_running_loop()
        watchers: dict[Any, _Watcher] = self.__dict__.setdefault("_watchers", {})
        if loop not in watchers:
            watchers[loop] = _Watcher(self.poll, lambda: float(self.poll_freq))
        return watchers[loop]

    async def wait_for_job(self, handle: Handle) -> JobState:
        return await self._watcher().wait(handle)

    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        task = current_task()
        handle = task.previous_handle if task is not None else None
        if handle is not None and PENDING_JOB in handle:
            # The dispatcher stopped between naming a job and learning its handle.
            name = str(handle[PENDING_JOB])
            handle = await self.find_job(name)
            log.info("node %s: job %s %s", task_metadata.get("node_id"), name,
                     f"was launched; reattaching to {handle}" if handle else
                     "was never launched; submitting it now")
        if handle is not None:
            state = (await self.poll([handle]))[0]
            if state.status == LOST or (state.status == FAILED and state.retryable):
                log.info("job %s of node %s is gone (%s); submitting again",
                         handle, task_metadata.get("node_id"), state.reason)
                handle = None
            else:
                await self.set_job_handle(handle)
        for attempt in range(self.resubmit_limit + 1):
            if handle is None:
                if await self.get_cancel_requested():
                    raise TaskCancelledError("cancelled before submission")
                # A new package (and job name) per submission: a lost job that comes back
                # later cannot be mistaken for its replacement.
                package = TaskPackage(function, args, kwargs, _safe(task_metadata))
                if self.finds_jobs and task is not None:
                    await task.record_handle_durably({PENDING_JOB: package.job_name})
                try:
                    handle = await self._submit_or_stop_late(package)
                except BaseException:
                    # Failed or cancelled here, not crashed: a job that starts anyway is
                    # stopped by _stop_late, so there is nothing left to find on resume.
                    await self.set_job_handle(None)
                    raise
                await self.set_job_handle(handle)
            state = await self.wait_for_job(handle)
            if state.status == CANCELLED:
                raise TaskCancelledError(f"job {handle} was cancelled: {state.reason}")
            if state.status == COMPLETED:
                break
            if state.retryable and attempt < self.resubmit_limit:
                log.warning("job %s: %s; resubmitting", handle, state.reason)
                handle = None
                continue
            # A job that failed may still have written an outcome (the task raised).
            try:
                outcome = await self.fetch(handle)
            except Exception:
                raise TaskFailure(
                    f"job {json.dumps(handle)} ended {state.status}: {state.reason or 'no detail'}"
                ) from None
            return self._deliver(outcome)
        assert handle is not None  # the loop breaks only on a completed job
        return self._deliver(await self.fetch(handle))


def _safe(metadata: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metadata.items() if isinstance(v, (str, int, float, bool))}


class _Watcher:
    """Answers every waiting task of one executor with one ``poll`` call per round."""

    def __init__(self, poll: Callable[[list[Handle]], Any], interval: Callable[[], float]) -> None:
        self._poll = poll
        self._interval = interval
        self._waiting: dict[str, tuple[Handle, list[asyncio.Future[JobState]]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def wait(self, handle: Handle) -> JobState:
        key = json.dumps(handle, sort_keys=True)
        future: asyncio.Future[JobState] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, (handle, []))[1].append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._loop())
        try:
            return await future
        finally:
            entry = self._waiting.get(key)
            if entry and future in entry[1]:
                entry[1].remove(future)
                if not entry[1]:
                    del self._waiting[key]

    async def _loop(self) -> None:
        failures = 0
        while self._waiting:
            keys = list(self._waiting)
            try:
                states = await self._poll([self._waiting[k][0] for k in keys])
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning("status poll failed (%s); retry %d", exc, failures)
                if failures >= 5:
                    for key in keys:
                        for fut in self._waiting.pop(key, (None, []))[1]:
                            if not fut.done():
                                fut.set_exception(exc)
                    continue
            else:
                for key, state in zip(keys, states, strict=False):
                    if state.done:
                        for fut in self._waiting.pop(key, (None, []))[1]:
                            if not fut.done():
                                fut.set_result(state)
            if self._waiting:
                await asyncio.sleep(self._interval())
