"""Process-wide worker pools shared by every quantum executor instance.

Executors are small value objects that get copied and pickled with the electrons
that use them, so the threads, processes and event loop that run circuits live here,
one set per process, keyed by size. A pool whose worker process died is replaced on
the next use instead of failing every later circuit, and a forked child (a
LocalExecutor worker) starts with none, since the parent's threads do not exist there.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import threading
from collections.abc import Coroutine
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_threads: dict[tuple[str, int], ThreadPoolExecutor] = {}
_processes: dict[int, ProcessPoolExecutor] = {}
_loop: asyncio.AbstractEventLoop | None = None


def thread_pool(workers: int, purpose: str = "circuits") -> ThreadPoolExecutor:
    """Pools are kept apart by purpose: a QElectron call waiting on its circuits must
    never hold the very thread one of those circuits needs."""
    key = (purpose, workers)
    with _lock:
        if key not in _threads:
            _threads[key] = ThreadPoolExecutor(workers, thread_name_prefix=f"q{purpose}")
        return _threads[key]


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes started the way covalent_core starts its own (fork on Linux).

    Fork needs no ``if __name__ == "__main__"`` guard in scripts; what it needs is that
    no other thread holds a lock the child will take, which :func:`fork_safely` sees to.
    """
    from covalent_core.executor.local import start_method

    with _lock:
        pool = _processes.get(workers)
        if pool is None or getattr(pool, "_broken", False):
            context = multiprocessing.get_context(start_method())
            pool = ProcessPoolExecutor(workers, mp_context=context)
            _processes[workers] = pool
        return pool


def fork_safely(lock: Any) -> None:
    """Hold ``lock`` across every fork of this process.

    PennyLane builds circuits under one process-wide lock; a child forked while another
    QElectron call was building one would inherit it locked by a thread that does not
    exist there, and hang on its first circuit.
    """
    os.register_at_fork(before=lock.acquire, after_in_parent=lock.release,
                        after_in_child=lock.release)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    loop.run_forever()


def run_async(coroutine: Coroutine[Any, Any, T]) -> Future[T]:
    """Schedule ``coroutine`` on the shared background loop; a thread-safe future of it."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(
                target=_run_loop, args=(_loop,), name="qexecutor-loop", daemon=True
            ).start()
        loop = _loop
    return asyncio.run_coroutine_threadsafe(coroutine, loop)


def _forget_after_fork() -> None:
    global _lock, _loop
    _lock = threading.Lock()
    _threads.clear()
    _processes.clear()
    _loop = None


os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def _shutdown() -> None:
    with _lock:
        for pool in [*_threads.values(), *_processes.values()]:
            pool.shutdown(wait=False, cancel_futures=True)
        _threads.clear()
        _processes.clear()
        if _loop is not None and not _loop.is_closed():
            _loop.call_soon_threadsafe(_loop.stop)
