"""The handler of the Lambda function that AWSLambdaExecutor invokes.

Its name in the function's image config is ``covalent_aws.lambda_handler.handler``.

The event names the job's S3 prefix; the handler runs it like every other AWS job
(``entrypoint.run_job``), stopping the task a few seconds before Lambda's own timeout
so its streams still reach S3, and when a ``cancel`` object appears next to the task
(Lambda has no API that stops a running invocation).
"""

from __future__ import annotations

import time
from typing import Any

from covalent_aws import storage
from covalent_aws.entrypoint import run_job
from covalent_aws.storage import JobFiles

#: Seconds kept back from Lambda's timeout to upload the results.
UPLOAD_MARGIN = 5.0


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    import boto3

    s3 = boto3.client("s3")
    files = JobFiles(event["bucket"], event["prefix"])
    deadline = None
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = context.get_remaining_time_in_millis() / 1000.0
        deadline = time.monotonic() + max(remaining - UPLOAD_MARGIN, 1.0)

    def cancelled() -> bool:
        return storage.exists(s3, files, storage.CANCEL)

    started = {"request_id": getattr(context, "aws_request_id", "")}
    return run_job(s3, files, should_cancel=cancelled, deadline=deadline, started=started)
