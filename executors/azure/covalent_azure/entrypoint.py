"""The container entrypoint of every Batch task: ``python -m covalent_azure.entrypoint``.

It downloads the task package from Blob Storage, runs covalent_core's runner on it in
a child process, and uploads the outcome and the task's stdout/stderr
(covalent_core.remote.entrypoint does the running and the SIGTERM handling). Its own
progress lines go to the task's ``stdout.txt``/``stderr.txt`` on the node, which the
executor reads when there is no outcome.

Environment (set by the executor on the task): COVALENT_TASK_URL, COVALENT_OUTCOME_URL,
COVALENT_STDOUT_URL, COVALENT_STDERR_URL - blob URLs with SAS tokens scoped to exactly
those blobs (read for the package, create/write for the rest), so the container needs
no account credentials.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from covalent_core.remote.entrypoint import (
    EXIT_NO_PACKAGE,
    OUTCOME,
    STDERR,
    STDOUT,
    TASK,
    SignalForwarder,
    run_job,
)

__all__ = ["EXIT_NO_PACKAGE", "OUTCOME", "STDERR", "STDOUT", "TASK", "main"]

TASK_URL_ENV = "COVALENT_TASK_URL"
OUTCOME_URL_ENV = "COVALENT_OUTCOME_URL"
STDOUT_URL_ENV = "COVALENT_STDOUT_URL"
STDERR_URL_ENV = "COVALENT_STDERR_URL"
_UPLOAD_ENV = {OUTCOME: OUTCOME_URL_ENV, STDOUT: STDOUT_URL_ENV, STDERR: STDERR_URL_ENV}


def _say(message: str) -> None:
    print(f"covalent-azure entrypoint: {_redacted(message)}", file=sys.stderr, flush=True)


def _redacted(text: str) -> str:
    """No SAS signature in a log line, even inside an error message."""
    return re.sub(r"([?&]sig=)[^&\s]+", r"\1REDACTED", text)


def main() -> int:
    forwarder = SignalForwarder(_say)  # before the slow imports
    from azure.storage.blob import BlobClient

    task_url = os.environ[TASK_URL_ENV]

    def download(path: Path) -> None:
        path.write_bytes(BlobClient.from_blob_url(task_url).download_blob().readall())

    def upload(path: Path, name: str) -> None:
        with path.open("rb") as fh:
            BlobClient.from_blob_url(os.environ[_UPLOAD_ENV[name]]).upload_blob(
                fh, overwrite=True
            )

    return run_job(forwarder, download, upload, task_url)


if __name__ == "__main__":
    sys.exit(main())
