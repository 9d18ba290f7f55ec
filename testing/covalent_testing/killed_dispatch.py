"""A dispatching process killed with SIGKILL mid-run, as a crash would leave it.

Resume tests start a script that dispatches and prints the dispatch id, wait until the
work they care about is under way, and kill the script's whole process group, so no
child of it (a local worker, an ssh session) lingers to finish the job unseen.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def killed_dispatch(script: Path, started: Callable[[str], T]) -> tuple[str, T]:
    """Run ``script``; once ``started(dispatch_id)`` returns, SIGKILL it. Returns both."""
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        dispatch_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert dispatch_id, "the dispatching process printed no id"
        return dispatch_id, started(dispatch_id)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
