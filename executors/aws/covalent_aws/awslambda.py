"""AWS Lambda: each task is one asynchronous invocation of a container-image function.

Invocations are asynchronous (``InvocationType=Event``), so a task may run up to the
function's timeout without holding a connection open. Lambda keeps no status of async
invocations, so the handler reports through S3 (``started.json``, ``exit.json``,
``outcome.pkg``) and one ``list_objects_v2`` per dispatch and poll round answers every
job of that dispatch. Lambda cannot stop a running invocation either: ``cancel_job``
writes a ``cancel`` object that the handler checks every few seconds.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from covalent_aws import storage
from covalent_aws.base import LOG_SETTLE, AWSExecutor
from covalent_aws.errors import AWSExecutorError, Hints
from covalent_aws.storage import JobFiles
from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LOST,
    PENDING,
    RUNNING,
    Handle,
    JobState,
)
from covalent_core.remote.package import TaskPackage

executor_plugin_name = "AWSLambdaExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "credentials_file": "",
    "profile": "",
    "region": "",
    "function_name": "covalent-lambda",
    "s3_bucket_name": "covalent-lambda-job-resources",
    "lambda_role_name": "CovalentLambdaExecutionRole",
    "container_image_uri": "",
    "poll_freq": 5,
    "timeout": 900,
    "memory_size": 512,
}

HANDLER = "covalent_aws.lambda_handler.handler"
#: Seconds past the function's timeout before a started invocation counts as dead.
TIMEOUT_GRACE = 30.0
#: Seconds an async invocation may wait in Lambda's queue before it counts as lost.
QUEUE_PATIENCE = 3600.0


class AWSLambdaExecutor(AWSExecutor):
    """Run each task as an asynchronous AWS Lambda invocation.

    Args:
        function_name: The Lambda function to invoke. If it does not exist and
            container_image_uri is set, it is created from that image.
        s3_bucket_name: Bucket that carries task packages and outcomes.
        lambda_role_name: IAM role (name or ARN) of a function created here.
        container_image_uri: Lambda image of executors/aws/docker/Dockerfile (target
            ``lambda``), used only to create the function.
        timeout, memory_size: Seconds (at most 900) and MB of a function created here.
        poll_freq: Seconds between status rounds.
        credentials_file, profile, region, endpoint_url: Where and as whom to call AWS.
    """

    def __init__(
        self,
        function_name: str = _EXECUTOR_PLUGIN_DEFAULTS["function_name"],
        s3_bucket_name: str = _EXECUTOR_PLUGIN_DEFAULTS["s3_bucket_name"],
        lambda_role_name: str = _EXECUTOR_PLUGIN_DEFAULTS["lambda_role_name"],
        container_image_uri: str = "",
        timeout: int = 900,
        memory_size: int = 512,
        poll_freq: float = 5,
        credentials_file: str = "",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("credentials", credentials_file)
        super().__init__(s3_bucket_name=s3_bucket_name, poll_freq=poll_freq, **kwargs)
        self.function_name = function_name
        self.lambda_role_name = lambda_role_name
        self.container_image_uri = container_image_uri
        self.timeout = timeout
        self.memory_size = memory_size

    def _hints(self) -> Hints:
        return [
            ("function", "function_name {function_name!r} must be a Lambda function in region "
                         "{region} (or set container_image_uri to have it created)"),
            ("role", "lambda_role_name {lambda_role_name!r} must exist and trust "
                     "lambda.amazonaws.com"),
            ("toomanyrequestsexception", "the account's Lambda concurrency is exhausted: ask "
                                         "for more or dispatch fewer tasks at once"),
        ]

    def _prepare(self) -> None:
        super()._prepare()
        lam = self.client("lambda")
        try:
            config = lam.get_function(FunctionName=self.function_name)["Configuration"]
        except lam.exceptions.ResourceNotFoundException:
            config = self._create_function()
        except Exception as exc:
            raise self._explain(exc, "lambda.get_function") from exc
        if config.get("State") not in (None, "Active", "Pending"):
            raise AWSExecutorError(
                f"AWSLambdaExecutor: function {self.function_name!r} is {config['State']} "
                f"({config.get('StateReason', '')}); fix it or set function_name"
            )
        self._function_timeout = float(config.get("Timeout") or self.timeout)

    def _create_function(self) -> dict[str, Any]:
        if not self.container_image_uri:
            raise AWSExecutorError(
                f"AWSLambdaExecutor: function_name {self.function_name!r} does not exist in "
                f"region {self.region or self.connection.region_name}; create it from the "
                "image of executors/aws/docker/Dockerfile (target lambda) or set "
                "container_image_uri so it is created here"
            )
        config = self.call(
            "lambda", "create_function", FunctionName=self.function_name, PackageType="Image",
            Role=self.role_arn(self.lambda_role_name, "lambda_role_name"),
            Code={"ImageUri": self.container_image_uri}, ImageConfig={"Command": [HANDLER]},
            Timeout=int(self.timeout), MemorySize=int(self.memory_size),
        )
        # The handler never raises, so Lambda's own retries would only duplicate work.
        self.call("lambda", "put_function_event_invoke_config",
                  FunctionName=self.function_name, MaximumRetryAttempts=0)
        self.client("lambda").get_waiter("function_active_v2").wait(
            FunctionName=self.function_name)
        return config

    async def submit(self, task: TaskPackage) -> Handle:
        files = await self.stage(task)
        payload = json.dumps({"bucket": files.bucket, "prefix": files.prefix}).encode()
        await self.acall("lambda", "invoke", FunctionName=self.function_name,
                         InvocationType="Event", Payload=payload)
        return {"function": self.function_name, "bucket": files.bucket, "prefix": files.prefix,
                "submitted_at": time.time(), "timeout": self._function_timeout}

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        # Jobs of one dispatch share a prefix: one listing answers all of them.
        groups = sorted({(h["bucket"], h["prefix"].rsplit("/", 1)[0] + "/") for h in handles})
        listings = await asyncio.gather(*(self._listing(b, p) for b, p in groups))
        objects: dict[str, float] = {}
        for listing in listings:
            objects.update(listing)
        states = []
        for handle in handles:
            state = self._state(handle, objects)
            self.note_reason(handle, state.reason)
            states.append(state)
        return states

    async def _listing(self, bucket: str, prefix: str) -> dict[str, float]:
        def pages() -> dict[str, float]:
            found = {}
            paginator = self.client("s3").get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", []):
                    found[obj["Key"]] = obj["LastModified"].timestamp()
            return found

        try:
            return await asyncio.to_thread(pages)
        except Exception as exc:
            raise self._explain(exc, "s3.list_objects_v2") from exc

    @staticmethod
    def _state(handle: Handle, objects: dict[str, float]) -> JobState:
        files = JobFiles.of(handle)
        if files.key(storage.EXIT) in objects:
            if files.key(storage.CANCEL) in objects:
                return JobState(CANCELLED, "cancelled on request")
            if files.key(storage.OUTCOME) in objects:
                return JobState(COMPLETED)
            return JobState(FAILED, "the handler stopped without an outcome")
        now = time.time()
        started = objects.get(files.key(storage.STARTED))
        if started is not None:
            if now > started + float(handle["timeout"]) + TIMEOUT_GRACE:
                return JobState(FAILED, f"no result {handle['timeout']:g}s after the invocation "
                                        "started: it timed out or crashed (raise the "
                                        "function's timeout, at most 900s)")
            return JobState(RUNNING)
        if now > float(handle["submitted_at"]) + QUEUE_PATIENCE:
            return JobState(LOST, "the invocation never started")
        return JobState(PENDING)

    async def cancel_job(self, handle: Handle) -> None:
        files = JobFiles.of(handle)
        await self.acall("s3", "put_object", Bucket=files.bucket, Key=files.key(storage.CANCEL),
                         Body=b"cancelled by covalent-core")

    async def log_location(self, handle: Handle) -> tuple[str, str] | None:
        """The log stream that holds the invocation, found by its request id.

        CloudWatch shows events some seconds after they are written, and an invocation
        that wrote its exit record may still be logging. Lambda's ``END RequestId`` line
        comes last, so it is awaited (up to LOG_SETTLE seconds) before the tail is read.
        """
        files = JobFiles.of(handle)
        started = await asyncio.to_thread(storage.get_json, self.client("s3"), files,
                                          storage.STARTED)
        request_id = (started or {}).get("request_id")
        if not request_id:
            return None
        group = f"/aws/lambda/{handle['function']}"
        settled_by = time.monotonic() + LOG_SETTLE
        try:
            while (stream := await asyncio.to_thread(
                    self._stream_with, group, f'"END RequestId: {request_id}"')) is None:
                if time.monotonic() >= settled_by:
                    stream = await asyncio.to_thread(self._stream_with, group,
                                                     f'"{request_id}"')
                    break
                await asyncio.sleep(0.5)
        except Exception:
            return None  # no log access: the exit record and streams still tell why
        return (group, stream) if stream else None

    def _stream_with(self, group: str, pattern: str) -> str | None:
        events = self.client("logs").filter_log_events(
            logGroupName=group, filterPattern=pattern, limit=1).get("events", [])
        return events[0]["logStreamName"] if events else None
