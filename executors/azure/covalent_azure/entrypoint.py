"""The container entrypoint of every Batch task: ``python -m covalent_azure.entrypoint``.

It downloads the task package from Blob Storage, runs covalent_core's runner on it in
a child process, and uploads the outcome and the task's stdout/stderr. The streams go
up even when the runner was killed (terminate, wall-clock limit), so what the task
printed before dying is not lost. Its own progress lines go to the task's
``stdout.txt``/``stderr.txt`` on the node, which the executor reads when there is no
outcome.

Environment (set by the executor on the task): COVALENT_TASK_URL, COVALENT_OUTCOME_URL,
COVALENT_STDOUT_URL, COVALENT_STDERR_URL - blob URLs with SAS tokens scoped to exactly
those blobs (read for the package, create/write for the rest), so the container needs
no account credentials.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TASK_URL_ENV = "COVALENT_TASK_URL"
OUTCOME_URL_ENV = "COVALENT_OUTCOME_URL"
STDOUT_URL_ENV = "COVALENT_STDOUT_URL"
STDERR_URL_ENV = "COVALENT_STDERR_URL"
TASK, OUTCOME, STDOUT, STDERR = "task.pkg", "outcome.pkg", "stdout.txt", "stderr.txt"
EXIT_NO_PACKAGE = 4


def _say(message: str) -> None:
    print(f"covalent-azure entrypoint: {message}", file=sys.stderr, flush=True)


def _redacted(text: str) -> str:
    """No SAS signature in a log line, even inside an error message."""
    return re.sub(r"([?&]sig=)[^&\s]+", r"\1REDACTED", text)


class _Terminator:
    """Passes SIGTERM (terminate, wall-clock limit) on to the task; installed first thing,
    so a signal that arrives before the task started still ends in an orderly upload."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.signum = 0
        signal.signal(signal.SIGTERM, self)

    def __call__(self, signum: int, _frame: Any) -> None:
        _say(f"received signal {signum}; stopping the task")
        self.signum = signum
        if self.child is not None:
            self.child.send_signal(signum)


def run_runner(work: Path, terminator: _Terminator) -> int:
    if terminator.signum:
        return 128 + terminator.signum
    terminator.child = subprocess.Popen([
        sys.executable, "-m", "covalent_core.remote", "run", str(work / TASK),
        str(work / OUTCOME), "--stdout", str(work / STDOUT), "--stderr", str(work / STDERR),
    ])
    code = terminator.child.wait()
    return 128 - code if code < 0 else code


def main() -> int:
    terminator = _Terminator()  # before the slow imports
    from azure.storage.blob import BlobClient

    work = Path(tempfile.mkdtemp(prefix="covalent-task-"))
    task_url = os.environ[TASK_URL_ENV]
    try:
        data = BlobClient.from_blob_url(task_url).download_blob().readall()
    except Exception as exc:
        _say(_redacted(f"cannot download {task_url}: {type(exc).__name__}: {exc}"))
        return EXIT_NO_PACKAGE
    (work / TASK).write_bytes(data)
    _say(f"running {_redacted(task_url)}")
    code = run_runner(work, terminator)
    for name, env in ((OUTCOME, OUTCOME_URL_ENV), (STDOUT, STDOUT_URL_ENV),
                      (STDERR, STDERR_URL_ENV)):
        if (work / name).exists():
            with (work / name).open("rb") as fh:
                BlobClient.from_blob_url(os.environ[env]).upload_blob(fh, overwrite=True)
    if not (work / OUTCOME).exists():
        _say(f"the runner wrote no outcome (exit code {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
