"""The container entrypoint of every AWS job: fetch the task from S3, run it, put the results back.

``python -m covalent_aws.entrypoint`` is the command of Batch jobs, ECS tasks and Braket
hybrid jobs, and the Lambda handler calls ``run_job`` too. Which job to run comes from
``--bucket``/``--prefix``, the ``COVALENT_AWS_S3_BUCKET``/``COVALENT_AWS_S3_PREFIX``
variables, or a Braket job's hyperparameters file. The task itself runs in the core's
runner (``python -m covalent_core.remote run``) as a child process, so a SIGTERM from
``terminate_job``/``stop_task`` stops the task and still leaves time to upload what it
printed. Credentials and the S3 endpoint come from the container's environment
(the job role), never from the task package.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from covalent_aws import storage
from covalent_aws.storage import JobFiles

BUCKET_ENV = "COVALENT_AWS_S3_BUCKET"
PREFIX_ENV = "COVALENT_AWS_S3_PREFIX"
BRAKET_HP_ENV = "AMZN_BRAKET_HP_FILE"
#: Seconds a stopped task gets between SIGTERM and SIGKILL.
GRACE = 5.0
#: The last line a job logs once its exit record is written.
FINISHED = "covalent-aws: finished with exit code"


def _log(message: str) -> None:
    print(f"covalent-aws: {message}", file=sys.stderr, flush=True)


def job_from_environment(bucket: str = "", prefix: str = "") -> JobFiles:
    bucket = bucket or os.environ.get(BUCKET_ENV, "")
    prefix = prefix or os.environ.get(PREFIX_ENV, "")
    hp_file = os.environ.get(BRAKET_HP_ENV)
    if (not bucket or not prefix) and hp_file and Path(hp_file).exists():
        params = json.loads(Path(hp_file).read_text())
        bucket = bucket or params.get("covalent_s3_bucket", "")
        prefix = prefix or params.get("covalent_s3_prefix", "")
    if not bucket or not prefix:
        raise SystemExit(
            f"covalent-aws: no job given: pass --bucket and --prefix or set {BUCKET_ENV} and "
            f"{PREFIX_ENV} (the executor sets them on every job it submits)"
        )
    return JobFiles(bucket, prefix)


class _Child:
    """The runner process; stop() escalates SIGTERM to SIGKILL after GRACE seconds."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv)
        self.stop_reason = ""
        self._stop_at: float | None = None

    def stop(self, reason: str) -> None:
        if self.proc.poll() is None and not self.stop_reason:
            self.stop_reason = reason
            _log(f"stopping the task: {reason}")
            self.proc.terminate()
            self._stop_at = time.monotonic()

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if self._stop_at is not None and time.monotonic() - self._stop_at > GRACE:
                self.proc.kill()
            return None


def run_job(
    s3: Any,
    files: JobFiles,
    *,
    should_cancel: Callable[[], bool] | None = None,
    deadline: float | None = None,
    check_every: float = 2.0,
    started: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the job at ``files``; returns (and uploads) its exit record.

    ``should_cancel`` is asked every ``check_every`` seconds (Lambda has no API to stop a
    running invocation, so a cancel request arrives as an S3 object); ``deadline`` is a
    ``time.monotonic()`` instant by which the task must have stopped; ``started`` is
    recorded next to the task when it starts (Lambda's request id, for its log).
    """
    work = Path(tempfile.mkdtemp(prefix="covalent-aws-"))
    task, outcome = work / storage.TASK, work / storage.OUTCOME
    out, err = work / storage.STDOUT, work / storage.STDERR
    data = storage.get(s3, files, storage.TASK)
    if data is None:
        record = {"exit_code": 3, "reason": f"no task package at {files.uri}{storage.TASK}"}
        storage.put(s3, files, storage.EXIT, json.dumps(record).encode())
        _log(record["reason"])
        return record
    task.write_bytes(data)
    begun = {"at": time.time(), **(started or {})}
    storage.put(s3, files, storage.STARTED, json.dumps(begun).encode())
    _log(f"running {files.uri}")
    child = _Child([sys.executable, "-m", "covalent_core.remote", "run", str(task), str(outcome),
                    "--stdout", str(out), "--stderr", str(err)])
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    if _main_thread():
        for sig in previous:
            signal.signal(sig, lambda signum, _frame: child.stop(signal.Signals(signum).name))
    try:
        last_check = time.monotonic()
        while (code := child.wait(0.2)) is None:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                child.stop("the time limit was reached")
            if should_cancel is not None and now - last_check >= check_every:
                last_check = now
                if should_cancel():
                    child.stop("cancelled on request")
    finally:
        if _main_thread():
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    record = {"exit_code": code, "reason": child.stop_reason, "cancelled":
              child.stop_reason == "cancelled on request"}
    _upload_results(s3, files, work, record)
    return record


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _upload_results(s3: Any, files: JobFiles, work: Path, record: dict[str, Any]) -> None:
    for name in (storage.OUTCOME, storage.STDOUT, storage.STDERR):
        path = work / name
        if path.exists():
            storage.put(s3, files, name, path.read_bytes())
    # Echo the task's streams so the job's own log (CloudWatch) shows them as well.
    for name, stream in ((storage.STDOUT, sys.stdout), (storage.STDERR, sys.stderr)):
        path = work / name
        if path.exists():
            stream.write(path.read_text(errors="replace"))
            stream.flush()
    storage.put(s3, files, storage.EXIT, json.dumps(record).encode())
    print(f"{FINISHED} {record['exit_code']}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m covalent_aws.entrypoint")
    parser.add_argument("--bucket", default="")
    parser.add_argument("--prefix", default="")
    # Braket (SageMaker-style) containers are started with an extra word such as "train".
    parser.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    files = job_from_environment(args.bucket, args.prefix)
    import boto3

    record = run_job(boto3.client("s3"), files)
    code = record["exit_code"]
    return code if code >= 0 else 128 - code


def braket_main() -> None:
    """The entry point Braket's container runner calls (``covalent_aws.entrypoint:braket_main``).

    A non-zero exit marks the hybrid job FAILED; a task that raised still exits 0, its
    error travels in the outcome.
    """
    import boto3

    code = run_job(boto3.client("s3"), job_from_environment())["exit_code"]
    if code:
        sys.exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    sys.exit(main())
