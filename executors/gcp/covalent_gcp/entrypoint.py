"""The container entrypoint of every Batch job: ``python -m covalent_gcp.entrypoint``.

It downloads the task package from Cloud Storage, runs covalent_core's runner on it
in a child process, and uploads the outcome and the task's stdout/stderr next to the
package (covalent_core.remote.entrypoint does the running and the SIGTERM handling).
Its own progress lines go to the container's output, which Batch sends to Cloud Logging.

Environment (set by the executor on the job): COVALENT_GCS_BUCKET, COVALENT_GCS_PREFIX,
and COVALENT_GCS_ENDPOINT only when the storage is an emulator. Credentials are the
VM's service account (Application Default Credentials); nothing secret is passed in.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from covalent_core.remote.entrypoint import (
    EXIT_NO_PACKAGE,
    OUTCOME,
    STDERR,
    STDOUT,
    TASK,
    SignalForwarder,
    run_job,
)

if TYPE_CHECKING:
    from google.cloud import storage

__all__ = ["EXIT_NO_PACKAGE", "OUTCOME", "STDERR", "STDOUT", "TASK", "main"]

BUCKET_ENV = "COVALENT_GCS_BUCKET"
PREFIX_ENV = "COVALENT_GCS_PREFIX"
ENDPOINT_ENV = "COVALENT_GCS_ENDPOINT"


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


def main() -> int:
    forwarder = SignalForwarder(_say)  # before the slow imports
    from google.cloud import storage

    bucket = _client().bucket(os.environ[BUCKET_ENV])
    prefix = os.environ[PREFIX_ENV].rstrip("/")

    def download(path: Path) -> None:
        bucket.blob(f"{prefix}/{TASK}").download_to_filename(
            str(path), retry=storage.retry.DEFAULT_RETRY
        )

    def upload(path: Path, name: str) -> None:
        bucket.blob(f"{prefix}/{name}").upload_from_filename(
            str(path), retry=storage.retry.DEFAULT_RETRY
        )

    return run_job(forwarder, download, upload, f"gs://{bucket.name}/{prefix}/{TASK}")


if __name__ == "__main__":
    sys.exit(main())
