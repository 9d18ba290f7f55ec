"""Amazon Braket hybrid jobs: each task is a hybrid job whose container runs the task.

The job's container is the image of executors/aws/docker/Dockerfile (target ``braket``,
built on Braket's base jobs image). Braket's container runner calls the entry point
``covalent_aws.entrypoint:braket_main``, which reads the job's S3 prefix from the
hyperparameters. Inside the task, ``AMZN_BRAKET_DEVICE_ARN`` names ``quantum_device``
and quantum tasks get the priority queueing of hybrid jobs. Braket answers one job
per ``GetJob`` call, so a poll round makes one call per job in flight, concurrently.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import uuid
from typing import Any

from covalent_aws.base import AWSExecutor
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

executor_plugin_name = "BraketExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "credentials": "",
    "profile": "",
    "region": "",
    "s3_bucket_name": "amazon-braket-covalent-job-resources",
    "ecr_image_uri": "",
    "braket_job_execution_role_name": "CovalentBraketJobsExecutionRole",
    "quantum_device": "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
    "classical_device": "ml.m5.large",
    "storage": 30,
    "time_limit": 300,
    "poll_freq": 30,
}

ENTRY_POINT = "covalent_aws.entrypoint:braket_main"
LOG_GROUP = "/aws/braket/jobs"
_STATES = {"QUEUED": PENDING, "RUNNING": RUNNING, "CANCELLING": RUNNING,
           "COMPLETED": COMPLETED, "CANCELLED": CANCELLED}


class BraketExecutor(AWSExecutor):
    """Run each task as an Amazon Braket hybrid job.

    Args:
        s3_bucket_name: Bucket for task packages, outcomes and the jobs' output
            (Braket requires its name to start with ``amazon-braket-``).
        ecr_image_uri: The job image (executors/aws/docker/Dockerfile, target braket).
        ecr_repo_name: Accepted for compatibility; the image is named by ecr_image_uri.
        braket_job_execution_role_name: IAM role (name or ARN) the job runs as.
        quantum_device: ARN of the QPU or simulator the job's quantum tasks use.
        classical_device: Instance type of the job's container (ml.m5.large, ...).
        storage: Volume size of the job's instance in GB.
        time_limit: Seconds before the job is stopped (Braket's maxRuntimeInSeconds too).
        poll_freq: Seconds between status rounds.
        credentials, profile, region, endpoint_url: Where and as whom to call AWS.
    """

    def __init__(
        self,
        s3_bucket_name: str = _EXECUTOR_PLUGIN_DEFAULTS["s3_bucket_name"],
        ecr_image_uri: str = "",
        braket_job_execution_role_name: str = "CovalentBraketJobsExecutionRole",
        quantum_device: str = _EXECUTOR_PLUGIN_DEFAULTS["quantum_device"],
        classical_device: str = "ml.m5.large",
        storage: int = 30,
        time_limit: float = 300,
        poll_freq: float = 30,
        ecr_repo_name: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(s3_bucket_name=s3_bucket_name, time_limit=time_limit,
                         poll_freq=poll_freq, **kwargs)
        self.ecr_image_uri = ecr_image_uri
        self.ecr_repo_name = ecr_repo_name
        self.braket_job_execution_role_name = braket_job_execution_role_name
        self.quantum_device = quantum_device
        self.classical_device = classical_device
        self.storage = storage

    def _hints(self) -> Hints:
        return [
            ("device", "quantum_device {quantum_device!r} must be a device ARN available in "
                       "{region}"),
            ("instancetype", "classical_device {classical_device!r} must be an ml.* instance "
                             "type Braket offers"),
            ("role", "braket_job_execution_role_name {braket_job_execution_role_name!r} must "
                     "exist and trust braket.amazonaws.com"),
            ("image", "ecr_image_uri {ecr_image_uri!r} must be an image in ECR the role can pull"),
        ]

    def _prepare(self) -> None:
        if not self.ecr_image_uri:
            raise AWSExecutorError(
                "BraketExecutor: ecr_image_uri is empty; build executors/aws/docker/Dockerfile "
                "(target braket), push it to ECR and set ecr_image_uri"
            )
        super()._prepare()
        self._role_arn = self.role_arn(self.braket_job_execution_role_name,
                                       "braket_job_execution_role_name")
        # Braket's container runner wants a source archive; the code is in the image.
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w:gz") as tar:
            note = b"covalent-aws: the job's code is installed in the image\n"
            info = tarfile.TarInfo("README.txt")
            info.size = len(note)
            tar.addfile(info, io.BytesIO(note))
        self._source_key = f"{self.s3_key_prefix}/braket-source.tar.gz"
        self.call("s3", "put_object", Bucket=self.s3_bucket_name, Key=self._source_key,
                  Body=archive.getvalue())

    async def submit(self, task: TaskPackage) -> Handle:
        files = await self.stage(task)
        bucket = files.bucket
        name = f"covalent-{task.metadata.get('node_id', 0)}-{files.prefix.rsplit('-', 1)[-1]}"
        params: dict[str, Any] = {
            "clientToken": str(uuid.uuid4()),
            "jobName": name[:50],
            "roleArn": self._role_arn,
            "algorithmSpecification": {
                "containerImage": {"uri": self.ecr_image_uri},
                "scriptModeConfig": {"entryPoint": ENTRY_POINT, "compressionType": "GZIP",
                                     "s3Uri": f"s3://{bucket}/{self._source_key}"},
            },
            "hyperParameters": {"covalent_s3_bucket": bucket, "covalent_s3_prefix": files.prefix},
            "deviceConfig": {"device": self.quantum_device},
            "instanceConfig": {"instanceType": self.classical_device, "instanceCount": 1,
                               "volumeSizeInGb": int(self.storage)},
            "outputDataConfig": {"s3Path": f"s3://{bucket}/{files.prefix}/braket-output"},
            "checkpointConfig": {"s3Uri": f"s3://{bucket}/{files.prefix}/checkpoints"},
        }
        if self.time_limit and float(self.time_limit) > 0:
            params["stoppingCondition"] = {"maxRuntimeInSeconds": int(float(self.time_limit))}
        job = await self.acall("braket", "create_job", **params)
        return {"job_arn": job["jobArn"], "job_name": params["jobName"], "bucket": bucket,
                "prefix": files.prefix}

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        arns = list(dict.fromkeys(h["job_arn"] for h in handles))
        answers = await asyncio.gather(*(self._describe(arn) for arn in arns))
        jobs = dict(zip(arns, answers, strict=True))
        states = []
        for handle in handles:
            job = jobs[handle["job_arn"]]
            if job is None:
                state = JobState(LOST, f"Braket no longer knows job {handle['job_arn']}")
            elif job["status"] == "FAILED":
                state = JobState(FAILED, job.get("failureReason", "the job failed"))
            else:
                state = JobState(_STATES.get(job["status"], PENDING), job["status"])
            self.note_reason(handle, state.reason)
            states.append(state)
        return states

    async def _describe(self, arn: str) -> dict[str, Any] | None:
        try:
            return await asyncio.to_thread(self.client("braket").get_job, jobArn=arn)
        except Exception as exc:
            if "ResourceNotFound" in str(exc):
                return None
            raise self._explain(exc, "braket.get_job") from exc

    async def cancel_job(self, handle: Handle) -> None:
        await self.acall("braket", "cancel_job", jobArn=handle["job_arn"])

    async def log_location(self, handle: Handle) -> tuple[str, str] | None:
        try:
            streams = await asyncio.to_thread(
                self.client("logs").describe_log_streams, logGroupName=LOG_GROUP,
                logStreamNamePrefix=handle["job_name"])
        except Exception:
            return None
        found = streams.get("logStreams", [])
        return (LOG_GROUP, found[0]["logStreamName"]) if found else None
