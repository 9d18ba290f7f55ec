"""Where one job's files live in S3, shared by the executors and the container entrypoint.

Every job gets its own prefix ``<root>/<dispatch_id>/<node_id>-<token>/`` holding the task
package, and, once it ran, the outcome, both streams and the exit record. The executor
writes ``task.pkg`` (and ``cancel`` to ask a Lambda invocation to stop); the job writes
everything else.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

TASK = "task.pkg"
OUTCOME = "outcome.pkg"
STDOUT = "stdout.log"
STDERR = "stderr.log"
EXIT = "exit.json"
STARTED = "started.json"
CANCEL = "cancel"


@dataclass(frozen=True)
class JobFiles:
    bucket: str
    prefix: str

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}/"

    @classmethod
    def new(cls, bucket: str, root: str, dispatch_id: str, node_id: Any) -> JobFiles:
        token = uuid.uuid4().hex[:12]
        parts = [p for p in (root.strip("/"), str(dispatch_id), f"{node_id}-{token}") if p]
        return cls(bucket, "/".join(parts))

    @classmethod
    def of(cls, handle: dict[str, Any]) -> JobFiles:
        return cls(handle["bucket"], handle["prefix"])


def put(s3: Any, files: JobFiles, name: str, data: bytes) -> None:
    s3.put_object(Bucket=files.bucket, Key=files.key(name), Body=data)


def get(s3: Any, files: JobFiles, name: str) -> bytes | None:
    """The object's bytes, or None if the job never wrote it."""
    try:
        return s3.get_object(Bucket=files.bucket, Key=files.key(name))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def exists(s3: Any, files: JobFiles, name: str) -> bool:
    try:
        s3.head_object(Bucket=files.bucket, Key=files.key(name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return False
        raise
    return True


def get_json(s3: Any, files: JobFiles, name: str) -> dict[str, Any] | None:
    data = get(s3, files, name)
    return json.loads(data) if data else None

