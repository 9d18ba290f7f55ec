"""Google API errors turned into messages that name the executor setting to fix."""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions as gexc

from covalent_core.errors import ExecutorConfigError


def explain(exc: Exception, executor: Any, action: str) -> Exception:
    """The error to raise instead of ``exc``; transient ones were already retried."""
    detail = getattr(exc, "message", None) or str(exc)
    where = f"project_id={executor.project_id!r}, region={executor.region!r}"
    if isinstance(exc, gexc.RetryError):
        cause = exc.cause
        return RuntimeError(
            f"{action}: Google kept refusing ({type(cause).__name__}: "
            f"{getattr(cause, 'message', cause)}) for the whole retry window. If this is "
            f"a quota (RESOURCE_EXHAUSTED), raise it for {where} or lower vcpus/memory; "
            "otherwise try again later"
        )
    if "bucket" in action or "gs://" in action:
        if isinstance(exc, gexc.NotFound):
            return ExecutorConfigError(
                f"{action}: bucket_name={executor.bucket_name!r} does not exist. Create it "
                f"(`gcloud storage buckets create gs://{executor.bucket_name}`) or fix bucket_name"
            )
        if isinstance(exc, (gexc.Forbidden, gexc.Unauthorized)):
            return ExecutorConfigError(
                f"{action}: the credentials may not write to bucket_name="
                f"{executor.bucket_name!r} ({detail}). Grant them roles/storage.objectAdmin "
                "on the bucket, or set credentials_file to a key that has it"
            )
    if isinstance(exc, gexc.NotFound):
        return ExecutorConfigError(
            f"{action}: not found ({detail}). Check {where} and that the Batch API is "
            "enabled in that project (`gcloud services enable batch.googleapis.com`)"
        )
    if isinstance(exc, (gexc.Forbidden, gexc.Unauthorized)):
        return ExecutorConfigError(
            f"{action}: permission denied ({detail}). The credentials need "
            f"roles/batch.jobsEditor in project_id={executor.project_id!r} and "
            "roles/iam.serviceAccountUser on service_account_email"
        )
    if isinstance(exc, gexc.BadRequest):
        return ExecutorConfigError(
            f"{action}: Batch rejected the job ({detail}). Check container_image_uri, "
            "vcpus, memory, time_limit and service_account_email"
        )
    return RuntimeError(f"{action}: {type(exc).__name__}: {detail}")
