"""What every AWS executor shares: credentials, S3 staging, outcome and log retrieval, errors.

Each service module fills in the remote split (``submit``/``poll``/``cancel_job``) and
a one-time ``_prepare`` that checks its resources before the first job is submitted;
this base ships the task package to S3, reads the outcome back, and, when a job died
without writing one, tells why from its exit record, streams and CloudWatch log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from typing import Any

from pydantic import SecretStr

from covalent_aws import storage
from covalent_aws.entrypoint import BUCKET_ENV, FINISHED, PREFIX_ENV
from covalent_aws.errors import AWSExecutorError, Hints, explain
from covalent_aws.session import AWSConnection
from covalent_aws.storage import JobFiles
from covalent_core.executor.remote import Handle, RemoteExecutor
from covalent_core.remote.package import Outcome, RemoteError, TaskPackage

#: The reason the executors give AWS when they stop a job; poll() reports it as CANCELLED.
CANCEL_REASON = "cancelled by covalent-core"
#: The container command of Batch jobs, ECS tasks and Braket jobs.
ENTRYPOINT = ["python", "-m", "covalent_aws.entrypoint"]
#: Lines of a job's CloudWatch log kept in the node's error when it wrote no outcome.
LOG_TAIL = 200
#: Seconds to wait for a job's last log line to show in CloudWatch, which lags its writer.
LOG_SETTLE = 15.0


def job_environment(files: JobFiles) -> list[dict[str, str]]:
    """The variables that tell the container entrypoint which job it runs."""
    return [{"name": BUCKET_ENV, "value": files.bucket},
            {"name": PREFIX_ENV, "value": files.prefix}]


def spec_tag(spec: Any) -> str:
    """A short digest of a job/task definition, to reuse a registered one that matches."""
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    return digest[:16]


def _secret(value: str | SecretStr | None) -> SecretStr:
    if isinstance(value, SecretStr):
        return value
    return SecretStr(value or "")


class AWSJobError(RemoteError):
    """A job ended without an outcome (killed, out of memory, image or role trouble)."""


class AWSExecutor(RemoteExecutor):
    """Base of the AWS executors; subclasses implement submit/poll/cancel_job for one service."""

    def __init__(
        self,
        *,
        credentials: str = "",
        profile: str = "",
        region: str = "",
        s3_bucket_name: str = "",
        s3_key_prefix: str = "covalent",
        endpoint_url: str = "",
        poll_freq: float = 10,
        time_limit: float = -1,
        max_api_attempts: int = 8,
        aws_access_key_id: str | SecretStr | None = None,
        aws_secret_access_key: str | SecretStr | None = None,
        aws_session_token: str | SecretStr | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(time_limit=time_limit, **kwargs)
        self.credentials = credentials
        self.profile = profile
        self.region = region
        self.s3_bucket_name = s3_bucket_name
        self.s3_key_prefix = s3_key_prefix
        self.endpoint_url = endpoint_url
        self.poll_freq = poll_freq
        self.max_api_attempts = max_api_attempts
        self.aws_access_key_id = _secret(aws_access_key_id)
        self.aws_secret_access_key = _secret(aws_secret_access_key)
        self.aws_session_token = _secret(aws_session_token)

    # -- clients and calls ------------------------------------------------------
    @property
    def connection(self) -> AWSConnection:
        """Built on first use, from the attributes as they are then (after from_dict too)."""
        with self._state_lock:
            if "_connection" not in self.__dict__:
                self._connection = AWSConnection(
                    profile=self.profile, region=self.region, credentials_file=self.credentials,
                    endpoint_url=self.endpoint_url,
                    access_key_id=getattr(self, "aws_access_key_id", None),
                    secret_access_key=getattr(self, "aws_secret_access_key", None),
                    session_token=getattr(self, "aws_session_token", None),
                    max_attempts=self.max_api_attempts,
                )
            return self._connection

    @property
    def _state_lock(self) -> threading.RLock:
        return self.__dict__.setdefault("_aws_lock", threading.RLock())

    def client(self, service: str) -> Any:
        """This executor's boto3 client for ``service`` (retrying, with its credentials)."""
        return self.connection.client(service)

    def _hints(self) -> Hints:
        """(needle, fix) pairs for this service's errors; the fix names the parameter."""
        return []

    def _explain(self, exc: BaseException, call: str) -> AWSExecutorError:
        fields = {k: v for k, v in self._public_state().items()}
        fields["region"] = self.region or self.connection.region_name
        return explain(exc, f"{type(self).__name__}: {call}", self._hints(), fields)

    def call(self, service: str, operation: str, **params: Any) -> Any:
        """One API call (blocking), its failure explained in terms of this executor's fields."""
        try:
            return getattr(self.client(service), operation)(**params)
        except AWSExecutorError:
            raise
        except Exception as exc:
            raise self._explain(exc, f"{service}.{operation}") from exc

    async def acall(self, service: str, operation: str, **params: Any) -> Any:
        return await asyncio.to_thread(self.call, service, operation, **params)

    # -- one-time preparation -------------------------------------------------------
    async def _ensure_prepared(self) -> None:
        if not self.__dict__.get("_prepared"):
            await asyncio.to_thread(self._prepare_once)

    def _prepare_once(self) -> None:
        with self._state_lock:
            if not self.__dict__.get("_prepared"):
                self._prepare()
                self._prepared = True

    def _prepare(self) -> None:
        """Check (and register) what jobs need, so bad settings fail before any submission."""
        if not self.s3_bucket_name:
            raise AWSExecutorError(
                f"{type(self).__name__}: s3_bucket_name is empty; set it to a bucket the jobs "
                "can read and write (it carries the task package and its outcome)"
            )
        try:
            self.client("s3").head_bucket(Bucket=self.s3_bucket_name)
        except Exception as exc:
            if "404" in str(exc) or "NoSuchBucket" in str(exc):
                raise AWSExecutorError(
                    f"{type(self).__name__}: s3_bucket_name {self.s3_bucket_name!r} does not "
                    "exist (or is in another account); create it or fix s3_bucket_name"
                ) from None
            raise self._explain(exc, "s3.head_bucket") from exc

    def role_arn(self, role_name: str, parameter: str) -> str:
        """The ARN of IAM role ``role_name``; a missing role names ``parameter``."""
        if role_name.startswith("arn:"):
            return role_name
        try:
            return self.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
        except Exception as exc:
            text = str(exc)
            if "NoSuchEntity" in text:
                raise AWSExecutorError(
                    f"{type(self).__name__}: IAM role {role_name!r} ({parameter}) does not exist; "
                    f"create it or set {parameter} to an existing role name or ARN"
                ) from None
            if "AccessDenied" not in text:
                raise self._explain(exc, "iam.get_role") from exc
        # Without iam:GetRole the ARN can still be built from the caller's account.
        account = self.call("sts", "get_caller_identity")["Account"]
        return f"arn:aws:iam::{account}:role/{role_name}"

    def ensure_log_group(self, group: str) -> None:
        """Create the jobs' CloudWatch log group unless it exists (the awslogs driver needs it)."""
        found = self.call("logs", "describe_log_groups", logGroupNamePrefix=group)["logGroups"]
        if not any(g["logGroupName"] == group for g in found):
            try:
                self.call("logs", "create_log_group", logGroupName=group)
            except AWSExecutorError as exc:
                if "ResourceAlreadyExists" not in str(exc):
                    raise

    # -- staging and results ------------------------------------------------------
    async def stage(self, task: TaskPackage) -> JobFiles:
        """Upload the task package to its own S3 prefix."""
        await self._ensure_prepared()
        meta = task.metadata
        files = JobFiles.new(self.s3_bucket_name, self.s3_key_prefix,
                             meta.get("dispatch_id", "adhoc"), meta.get("node_id", 0))
        data = await asyncio.to_thread(task.to_bytes)
        await self.acall("s3", "put_object", Bucket=files.bucket, Key=files.key(storage.TASK),
                         Body=data)
        return files

    def _reasons(self) -> dict[str, str]:
        return self.__dict__.setdefault("_job_reasons", {})

    def note_reason(self, handle: Handle, reason: str) -> None:
        """Remember why a job ended, for the error of a job that wrote no outcome."""
        if reason:
            self._reasons()[handle["prefix"]] = reason

    async def fetch(self, handle: Handle) -> Outcome:
        files = JobFiles.of(handle)
        s3 = self.client("s3")
        data = await asyncio.to_thread(self._get, s3, files, storage.OUTCOME)
        if data is not None:
            return Outcome.from_bytes(data)
        return await self._missing_outcome(handle, files)

    def _get(self, s3: Any, files: JobFiles, name: str) -> bytes | None:
        try:
            return storage.get(s3, files, name)
        except Exception as exc:
            raise self._explain(exc, f"s3.get_object({files.key(name)})") from exc

    async def _missing_outcome(self, handle: Handle, files: JobFiles) -> Outcome:
        s3 = self.client("s3")
        out, err, record = await asyncio.gather(
            asyncio.to_thread(self._get, s3, files, storage.STDOUT),
            asyncio.to_thread(self._get, s3, files, storage.STDERR),
            asyncio.to_thread(self._get, s3, files, storage.EXIT),
        )
        reason = self._reasons().get(files.prefix, "")
        if record:
            exit_record = json.loads(record)
            reason = exit_record.get("reason") or reason or f"exit code {exit_record['exit_code']}"
        logs = ""
        location = await self.log_location(handle)
        if location is not None:
            logs = await self._settled_tail(location, finished=record is not None)
        where = f" (CloudWatch {location[0]}/{location[1]})" if location else ""
        message = (f"job {json.dumps(handle)} wrote no outcome: {reason or 'no reason given'}"
                   f"{where}")
        stderr = (err or b"").decode(errors="replace")
        if logs:
            stderr += f"\n--- job log{where} ---\n{logs}"
            message += "\nlast log lines:\n" + "\n".join(logs.splitlines()[-10:])
        return Outcome(False, exception=AWSJobError(message), stdout=(out or b"").decode(
            errors="replace"), stderr=stderr)

    async def log_location(self, handle: Handle) -> tuple[str, str] | None:
        """(log group, log stream) of the job's CloudWatch log, when the service has one."""
        return None

    async def _settled_tail(self, location: tuple[str, str], finished: bool) -> str:
        """The log's tail; a job that wrote its exit record also logged FINISHED after it,
        so that line is awaited (up to LOG_SETTLE seconds) to show the whole story."""
        settled_by = time.monotonic() + LOG_SETTLE
        while True:
            logs = await asyncio.to_thread(self._log_tail, *location)
            if not finished or FINISHED in logs or time.monotonic() >= settled_by:
                return logs
            await asyncio.sleep(0.5)

    def _log_tail(self, group: str, stream: str) -> str:
        try:
            events = self.client("logs").get_log_events(
                logGroupName=group, logStreamName=stream, limit=LOG_TAIL, startFromHead=False
            )["events"]
        except Exception:
            return ""  # a job that never started has no log stream: the reason says why
        return "\n".join(e["message"] for e in events)
