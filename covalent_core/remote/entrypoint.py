"""The shared body of every cloud container entrypoint: fetch, run, upload, even on SIGTERM.

Batch services stop a job with SIGTERM (deletion, a run-duration limit). The task's
streams must still reach storage so what it printed before dying is not lost, so the
runner runs as a child that receives the signal while this process stays to upload.
Each cloud plugin supplies only how to download the package and upload a file.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TASK, OUTCOME, STDOUT, STDERR = "task.pkg", "outcome.pkg", "stdout.txt", "stderr.txt"
RESULT_FILES = (OUTCOME, STDOUT, STDERR)
EXIT_NO_PACKAGE = 4
#: What the entrypoint logs last when the runner left no outcome; readers of a lagging
#: job log wait for it.
NO_OUTCOME = "the runner wrote no outcome"


class SignalForwarder:
    """Installed before slow imports, so an early SIGTERM still ends in an orderly upload."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.child: subprocess.Popen[bytes] | None = None
        self.signum = 0
        signal.signal(signal.SIGTERM, self)

    def __call__(self, signum: int, _frame: Any) -> None:
        self.say(f"received signal {signum}; stopping the task")
        self.signum = signum
        if self.child is not None:
            self.child.send_signal(signum)

    def run_runner(self, work: Path) -> int:
        """Run the task package in ``work``; the exit code is 128+N for a signal N."""
        if self.signum:
            return 128 + self.signum
        self.child = subprocess.Popen([
            sys.executable, "-m", "covalent_core.remote", "run", str(work / TASK),
            str(work / OUTCOME), "--stdout", str(work / STDOUT), "--stderr", str(work / STDERR),
        ])
        code = self.child.wait()
        return 128 - code if code < 0 else code


def run_job(
    forwarder: SignalForwarder,
    download: Callable[[Path], None],
    upload: Callable[[Path, str], None],
    where: str,
) -> int:
    """Download the package to a fresh dir, run it, upload what exists of the results.

    ``download(path)`` writes the package to ``path``; ``upload(path, name)`` stores one
    result file under its ``name`` next to the package; ``where`` names the package's
    location in messages.
    """
    work = Path(tempfile.mkdtemp(prefix="covalent-job-"))
    try:
        download(work / TASK)
    except Exception as exc:
        forwarder.say(f"cannot download {where}: {exc}")
        return EXIT_NO_PACKAGE
    forwarder.say(f"running {where}")
    code = forwarder.run_runner(work)
    for name in RESULT_FILES:
        if (work / name).exists():
            upload(work / name, name)
    if not (work / OUTCOME).exists():
        forwarder.say(f"{NO_OUTCOME} (exit code {code})")
    return code
