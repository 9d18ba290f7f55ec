"""What the QElectron calls of one task did, kept so they can be stored with its result.

Every QElectron call appends one JSON-able record (circuit name, executor, device,
circuits, results, timings) to the innermost open :func:`recording` scope. The core
opens a scope around each task it runs (in the worker process or on the remote host)
and stores what :func:`current_records` holds with the node's result.

This module imports only the standard library: the core's remote runner, which
imports nothing heavy, opens the scope before the task's own imports happen.

Outside any scope (a QElectron called from a plain script), records go to a
process-wide list that keeps the latest :data:`PROCESS_LIMIT` calls.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

PROCESS_LIMIT = 1000

_scope: ContextVar[list[dict[str, Any]] | None] = ContextVar(
    "covalent_quantum_records", default=None
)
_process: deque[dict[str, Any]] = deque(maxlen=PROCESS_LIMIT)
# One lock for every scope: QElectron calls made with run_later append from worker threads.
_lock = threading.Lock()


def _new_lock_after_fork() -> None:
    """A forked worker must not inherit the lock in the state another thread left it."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_new_lock_after_fork)


def add(record: dict[str, Any]) -> None:
    """Append one call's record to the current scope (or the process-wide list)."""
    target = _scope.get()
    with _lock:
        (target if target is not None else _process).append(record)


def current_records() -> list[dict[str, Any]]:
    """A copy of the records of the current scope, oldest first.

    This is the function the core calls when a task ends: the list is JSON-able and
    holds no secrets (executors are described without their tokens or sessions).
    """
    target = _scope.get()
    with _lock:
        return list(target if target is not None else _process)


@contextmanager
def recording() -> Iterator[list[dict[str, Any]]]:
    """Collect the records of the calls made inside the block (one task).

    Scopes nest: an inner scope's records are also appended to the outer one when it
    closes, so a task that records its own sub-steps loses nothing for the core.
    """
    outer = _scope.get()
    records: list[dict[str, Any]] = []
    token = _scope.set(records)
    try:
        yield records
    finally:
        _scope.reset(token)
        if outer is not None:
            with _lock:
                outer.extend(records)


def jsonable(value: Any) -> Any:
    """Results as plain JSON data: arrays and numpy scalars become lists and numbers."""
    if hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        value = value.tolist()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, complex):
        return {"real": value.real, "imag": value.imag}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
