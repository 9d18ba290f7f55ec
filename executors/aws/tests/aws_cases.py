"""How each AWS executor is built against the test peer, and how to see what its backend did."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covalent_testing.aws import AWSPeer

from covalent_core.processes import is_running


@dataclass(frozen=True)
class Case:
    name: str
    #: (infra, tmp_path, sshd server) -> executor
    build: Callable[[dict[str, Any], Path, Any], Any]
    #: The API call a throttling fault is injected into: (service, operation, error code).
    throttled: tuple[str, str, str]
    #: True once the backend has stopped the job of this handle (cancel, time limit).
    stopped: Callable[[AWSPeer, dict[str, Any]], bool]
    #: Jobs submitted for (dispatch id, node id).
    submissions: Callable[[AWSPeer, Path, str, int], int]


def _ended_with_reason(service: str, key: Callable[[dict[str, Any]], str]) -> Callable[..., bool]:
    def check(peer: AWSPeer, handle: dict[str, Any]) -> bool:
        return any(e["service"] == service and e["id"] == key(handle) and e["reason"]
                   for e in peer.events("ended"))
    return check


def _s3_jobs(peer: AWSPeer, _tmp: Path, dispatch_id: str, node_id: int) -> int:
    keys = []
    for bucket in ("covalent-jobs", "amazon-braket-covalent-jobs"):
        listed = peer.client("s3").list_objects_v2(Bucket=bucket,
                                                   Prefix=f"covalent/{dispatch_id}/{node_id}-")
        keys += [o["Key"] for o in listed.get("Contents", [])]
    return sum(1 for k in keys if k.endswith("/task.pkg"))


def _lambda_cancelled(peer: AWSPeer, handle: dict[str, Any]) -> bool:
    import json

    try:
        body = peer.client("s3").get_object(Bucket=handle["bucket"],
                                            Key=f"{handle['prefix']}/exit.json")["Body"].read()
    except Exception:
        return False
    return bool(json.loads(body).get("reason"))


def _pid_gone(_peer: AWSPeer, handle: dict[str, Any]) -> bool:
    return not is_running(handle["pid"])


def _ssh_jobs(_peer: AWSPeer, tmp: Path, dispatch_id: str, node_id: int) -> int:
    return len(list((tmp / "remote" / ".covalent-jobs").glob(f"{dispatch_id}-{node_id}-*")))


def batch(infra: dict[str, Any], _tmp: Path, _sshd: Any, **extra: Any) -> Any:
    from covalent_aws.awsbatch import AWSBatchExecutor

    return AWSBatchExecutor(s3_bucket_name=infra["bucket"], batch_queue=infra["queue"],
                            container_image_uri="covalent-aws:test", poll_freq=0.2,
                            region="us-east-1", **extra)


def ecs(infra: dict[str, Any], _tmp: Path, _sshd: Any, **extra: Any) -> Any:
    from covalent_aws.ecs import ECSExecutor

    return ECSExecutor(s3_bucket_name=infra["bucket"], ecs_cluster_name=infra["cluster"],
                       ecs_task_subnet_id=infra["subnet"],
                       ecs_task_security_group_id=infra["security_group"],
                       container_image_uri="covalent-aws:test", poll_freq=0.2,
                       region="us-east-1", **extra)


def awslambda(infra: dict[str, Any], _tmp: Path, _sshd: Any, **extra: Any) -> Any:
    from covalent_aws.awslambda import AWSLambdaExecutor

    return AWSLambdaExecutor(function_name=infra["function"], s3_bucket_name=infra["bucket"],
                             poll_freq=0.2, region="us-east-1", **extra)


def braket(infra: dict[str, Any], _tmp: Path, _sshd: Any, **extra: Any) -> Any:
    from covalent_aws.braket import BraketExecutor

    return BraketExecutor(s3_bucket_name=infra["braket_bucket"],
                          ecr_image_uri="covalent-aws:braket", poll_freq=0.2,
                          region="us-east-1", **extra)


def ec2(infra: dict[str, Any], tmp: Path, sshd: Any, **extra: Any) -> Any:
    from covalent_aws.ec2 import EC2Executor

    options = sshd.executor_options()
    options.pop("hostname")
    extra.setdefault("instance_idle_timeout", 0)
    extra.setdefault("do_cleanup", False)  # keep job directories: tests count them
    return EC2Executor(vpc=infra["vpc"], subnet=infra["subnet"], python_path=sys.executable,
                       remote_workdir=str(tmp / "remote"), poll_freq=0.2, region="us-east-1",
                       **options, **extra)


CASES = [
    Case("awsbatch", batch, ("batch", "DescribeJobs", "ThrottlingException"),
         _ended_with_reason("batch", lambda h: h["job_id"]), _s3_jobs),
    Case("ecs", ecs, ("ecs", "DescribeTasks", "ThrottlingException"),
         _ended_with_reason("ecs", lambda h: h["task_arn"].rsplit("/", 1)[-1]), _s3_jobs),
    Case("awslambda", awslambda, ("lambda", "Invoke", "TooManyRequestsException"),
         _lambda_cancelled, _s3_jobs),
    Case("braket", braket, ("braket", "GetJob", "ThrottlingException"),
         _ended_with_reason("braket", lambda h: h["job_name"]), _s3_jobs),
    Case("ec2", ec2, ("ec2", "DescribeInstances", "RequestLimitExceeded"), _pid_gone, _ssh_jobs),
]

