"""What a covalent task looks like as a Batch job, and what a job's state means to the core."""

from __future__ import annotations

import re
from typing import Any

from google.cloud import batch_v1

from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    PENDING,
    RUNNING,
    JobState,
)

#: Label that ties jobs to their dispatch, so one ListJobs call answers for all of them.
DISPATCH_LABEL = "covalent_dispatch"
ENTRYPOINT = ("python", "-m", "covalent_gcp.entrypoint")
#: Batch's exit code for a task whose Spot/preemptible VM was reclaimed.
PREEMPTED_EXIT = "50001"

_PENDING = {"STATE_UNSPECIFIED", "QUEUED", "SCHEDULED"}
_GONE = {"DELETION_IN_PROGRESS", "CANCELLATION_IN_PROGRESS", "CANCELLED"}


def label_value(text: str) -> str:
    """Label values allow lowercase letters, digits, ``-`` and ``_``, 63 characters at most."""
    return re.sub(r"[^a-z0-9_-]", "-", text.lower())[:63]


def job_id(metadata: dict[str, Any], key: str) -> str:
    """Unique per submission, readable in the console: ``cov-<dispatch>-<node>-<key>``."""
    dispatch = label_value(str(metadata.get("dispatch_id", "adhoc")))[:8].strip("-_") or "adhoc"
    node = label_value(str(metadata.get("node_id", 0))).replace("_", "-")[:12]
    return f"cov-{dispatch}-{node}-{key}".replace("_", "-")


def build(
    *,
    image: str,
    env: dict[str, str],
    labels: dict[str, str],
    vcpus: int,
    memory: int,
    time_limit: float,
    service_account_email: str,
) -> batch_v1.Job:
    container = batch_v1.Runnable.Container(
        image_uri=image, entrypoint=ENTRYPOINT[0], commands=list(ENTRYPOINT[1:])
    )
    spec = batch_v1.TaskSpec(
        runnables=[batch_v1.Runnable(container=container)],
        compute_resource=batch_v1.ComputeResource(cpu_milli=vcpus * 1000, memory_mib=memory),
        environment=batch_v1.Environment(variables=env),
        # Failed tasks are retried by the dispatcher (``retries``) and preempted jobs are
        # resubmitted by the core, so Batch itself does not retry.
        max_retry_count=0,
    )
    if time_limit and time_limit > 0:
        spec.max_run_duration = f"{int(time_limit + 0.999)}s"
    allocation = batch_v1.AllocationPolicy()
    if service_account_email:
        allocation.service_account = batch_v1.ServiceAccount(email=service_account_email)
    return batch_v1.Job(
        task_groups=[batch_v1.TaskGroup(task_count=1, task_spec=spec)],
        allocation_policy=allocation,
        labels=labels,
        logs_policy=batch_v1.LogsPolicy(destination=batch_v1.LogsPolicy.Destination.CLOUD_LOGGING),
    )


def state_of(job: batch_v1.Job) -> JobState:
    name = job.status.state.name
    events = job.status.status_events
    reason = events[-1].description if events else ""
    if name in _PENDING:
        return JobState(PENDING, reason)
    if name == "RUNNING":
        return JobState(RUNNING)
    if name == "SUCCEEDED":
        return JobState(COMPLETED)
    if name in _GONE:
        return JobState(CANCELLED, f"job is {name}")
    return JobState(FAILED, reason or f"job is {name}", retryable=PREEMPTED_EXIT in reason)
