"""One lock for PennyLane work done on this package's threads.

PennyLane records circuits in a process-wide queue. Building a circuit takes its lock
(``AnnotatedQueue._lock``), but ``QueuingManager.stop_recording`` - used while
executing, sampling and transforming - swaps that queue out without it, so a thread
executing one circuit can make another thread, busy building one, lose operations.
QElectron calls (run_later threads) and executors (worker threads) therefore do their
PennyLane work while holding that same lock, and let it go only while they wait on a
backend. Worker processes are unaffected; for CPU parallelism use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pennylane as qml

from covalent_quantum import pools

LOCK: Any = qml.queuing.AnnotatedQueue._lock

# A child forked while another thread held the lock would inherit it held by nobody.
pools.fork_safely(LOCK)


@contextmanager
def holding() -> Iterator[None]:
    with LOCK:
        yield


@contextmanager
def released() -> Iterator[None]:
    """Let the lock go entirely (however deeply this thread holds it) while waiting."""
    if not LOCK._is_owned():
        yield
        return
    saved = LOCK._release_save()
    try:
        yield
    finally:
        LOCK._acquire_restore(saved)

