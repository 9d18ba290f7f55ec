"""The container entrypoint and the Lambda handler, run directly against moto's S3.

There is no Docker engine here, so the image's ENTRYPOINT (``python -m
covalent_aws.entrypoint``) is run as the process a container would start.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from covalent_aws import storage
from covalent_aws.lambda_handler import handler
from covalent_aws.storage import JobFiles

from covalent_core.remote.package import Outcome, TaskPackage


@pytest.fixture
def job(peer, infra):
    files = JobFiles(infra["bucket"], f"entrypoint/{uuid.uuid4().hex}")
    s3 = peer.client("s3")

    def stage(function, *args):
        storage.put(s3, files, storage.TASK, TaskPackage(function, list(args), {}).to_bytes())
        return files

    stage.files = files
    stage.s3 = s3
    return stage


def _entrypoint(files, *extra, **popen):
    return subprocess.Popen(
        [sys.executable, "-m", "covalent_aws.entrypoint", "--bucket", files.bucket,
         "--prefix", files.prefix, *extra], env=dict(os.environ), **popen)


def _shout(word):
    print(f"shouting {word}")
    return word.upper()


def test_runs_the_package_and_uploads_outcome_and_streams(job):
    files = job(_shout, "hello")
    proc = _entrypoint(files, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    outcome = Outcome.from_bytes(storage.get(job.s3, files, storage.OUTCOME))
    assert outcome.ok and outcome.value == "HELLO"
    assert storage.get(job.s3, files, storage.STDOUT) == b"shouting hello\n"
    assert storage.get_json(job.s3, files, storage.EXIT)["exit_code"] == 0
    assert storage.exists(job.s3, files, storage.STARTED)
    assert "shouting hello" in out  # echoed for the job's own log (CloudWatch)
    assert "covalent-aws: finished with exit code 0" in err


def _slow(path):
    print("working", flush=True)
    open(path, "w").close()
    import time

    time.sleep(120)


def test_sigterm_stops_the_task_and_keeps_what_it_printed(job, tmp_path):
    """What terminate_job / stop_task do to a container: SIGTERM to its first process."""
    marker = tmp_path / "started"
    files = job(_slow, str(marker))
    proc = _entrypoint(files)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    record = storage.get_json(job.s3, files, storage.EXIT)
    assert record["reason"] == "SIGTERM" and record["exit_code"] == -signal.SIGTERM
    assert storage.get(job.s3, files, storage.STDOUT) == b"working\n"
    assert storage.get(job.s3, files, storage.OUTCOME) is None


def test_a_missing_package_is_recorded(job):
    files = job.files
    proc = _entrypoint(files, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "no task package" in storage.get_json(job.s3, files, storage.EXIT)["reason"]
    assert "no task package" in err


def test_without_a_job_it_names_the_variables_to_set():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVALENT_AWS_")}
    done = subprocess.run([sys.executable, "-m", "covalent_aws.entrypoint"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "COVALENT_AWS_S3_BUCKET" in done.stderr and "COVALENT_AWS_S3_PREFIX" in done.stderr


def test_braket_entry_point_reads_the_hyperparameters(job, tmp_path):
    files = job(_shout, "quantum")
    hp = tmp_path / "hyperparameters.json"
    hp.write_text(json.dumps({"covalent_s3_bucket": files.bucket,
                              "covalent_s3_prefix": files.prefix}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVALENT_AWS_")}
    done = subprocess.run(
        [sys.executable, "-c", "from covalent_aws.entrypoint import braket_main; braket_main()"],
        env={**env, "AMZN_BRAKET_HP_FILE": str(hp)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Outcome.from_bytes(storage.get(job.s3, files, storage.OUTCOME)).value == "QUANTUM"


class _Context:
    aws_request_id = "req-1"

    def __init__(self, seconds):
        self._deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self):
        return int((self._deadline - time.monotonic()) * 1000)


def test_lambda_handler_stops_the_task_when_asked(job, tmp_path):
    """Lambda cannot stop an invocation; a 'cancel' object next to the task does."""
    marker = tmp_path / "started"
    files = job(_slow, str(marker))

    def cancel_once_started():
        while not marker.exists():
            time.sleep(0.05)
        storage.put(job.s3, files, storage.CANCEL, b"")

    threading.Thread(target=cancel_once_started, daemon=True).start()
    record = handler({"bucket": files.bucket, "prefix": files.prefix}, _Context(300))
    assert record["cancelled"] is True
    assert storage.get_json(job.s3, files, storage.STARTED)["request_id"] == "req-1"
    assert storage.get(job.s3, files, storage.STDOUT) == b"working\n"


def test_lambda_handler_stops_the_task_before_lambda_would(job, tmp_path):
    files = job(_slow, str(tmp_path / "started"))
    started = time.monotonic()
    record = handler({"bucket": files.bucket, "prefix": files.prefix}, _Context(8))
    assert record["reason"] == "the time limit was reached"
    assert time.monotonic() - started < 8  # stopped with time left to upload
    assert storage.exists(job.s3, files, storage.EXIT)
