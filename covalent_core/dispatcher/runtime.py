"""The dispatcher's home: one event loop on one background thread per process.

``ct.dispatch`` returns at once because the graph runs here. At interpreter exit the
runtime waits for running dispatches (``dispatcher.wait_at_exit``), so a script that
dispatches and ends still finishes its work, as it would with Covalent's server.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=max(32, (os.cpu_count() or 1) * 4), thread_name_prefix="covalent-task"
        )
        self.loop.set_default_executor(self.threads)
        self.runs: dict[str, Any] = {}
        self.futures: dict[str, concurrent.futures.Future[Any]] = {}
        self._thread = threading.Thread(
            target=self._serve, name="covalent-dispatcher", daemon=True
        )
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, dispatch_id: str, run: Any, coro: Coroutine[Any, Any, Any]) -> None:
        self.runs[dispatch_id] = run
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        self.futures[dispatch_id] = future
        future.add_done_callback(lambda f: self._finished(dispatch_id, f))

    def _finished(self, dispatch_id: str, future: concurrent.futures.Future[Any]) -> None:
        self.runs.pop(dispatch_id, None)
        if not future.cancelled() and future.exception() is not None:
            log.error("dispatch %s crashed", dispatch_id, exc_info=future.exception())

    def wait_all(self) -> None:
        pending = [f for f in self.futures.values() if not f.done()]
        if pending:
            log.warning("waiting for %d running dispatch(es) before exit", len(pending))
            concurrent.futures.wait(pending)


_runtime: Runtime | None = None
_lock = threading.Lock()


def runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime()
            # Runs before atexit handlers, which shut down the worker pools tasks still need;
            # concurrent.futures relies on the same hook.
            threading._register_atexit(_at_exit)  # type: ignore[attr-defined]
        return _runtime


def current_runtime() -> Runtime | None:
    return _runtime


def _at_exit() -> None:
    from covalent_core.config import settings

    # Forked worker processes inherit this hook but none of the running dispatches.
    if _runtime is None or _runtime.pid != os.getpid():
        return
    if settings().dispatcher.wait_at_exit:
        _runtime.wait_all()
