"""Whether a local process is still running, as the dispatcher and test backends ask it.

``os.kill(pid, 0)`` alone says yes for a zombie (exited, not yet reaped), which is what a
killed dispatching process is until its parent waits for it, so /proc is read as well.
"""

from __future__ import annotations

import os


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and has not exited; unknown (no permission) counts as running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:  # exited between the two checks
        return False
    except OSError:
        return True
