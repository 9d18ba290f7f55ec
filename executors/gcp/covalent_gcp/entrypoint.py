"""The container entrypoint of every Batch job: ``python -m covalent_gcp.entrypoint``.

It downloads the task package from Cloud Storage, runs covalent_core's runner on it
in a child process, and uploads the outcome and the task's stdout/stderr next to the
package. The streams go up even when the runner was killed (time limit, deletion), so
what the task printed before dying is not lost. Its own progress lines go to the
container's output, which Batch sends to Cloud Logging.

Environment (set by the executor on the job): COVALENT_GCS_BUCKET, COVALENT_GCS_PREFIX,
and COVALENT_GCS_ENDPOINT only when the storage is an emulator. Credentials are the
VM's service account (Application Default Credentials); nothing secret is passed in.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from google.cloud import storage

BUCKET_ENV = "COVALENT_GCS_BUCKET"
PREFIX_ENV = "COVALENT_GCS_PREFIX"
ENDPOINT_ENV = "COVALENT_GCS_ENDPOINT"
TASK, OUTCOME, STDOUT, STDERR = "task.pkg", "outcome.pkg", "stdout.txt", "stderr.txt"
EXIT_NO_PACKAGE = 4


def _say(message: str) -> None:
    print(f"covalent-gcp entrypoint: {message}", file=sys.stderr, flush=True)


def _client() -> storage.Client:
    from google.cloud import storage

    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project="emulator", credentials=AnonymousCredentials(),
                              client_options={"api_endpoint": endpoint})
    return storage.Client()


class _Terminator:
    """Passes SIGTERM (deletion, run-duration limit) on to the task; installed first thing,
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
    from google.cloud import storage

    bucket = _client().bucket(os.environ[BUCKET_ENV])
    prefix = os.environ[PREFIX_ENV].rstrip("/")
    work = Path(tempfile.mkdtemp(prefix="covalent-job-"))
    try:
        bucket.blob(f"{prefix}/{TASK}").download_to_filename(
            str(work / TASK), retry=storage.retry.DEFAULT_RETRY
        )
    except Exception as exc:
        _say(f"cannot download gs://{bucket.name}/{prefix}/{TASK}: {exc}")
        return EXIT_NO_PACKAGE
    _say(f"running gs://{bucket.name}/{prefix}/{TASK}")
    code = run_runner(work, terminator)
    for name in (OUTCOME, STDOUT, STDERR):
        if (work / name).exists():
            bucket.blob(f"{prefix}/{name}").upload_from_filename(
                str(work / name), retry=storage.retry.DEFAULT_RETRY
            )
    if not (work / OUTCOME).exists():
        _say(f"the runner wrote no outcome (exit code {code})")
    return code


if __name__ == "__main__":
    sys.exit(main())
