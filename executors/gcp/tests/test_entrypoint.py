"""The container entrypoint, run directly as the image runs it, against the storage emulator.

No Docker engine here: ``python -m covalent_gcp.entrypoint`` is what the image's
container command runs, so it is run as a process with the job's environment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from covalent_gcp import entrypoint
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from covalent_core.remote.package import Outcome, TaskPackage

BUCKET = "covalent-test"  # made by the gcs fixture


def _bucket(gcs):
    client = storage.Client(project="test", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": gcs.url})
    return client.bucket(BUCKET)


def _start(gcs, prefix):
    env = {**os.environ, entrypoint.BUCKET_ENV: BUCKET, entrypoint.PREFIX_ENV: prefix,
           entrypoint.ENDPOINT_ENV: gcs.url}
    return subprocess.Popen([sys.executable, "-m", "covalent_gcp.entrypoint"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _greet(name):
    print(f"hello {name}")
    return {"greeting": f"hello {name}"}


def _sleepy():
    import time

    print("started", flush=True)
    time.sleep(60)


def test_entrypoint_runs_the_package_and_uploads_outcome_and_streams(gcs):
    bucket = _bucket(gcs)
    prefix = f"entry/{uuid.uuid4().hex}"
    bucket.blob(f"{prefix}/task.pkg").upload_from_string(
        TaskPackage(_greet, ["gcp"], {}).to_bytes()
    )
    proc = _start(gcs, prefix)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    outcome = Outcome.from_bytes(bucket.blob(f"{prefix}/outcome.pkg").download_as_bytes())
    assert outcome.ok and outcome.value == {"greeting": "hello gcp"}
    assert outcome.stdout == "hello gcp\n"
    assert bucket.blob(f"{prefix}/stdout.txt").download_as_text() == "hello gcp\n"


def test_entrypoint_without_a_package_says_so(gcs):
    proc = _start(gcs, f"entry/{uuid.uuid4().hex}")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == entrypoint.EXIT_NO_PACKAGE
    assert "cannot download gs://covalent-test/entry/" in err


def test_sigterm_stops_the_task_and_still_uploads_its_streams(gcs):
    bucket = _bucket(gcs)
    prefix = f"entry/{uuid.uuid4().hex}"
    bucket.blob(f"{prefix}/task.pkg").upload_from_string(TaskPackage(_sleepy, [], {}).to_bytes())
    proc = _start(gcs, prefix)
    assert "running gs://" in proc.stderr.readline()
    time.sleep(1.5)  # let the task start and print
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "received signal" in err and "wrote no outcome" in err
    assert bucket.blob(f"{prefix}/stdout.txt").download_as_text() == "started\n"
    assert not bucket.blob(f"{prefix}/outcome.pkg").exists()
