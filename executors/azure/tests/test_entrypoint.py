"""The container entrypoint, run directly as the image runs it, against Azurite.

No Docker engine here: ``python -m covalent_azure.entrypoint`` is the task's command
line inside the container, so it is run as a process with the task's environment
(SAS URLs made the way the executor makes them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

from azure.storage.blob import BlobServiceClient
from covalent_azure import entrypoint
from covalent_azure.executor import AzureBatchExecutor

from covalent_core.remote.package import Outcome, TaskPackage


def _setup(options, function):
    executor = AzureBatchExecutor(**options)
    service: BlobServiceClient = executor._azure.blobs
    try:
        service.create_container("covalent")
    except Exception:
        pass  # made by an earlier test
    prefix = f"entry/{uuid.uuid4().hex}"
    if function is not None:
        service.get_blob_client("covalent", f"{prefix}/task.pkg").upload_blob(
            TaskPackage(function, ["azure"], {}).to_bytes()
        )
    env = {**os.environ, **executor._blob_urls(prefix)}
    proc = subprocess.Popen([sys.executable, "-m", "covalent_azure.entrypoint"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return service.get_container_client("covalent"), prefix, proc


def _greet(name):
    print(f"hello {name}")
    return {"greeting": f"hello {name}"}


def _sleepy(_name):
    import time

    print("started", flush=True)
    time.sleep(60)


def test_entrypoint_runs_the_package_and_uploads_outcome_and_streams(options):
    container, prefix, proc = _setup(options, _greet)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    outcome = Outcome.from_bytes(container.download_blob(f"{prefix}/outcome.pkg").readall())
    assert outcome.ok and outcome.value == {"greeting": "hello azure"}
    assert container.download_blob(f"{prefix}/stdout.txt").readall() == b"hello azure\n"
    assert "sig=REDACTED" in err and "sig=" not in err.replace("sig=REDACTED", "")


def test_entrypoint_without_a_package_says_so_without_the_sas(options):
    _, _, proc = _setup(options, None)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == entrypoint.EXIT_NO_PACKAGE
    assert "cannot download" in err and "BlobNotFound" in err
    assert "sig=" not in err.replace("sig=REDACTED", "")


def test_sigterm_stops_the_task_and_still_uploads_its_streams(options):
    container, prefix, proc = _setup(options, _sleepy)
    assert "running" in proc.stderr.readline()
    time.sleep(1.5)  # let the task start and print
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "received signal" in err and "wrote no outcome" in err
    assert container.download_blob(f"{prefix}/stdout.txt").readall() == b"started\n"
    assert not container.get_blob_client(f"{prefix}/outcome.pkg").exists()
