"""``LocalExecutor``: each task in a worker process of one shared pool.

The pool (pebble) stays warm across tasks and dispatches, which is what makes a
fan-out of trivial electrons cost milliseconds rather than a process start each, and
it can kill the one worker running a task when that task is cancelled or times out.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import pebble

from covalent_core.errors import TaskFailure
from covalent_core.executor.base import AsyncBaseExecutor
from covalent_core.executor.worker import pack_call, pickle_function, run_payload
from covalent_core.remote.package import Outcome

executor_plugin_name = "LocalExecutor"


def _died(exitcode: int | None) -> str:
    """Why a worker process ended before it answered, in words a user can act on."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = "an unknown signal"
        why = {
            "SIGSEGV": "a crash in native code (a C extension or a library it loads)",
            "SIGBUS": "a crash in native code (a C extension or a library it loads)",
            "SIGKILL": "killed from outside, often by the kernel for using too much memory",
            "SIGABRT": "aborted by native code (a failed assertion in a C library)",
        }.get(name, "a signal sent to it")
        return (f"the worker process running this task died from signal {-exitcode} ({name}: "
                f"{why}) before it returned; what it printed was lost with it")
    return (f"the worker process running this task exited with code {exitcode} before it "
            "returned (os._exit or sys.exit in native code); what it printed was lost with it")

_pool: pebble.ProcessPool | None = None
_pool_lock = threading.Lock()


def start_method() -> str:
    """fork on Linux: workers need no ``if __name__ == "__main__"`` guard in user scripts."""
    from covalent_core.config import settings

    chosen = settings().dispatcher.start_method
    if chosen:
        return chosen
    return "fork" if sys.platform.startswith("linux") else "spawn"


def shared_pool() -> pebble.ProcessPool:
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.active:
            from covalent_core.config import settings

            _pool = pebble.ProcessPool(
                max_workers=settings().dispatcher.local_workers,
                context=multiprocessing.get_context(start_method()),
            )
            atexit.register(_shutdown)
        return _pool


def _shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.stop()
            _pool.join(timeout=5)
            _pool = None


class LocalExecutor(AsyncBaseExecutor):
    def short_name(self) -> str:
        return "local"

    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        call_bytes, binding = pack_call(args, kwargs, task_metadata)
        future = shared_pool().schedule(run_payload, args=(pickle_function(function), call_bytes))
        try:
            data = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            future.cancel()  # pebble terminates the worker running it
            raise
        except pebble.ProcessExpired as exc:
            raise TaskFailure(_died(exc.exitcode)) from None
        return self._deliver(Outcome.from_bytes(data, binding))

