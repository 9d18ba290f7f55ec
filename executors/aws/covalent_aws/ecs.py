"""Amazon ECS on Fargate: each task is an ECS task running the container entrypoint.

The task definition is registered once per distinct configuration (tagged with a digest
of its spec). Status comes from one ``describe_tasks`` call per cluster and poll round
(up to 100 tasks per call). ECS forgets stopped tasks after about an hour, so a task it
no longer knows is judged by the exit record the entrypoint left in S3.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from covalent_aws import storage
from covalent_aws.base import (
    CANCEL_REASON,
    ENTRYPOINT,
    AWSExecutor,
    job_environment,
    spec_tag,
)
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

executor_plugin_name = "ECSExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "credentials": "",
    "profile": "",
    "region": "",
    "s3_bucket_name": "covalent-fargate-task-resources",
    "ecs_cluster_name": "covalent-fargate-cluster",
    "ecs_task_family_name": "covalent-fargate-tasks",
    "ecs_task_execution_role_name": "ecsTaskExecutionRole",
    "ecs_task_role_name": "CovalentFargateTaskRole",
    "ecs_task_subnet_id": "",
    "ecs_task_security_group_id": "",
    "ecs_task_log_group_name": "covalent-fargate-task-logs",
    "vcpu": 0.25,
    "memory": 0.5,
    "poll_freq": 10,
    "container_image_uri": "",
}

CONTAINER_NAME = "covalent-task"
DESCRIBE_LIMIT = 100
_STARTING = {"PROVISIONING", "PENDING", "ACTIVATING"}
_RECLAIMED = {"SpotInterruption", "TerminationNotice"}


class ECSExecutor(AWSExecutor):
    """Run each task as an ECS (Fargate) task.

    Args:
        s3_bucket_name: Bucket that carries task packages and outcomes.
        ecs_cluster_name: Cluster the tasks run in.
        ecs_task_family_name: Family of the task definition registered for these tasks.
        ecs_task_execution_role_name: IAM role (name or ARN) ECS uses to pull the image and log.
        ecs_task_role_name: IAM role (name or ARN) the container runs as (needs the bucket).
        ecs_task_subnet_id: Subnet the tasks' network interfaces go in.
        ecs_task_security_group_id: Security group of those interfaces (egress to S3/ECR).
        ecs_task_log_group_name: CloudWatch log group of the tasks.
        vcpu, memory: Fargate size of each task (memory in GB; a valid Fargate pair).
        poll_freq: Seconds between status rounds.
        container_image_uri: Image with Python, covalent-core and covalent-aws.
        credentials, profile, region, endpoint_url: Where and as whom to call AWS.
    """

    def __init__(
        self,
        s3_bucket_name: str = _EXECUTOR_PLUGIN_DEFAULTS["s3_bucket_name"],
        ecs_cluster_name: str = _EXECUTOR_PLUGIN_DEFAULTS["ecs_cluster_name"],
        ecs_task_family_name: str = _EXECUTOR_PLUGIN_DEFAULTS["ecs_task_family_name"],
        ecs_task_execution_role_name: str = "ecsTaskExecutionRole",
        ecs_task_role_name: str = "CovalentFargateTaskRole",
        ecs_task_subnet_id: str = "",
        ecs_task_security_group_id: str = "",
        ecs_task_log_group_name: str = _EXECUTOR_PLUGIN_DEFAULTS["ecs_task_log_group_name"],
        vcpu: float = 0.25,
        memory: float = 0.5,
        poll_freq: float = 10,
        container_image_uri: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(s3_bucket_name=s3_bucket_name, poll_freq=poll_freq, **kwargs)
        self.ecs_cluster_name = ecs_cluster_name
        self.ecs_task_family_name = ecs_task_family_name
        self.ecs_task_execution_role_name = ecs_task_execution_role_name
        self.ecs_task_role_name = ecs_task_role_name
        self.ecs_task_subnet_id = ecs_task_subnet_id
        self.ecs_task_security_group_id = ecs_task_security_group_id
        self.ecs_task_log_group_name = ecs_task_log_group_name
        self.vcpu = vcpu
        self.memory = memory
        self.container_image_uri = container_image_uri

    def _hints(self) -> Hints:
        return [
            ("cluster", "ecs_cluster_name {ecs_cluster_name!r} is not a cluster in region "
                        "{region}: create it or set ecs_cluster_name"),
            ("subnet", "ecs_task_subnet_id {ecs_task_subnet_id!r} must be a subnet of the "
                       "cluster's VPC"),
            ("security group", "ecs_task_security_group_id {ecs_task_security_group_id!r} must "
                               "be a security group in the subnet's VPC"),
            ("role", "check ecs_task_role_name {ecs_task_role_name!r} and "
                     "ecs_task_execution_role_name {ecs_task_execution_role_name!r}: both must "
                     "exist and trust ecs-tasks.amazonaws.com"),
            ("cpu", "vcpu={vcpu} and memory={memory} GB must be a Fargate size pair"),
            ("memory", "vcpu={vcpu} and memory={memory} GB must be a Fargate size pair"),
        ]

    def _prepare(self) -> None:
        missing = [name for name in ("container_image_uri", "ecs_task_subnet_id",
                                     "ecs_task_security_group_id") if not getattr(self, name)]
        if missing:
            raise AWSExecutorError(
                f"ECSExecutor: {', '.join(missing)} must be set (the image of "
                "executors/aws/docker/Dockerfile in ECR, and the subnet and security group "
                "the tasks' network interfaces use)"
            )
        super()._prepare()
        clusters = self.call("ecs", "describe_clusters", clusters=[self.ecs_cluster_name])
        active = [c for c in clusters.get("clusters", []) if c.get("status") == "ACTIVE"]
        if not active:
            raise AWSExecutorError(
                f"ECSExecutor: ecs_cluster_name {self.ecs_cluster_name!r} is not an active "
                f"cluster in region {self.region or self.connection.region_name}; create it "
                "or fix ecs_cluster_name"
            )
        self.ensure_log_group(self.ecs_task_log_group_name)
        self._task_definition_arn = self._task_definition()

    def _task_definition(self) -> str:
        spec: dict[str, Any] = {
            "family": self.ecs_task_family_name,
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": str(int(float(self.vcpu) * 1024)),
            "memory": str(int(float(self.memory) * 1024)),
            "executionRoleArn": self.role_arn(self.ecs_task_execution_role_name,
                                              "ecs_task_execution_role_name"),
            "taskRoleArn": self.role_arn(self.ecs_task_role_name, "ecs_task_role_name"),
            "containerDefinitions": [{
                "name": CONTAINER_NAME,
                "image": self.container_image_uri,
                "essential": True,
                "command": ENTRYPOINT,
                # The whole task's memory as the container's hard limit (valid on Fargate).
                "memory": int(float(self.memory) * 1024),
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": self.ecs_task_log_group_name,
                        "awslogs-region": self.region or self.connection.region_name,
                        "awslogs-stream-prefix": "covalent",
                    },
                },
            }],
        }
        tag = spec_tag(spec)
        try:
            found = self.client("ecs").describe_task_definition(
                taskDefinition=self.ecs_task_family_name, include=["TAGS"])
            if {"key": "covalent-spec", "value": tag} in found.get("tags", []):
                return found["taskDefinition"]["taskDefinitionArn"]
        except Exception:
            pass  # no such family yet
        registered = self.call("ecs", "register_task_definition", **spec,
                               tags=[{"key": "covalent-spec", "value": tag}])
        return registered["taskDefinition"]["taskDefinitionArn"]

    async def submit(self, task: TaskPackage) -> Handle:
        files = await self.stage(task)
        answer = await self.acall(
            "ecs", "run_task", cluster=self.ecs_cluster_name, count=1, launchType="FARGATE",
            taskDefinition=self._task_definition_arn,
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": [self.ecs_task_subnet_id],
                "securityGroups": [self.ecs_task_security_group_id],
                "assignPublicIp": "ENABLED",
            }},
            overrides={"containerOverrides": [
                {"name": CONTAINER_NAME, "environment": job_environment(files)}]},
        )
        if not answer.get("tasks"):
            failures = "; ".join(f"{f.get('arn', '')} {f.get('reason', '')}"
                                 for f in answer.get("failures", []))
            raise AWSExecutorError(
                f"ECSExecutor: ECS started no task ({failures or 'no reason given'}); check "
                "the cluster's capacity, ecs_task_subnet_id and ecs_task_security_group_id"
            )
        task_arn = answer["tasks"][0]["taskArn"]
        return {"task_arn": task_arn, "cluster": self.ecs_cluster_name,
                "bucket": files.bucket, "prefix": files.prefix}

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        calls = []
        by_cluster: dict[str, list[str]] = {}
        for handle in handles:
            by_cluster.setdefault(handle["cluster"], []).append(handle["task_arn"])
        for cluster, arns in by_cluster.items():
            arns = list(dict.fromkeys(arns))
            for i in range(0, len(arns), DESCRIBE_LIMIT):
                calls.append(self.acall("ecs", "describe_tasks", cluster=cluster,
                                        tasks=arns[i:i + DESCRIBE_LIMIT]))
        answers = await asyncio.gather(*calls)
        tasks = {t["taskArn"]: t for answer in answers for t in answer.get("tasks", [])}
        states = []
        for handle in handles:
            task = tasks.get(handle["task_arn"])
            state = self._state(task) if task else await self._forgotten(handle)
            self.note_reason(handle, state.reason)
            states.append(state)
        return states

    @staticmethod
    def _state(task: dict[str, Any]) -> JobState:
        status = task.get("lastStatus", "")
        if status in _STARTING:
            return JobState(PENDING, status)
        if status != "STOPPED":
            return JobState(RUNNING, status)
        reason = task.get("stoppedReason", "")
        if reason == CANCEL_REASON:
            return JobState(CANCELLED, reason)
        container = next(iter(task.get("containers", [])), {})
        code = container.get("exitCode")
        if code == 0:
            return JobState(COMPLETED)
        detail = "; ".join(p for p in (reason, container.get("reason", "")) if p)
        if code is not None:
            detail += f" (exit code {code})"
        return JobState(FAILED, detail or "the task stopped",
                        retryable=task.get("stopCode") in _RECLAIMED)

    async def _forgotten(self, handle: Handle) -> JobState:
        record = await asyncio.to_thread(storage.get, self.client("s3"), JobFiles.of(handle),
                                         storage.EXIT)
        if record is None:
            return JobState(LOST, f"ECS no longer knows task {handle['task_arn']}")
        code = json.loads(record).get("exit_code")
        return JobState(COMPLETED) if code == 0 else JobState(FAILED, f"exit code {code}")

    async def cancel_job(self, handle: Handle) -> None:
        await self.acall("ecs", "stop_task", cluster=handle["cluster"], task=handle["task_arn"],
                         reason=CANCEL_REASON)

    async def log_location(self, handle: Handle) -> tuple[str, str] | None:
        task_id = handle["task_arn"].rsplit("/", 1)[-1]
        return self.ecs_task_log_group_name, f"covalent/{CONTAINER_NAME}/{task_id}"
