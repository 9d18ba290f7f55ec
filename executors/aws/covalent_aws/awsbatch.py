"""AWS Batch: each task is a Batch job running the container entrypoint on a job queue.

The job definition is registered once per distinct configuration (tagged with a digest
of its spec, so an existing matching revision is reused). Every job in flight is
answered by one ``describe_jobs`` call per poll round (up to 100 ids per call).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from covalent_aws.base import (
    CANCEL_REASON,
    ENTRYPOINT,
    AWSExecutor,
    job_environment,
    spec_tag,
)
from covalent_aws.errors import AWSExecutorError, Hints
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

executor_plugin_name = "AWSBatchExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "credentials": "",
    "profile": "",
    "region": "",
    "s3_bucket_name": "covalent-batch-job-resources",
    "batch_queue": "covalent-batch-queue",
    "batch_job_definition_name": "covalent-batch-jobs",
    "batch_execution_role_name": "ecsTaskExecutionRole",
    "batch_job_role_name": "CovalentBatchJobRole",
    "batch_job_log_group_name": "covalent-batch-job-logs",
    "vcpu": 2,
    "memory": 3.75,
    "num_gpus": 0,
    "retry_attempts": 3,
    "time_limit": 300,
    "poll_freq": 10,
    "container_image_uri": "",
}

#: describe_jobs accepts at most this many ids per call.
DESCRIBE_LIMIT = 100
_WAITING = {"SUBMITTED", "PENDING", "RUNNABLE", "STARTING"}
_TAG = "covalent-spec"


class AWSBatchExecutor(AWSExecutor):
    """Run each task as an AWS Batch job.

    Args:
        s3_bucket_name: Bucket that carries task packages and outcomes.
        batch_queue: Job queue the jobs are submitted to.
        batch_job_definition_name: Name of the job definition registered for these jobs.
        batch_execution_role_name: IAM role (name or ARN) the ECS agent uses (image pull, logs).
        batch_job_role_name: IAM role (name or ARN) the container runs as (needs the bucket).
        batch_job_log_group_name: CloudWatch log group of the jobs.
        vcpu, memory, num_gpus: Resources of each job (memory in GB).
        retry_attempts: Attempts Batch makes when a container fails (not when a task raises).
        time_limit: Seconds before a task is stopped (Batch's own timeout too, when >= 60).
        poll_freq: Seconds between status rounds.
        container_image_uri: Image with Python, covalent-core and covalent-aws
            (see executors/aws/docker/Dockerfile).
        credentials, profile, region, endpoint_url: Where and as whom to call AWS; empty
            values use the SDK's chain (environment, ~/.aws, instance role).
    """

    def __init__(
        self,
        s3_bucket_name: str = _EXECUTOR_PLUGIN_DEFAULTS["s3_bucket_name"],
        batch_queue: str = _EXECUTOR_PLUGIN_DEFAULTS["batch_queue"],
        batch_job_definition_name: str = _EXECUTOR_PLUGIN_DEFAULTS["batch_job_definition_name"],
        batch_execution_role_name: str = _EXECUTOR_PLUGIN_DEFAULTS["batch_execution_role_name"],
        batch_job_role_name: str = _EXECUTOR_PLUGIN_DEFAULTS["batch_job_role_name"],
        batch_job_log_group_name: str = _EXECUTOR_PLUGIN_DEFAULTS["batch_job_log_group_name"],
        vcpu: float = 2,
        memory: float = 3.75,
        num_gpus: int = 0,
        retry_attempts: int = 3,
        time_limit: float = 300,
        poll_freq: float = 10,
        container_image_uri: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(s3_bucket_name=s3_bucket_name, time_limit=time_limit,
                         poll_freq=poll_freq, **kwargs)
        self.batch_queue = batch_queue
        self.batch_job_definition_name = batch_job_definition_name
        self.batch_execution_role_name = batch_execution_role_name
        self.batch_job_role_name = batch_job_role_name
        self.batch_job_log_group_name = batch_job_log_group_name
        self.vcpu = vcpu
        self.memory = memory
        self.num_gpus = num_gpus
        self.retry_attempts = retry_attempts
        self.container_image_uri = container_image_uri

    def _hints(self) -> Hints:
        return [
            ("job queue", "batch_queue {batch_queue!r} is not a job queue in region {region}: "
                          "create it or set batch_queue"),
            ("jobqueue", "batch_queue {batch_queue!r} is not a job queue in region {region}"),
            ("role", "check batch_job_role_name {batch_job_role_name!r} and "
                     "batch_execution_role_name {batch_execution_role_name!r}: both must exist "
                     "and trust ecs-tasks.amazonaws.com"),
            ("image", "container_image_uri {container_image_uri!r} must name an image the "
                      "execution role can pull"),
            ("resource", "vcpu={vcpu}, memory={memory} GB, num_gpus={num_gpus} must fit the "
                         "queue's compute environments"),
        ]

    # -- preparation ------------------------------------------------------------
    def _prepare(self) -> None:
        if not self.container_image_uri:
            raise AWSExecutorError(
                "AWSBatchExecutor: container_image_uri is empty; build the image of "
                "executors/aws/docker/Dockerfile, push it to ECR and set container_image_uri"
            )
        super()._prepare()
        queues = self.call("batch", "describe_job_queues", jobQueues=[self.batch_queue])
        queue = next(iter(queues.get("jobQueues", [])), None)
        if queue is None:
            raise AWSExecutorError(
                f"AWSBatchExecutor: batch_queue {self.batch_queue!r} does not exist in region "
                f"{self.region or self.connection.region_name}; create it or fix batch_queue"
            )
        if queue.get("state") != "ENABLED":
            raise AWSExecutorError(
                f"AWSBatchExecutor: batch_queue {self.batch_queue!r} is {queue.get('state')}; "
                "enable it (update-job-queue --state ENABLED) or choose another batch_queue"
            )
        self.ensure_log_group(self.batch_job_log_group_name)
        self._job_definition_arn = self._job_definition()

    def _job_definition(self) -> str:
        resources = [
            {"type": "VCPU", "value": str(self.vcpu)},
            {"type": "MEMORY", "value": str(int(float(self.memory) * 1024))},
        ]
        if self.num_gpus:
            resources.append({"type": "GPU", "value": str(int(self.num_gpus))})
        spec: dict[str, Any] = {
            "jobDefinitionName": self.batch_job_definition_name,
            "type": "container",
            "containerProperties": {
                "image": self.container_image_uri,
                "command": ENTRYPOINT,
                "jobRoleArn": self.role_arn(self.batch_job_role_name, "batch_job_role_name"),
                "executionRoleArn": self.role_arn(self.batch_execution_role_name,
                                                  "batch_execution_role_name"),
                "resourceRequirements": resources,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": self.batch_job_log_group_name,
                        "awslogs-region": self.region or self.connection.region_name,
                        "awslogs-stream-prefix": "covalent",
                    },
                },
            },
            "retryStrategy": {"attempts": max(1, int(self.retry_attempts))},
            "platformCapabilities": ["EC2"],
        }
        if self.time_limit and float(self.time_limit) >= 60:  # Batch's minimum timeout
            spec["timeout"] = {"attemptDurationSeconds": int(float(self.time_limit))}
        tag = spec_tag(spec)
        found = self.call("batch", "describe_job_definitions",
                          jobDefinitionName=self.batch_job_definition_name, status="ACTIVE")
        for definition in found.get("jobDefinitions", []):
            if definition.get("tags", {}).get(_TAG) == tag:
                return definition["jobDefinitionArn"]
        registered = self.call("batch", "register_job_definition", **spec, tags={_TAG: tag})
        return registered["jobDefinitionArn"]

    # -- the remote split ---------------------------------------------------------
    async def submit(self, task: TaskPackage) -> Handle:
        files = await self.stage(task)
        meta = task.metadata
        name = re.sub(r"[^A-Za-z0-9_-]", "-",
                      f"covalent-{meta.get('dispatch_id', 'adhoc')}-{meta.get('node_id', 0)}")
        job = await self.acall(
            "batch", "submit_job", jobName=name[:128], jobQueue=self.batch_queue,
            jobDefinition=self._job_definition_arn,
            containerOverrides={"environment": job_environment(files)},
        )
        return {"job_id": job["jobId"], "bucket": files.bucket, "prefix": files.prefix}

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        ids = list(dict.fromkeys(h["job_id"] for h in handles))
        chunks = [ids[i:i + DESCRIBE_LIMIT] for i in range(0, len(ids), DESCRIBE_LIMIT)]
        answers = await asyncio.gather(
            *(self.acall("batch", "describe_jobs", jobs=chunk) for chunk in chunks)
        )
        jobs = {job["jobId"]: job for answer in answers for job in answer.get("jobs", [])}
        streams = self.__dict__.setdefault("_log_streams", {})
        states = []
        for handle in handles:
            job = jobs.get(handle["job_id"])
            if job is None:
                states.append(JobState(LOST, f"Batch no longer knows job {handle['job_id']}"))
                continue
            if job.get("container", {}).get("logStreamName"):
                streams[handle["job_id"]] = job["container"]["logStreamName"]
            state = self._state(job)
            self.note_reason(handle, state.reason)
            states.append(state)
        return states

    @staticmethod
    def _state(job: dict[str, Any]) -> JobState:
        status = job["status"]
        if status in _WAITING:
            return JobState(PENDING, status)
        if status == "RUNNING":
            return JobState(RUNNING)
        if status == "SUCCEEDED":
            return JobState(COMPLETED)
        reason = job.get("statusReason", "")
        container = job.get("container", {})
        if reason == CANCEL_REASON:
            return JobState(CANCELLED, reason)
        detail = "; ".join(p for p in (reason, container.get("reason", "")) if p)
        if container.get("exitCode") is not None:
            detail += f" (exit code {container['exitCode']})"
        # A reclaimed Spot host is worth another try; a task's own failure is not.
        retryable = reason.startswith("Host EC2") and "terminated" in reason
        return JobState(FAILED, detail or "the job failed", retryable=retryable)

    async def cancel_job(self, handle: Handle) -> None:
        await self.acall("batch", "terminate_job", jobId=handle["job_id"], reason=CANCEL_REASON)

    async def log_location(self, handle: Handle) -> tuple[str, str] | None:
        stream = self.__dict__.get("_log_streams", {}).get(handle["job_id"])
        return (self.batch_job_log_group_name, stream) if stream else None
