"""Watching jobs from the outside: did they start, and are they really gone?"""

from __future__ import annotations

import contextvars
import threading
import time
from pathlib import Path
from typing import Any

from covalent_core.processes import is_running


def wait_for_pid(pid_file: Path) -> int:
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    return int(pid_file.read_text())


def in_thread(target: Any, *args: Any) -> None:
    """Start a thread that sees this one's Prefect settings (which API to talk to)."""
    threading.Thread(target=contextvars.copy_context().run, args=(target, *args)).start()


def final_state(future: Any) -> str:
    future.wait()
    return future.state.name


def jobs_stopped(executor: Any) -> bool:
    """Every job of a ProcessExecutor was cancelled, its process ended, no outcome written."""
    jobs = list(Path(executor.workdir).iterdir())
    ended = all(proc.wait(timeout=30) != 0 for proc in executor.__dict__["_procs"].values())
    return bool(jobs) and ended and all(
        (job / "cancelled").exists() and not (job / "outcome.pkg").exists() for job in jobs
    )


def gone(pid: int) -> bool:
    """True once the process has exited (or is a zombie awaiting its parent)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.05)
    return False
