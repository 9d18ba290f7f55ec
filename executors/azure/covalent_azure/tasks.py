"""What a covalent task looks like as an Azure Batch task, and what its state means to the core."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from azure.batch import models

from covalent_core.executor.remote import COMPLETED, FAILED, PENDING, RUNNING, JobState

COMMAND = "python -m covalent_azure.entrypoint"


def task_id(metadata: dict[str, Any], key: str) -> str:
    """Unique per submission, at most 64 letters, digits, ``-`` and ``_``."""
    dispatch = re.sub(r"[^A-Za-z0-9_-]", "-", str(metadata.get("dispatch_id", "adhoc")))[:40]
    node = re.sub(r"[^0-9A-Za-z]", "-", str(metadata.get("node_id", 0)))[:12]
    return f"{dispatch}-{node}-{key}"


def build(
    *, task: str, image: str, env: dict[str, str], time_limit: float
) -> models.BatchTaskCreateOptions:
    constraints = models.BatchTaskConstraints(
        # The dispatcher retries failed tasks (``retries``); Batch does not.
        max_task_retry_count=0,
        max_wall_clock_time=timedelta(seconds=time_limit) if time_limit > 0 else None,
    )
    return models.BatchTaskCreateOptions(
        id=task,
        command_line=COMMAND,
        container_settings=models.BatchTaskContainerSettings(image_name=image),
        environment_settings=[models.EnvironmentSetting(name=k, value=v) for k, v in env.items()],
        constraints=constraints,
    )


def state_of(task: models.BatchTask) -> JobState:
    state = str(getattr(task.state, "value", task.state))
    if state in ("active", "preparing"):
        return JobState(PENDING)
    if state == "running":
        return JobState(RUNNING)
    info = task.execution_info
    result = str(getattr(info.result, "value", info.result)) if info else ""
    if result == "success":
        return JobState(COMPLETED)
    failure = info.failure_info if info else None
    if failure is not None:
        reason = f"{failure.code}: {failure.message}"
    else:
        reason = f"exit code {info.exit_code if info else 'unknown'}"
    return JobState(FAILED, reason)
