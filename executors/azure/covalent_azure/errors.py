"""Azure errors turned into messages that name the executor setting to fix."""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
)

from covalent_core.errors import ExecutorConfigError

_JOB_CLOSED = {"JobCompleted", "JobNotActive", "JobBeingTerminated", "JobBeingDeleted"}


def explain(exc: Exception, executor: Any, action: str) -> Exception:
    """The error to raise instead of ``exc``; azure-core already retried transient ones."""
    code = getattr(getattr(exc, "error", None), "code", None) or getattr(exc, "error_code", None)
    detail = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, ServiceRequestError):
        return ExecutorConfigError(
            f"{action}: cannot reach the service ({detail}). Check batch_account_url="
            f"{executor.batch_account_url!r} and storage_account_name="
            f"{executor.storage_account_name!r} / storage_account_url"
        )
    if isinstance(exc, ClientAuthenticationError) or code in (
        "AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
    ):
        return ExecutorConfigError(
            f"{action}: the credentials were refused ({code or detail}). Check batch_account_key "
            "/ storage_account_key, or tenant_id, client_id and client_secret, or the identity "
            "DefaultAzureCredential finds; it needs Batch Contributor on the account and "
            "Storage Blob Data Contributor on the storage account"
        )
    if code == "PoolNotFound":
        return ExecutorConfigError(
            f"{action}: pool_id={executor.pool_id!r} does not exist in "
            f"{executor.batch_account_url}. Create the pool or fix pool_id"
        )
    if code in _JOB_CLOSED:
        return ExecutorConfigError(
            f"{action}: job_id={executor.job_id!r} no longer accepts tasks ({code}). Delete "
            "that job in the Batch account or set job_id to a new name"
        )
    if code in ("ContainerNotFound", "ContainerBeingDeleted"):
        return ExecutorConfigError(
            f"{action}: storage_container={executor.storage_container!r} does not exist in "
            f"storage account {executor.storage_account_name!r}; create it or fix the name"
        )
    if isinstance(exc, HttpResponseError):
        return RuntimeError(f"{action}: Azure answered {exc.status_code} {code or ''}: {detail}")
    return exc
