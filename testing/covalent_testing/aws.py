"""moto's server on 127.0.0.1, with a compute agent that plays AWS's compute plane.

Without Docker, moto accepts Batch jobs, ECS tasks and Lambda invocations but never runs
them. So the peer is one process (``python -m covalent_testing.aws serve``, started and
stopped by PID) that serves moto's own WSGI app and, in the same process, runs what
the API was asked to run, the way a compute environment would:

* Batch: each job's command and environment (job definition plus overrides) run as a
  local process; the job is RUNNABLE until one of ``slots`` is free, then RUNNING, then
  SUCCEEDED/FAILED with its exit code; ``terminate_job`` and ``attemptDurationSeconds``
  stop the process. moto's own job thread (which would start a container) is replaced.
* ECS: each task's container command runs as a process; ``stop_task`` stops it.
* Lambda: an invocation runs the function's handler (``ImageConfig.Command``) in a
  process through a minimal runtime shim, killed at the function's ``Timeout``.
* EC2: instances get public IP 127.0.0.1, where the test's sshd plays the instance.
* Braket hybrid jobs: moto has no Braket, so the CreateJob/GetJob/CancelJob REST API is
  emulated here (a mock; tests that use it say so), and the job's container runs as a
  process like a Batch job.

Processes see the job's environment plus ``AWS_ENDPOINT_URL`` pointing back at this
server and test credentials (the job role), and write their output to the CloudWatch
log stream the service would use (lines show LOG_LAG seconds late).
``<workdir>/agent.jsonl`` journals every start and end, so tests can count submissions
and see how a job ended.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from covalent_testing._proc import free_port, port_open, stop, wait_until

REGION = "us-east-1"
ACCOUNT = "123456789012"
#: What a container started from executors/aws/docker/Dockerfile runs when no command is
#: given (Braket jobs): its ENTRYPOINT, which this peer cannot read from an image.
IMAGE_ENTRYPOINT = ["python", "-m", "covalent_aws.entrypoint"]
#: Seconds between SIGTERM and SIGKILL when the service stops a container.
STOP_GRACE = 5.0
#: Seconds before a log line shows in CloudWatch. Real ingestion lags too, so a job's
#: last lines may land after its exit record is in S3 or its status is final.
LOG_LAG = 1.0


# ====================================================================================
# The test side: start the peer, provision resources the way a platform team would.
# ====================================================================================
@dataclass
class AWSPeer:
    directory: Path
    port: int = field(default_factory=free_port)
    slots: int = 4
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"

    @property
    def journal(self) -> Path:
        return self.directory / "agent.jsonl"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def client_env(self) -> dict[str, str]:
        """Variables that point boto3 (in any process) at this peer with test credentials."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint_url, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "covalent_testing.aws", "serve", "--port", str(self.port),
             "--workdir", str(self.directory), "--slots", str(self.slots)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            env={**os.environ, **self.client_env()},
        )
        log.close()
        wait_until(lambda: port_open(self.port), 60, f"moto server on port {self.port}",
                   self._proc, self.log)

    def stop(self) -> None:
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The agent's journal: one dict per job start/end, optionally of one kind."""
        if not self.journal.exists():
            return []
        rows = [json.loads(line) for line in self.journal.read_text().splitlines() if line]
        return [r for r in rows if kind is None or r["event"] == kind]

    def wait_for_event(self, kind: str, count: int = 1, timeout: float = 60) -> list[dict]:
        wait_until(lambda: len(self.events(kind)) >= count, timeout,
                   f"{count} {kind} event(s) in {self.journal}", self._proc, self.log)
        return self.events(kind)

    # -- infrastructure a platform team would create once -------------------------
    def role(self, name: str) -> str:
        iam = self.client("iam")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action":
                 "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}
        try:
            return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
                "Role"]["Arn"]
        except iam.exceptions.EntityAlreadyExistsException:
            return iam.get_role(RoleName=name)["Role"]["Arn"]

    def bucket(self, name: str) -> str:
        s3 = self.client("s3")
        try:
            s3.create_bucket(Bucket=name)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def network(self) -> tuple[str, str, str]:
        """(vpc id, subnet id, security group id) for tasks and instances."""
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName=f"covalent-{uuid.uuid4().hex[:6]}",
                                          Description="covalent tests", VpcId=vpc)["GroupId"]
        return vpc, subnet, group

    def batch_queue(self, name: str = "covalent-queue") -> str:
        batch = self.client("batch")
        service_role = self.role("covalent-batch-service")
        env = batch.create_compute_environment(
            computeEnvironmentName=f"{name}-env", type="UNMANAGED", state="ENABLED",
            serviceRole=service_role,
        )
        batch.create_job_queue(jobQueueName=name, state="ENABLED", priority=1,
                               computeEnvironmentOrder=[{"order": 1, "computeEnvironment":
                                                         env["computeEnvironmentArn"]}])
        return name

    def ecs_cluster(self, name: str = "covalent-cluster") -> str:
        self.client("ecs").create_cluster(clusterName=name)
        return name

    def lambda_function(self, name: str, timeout: int = 60, memory: int = 512) -> str:
        role = self.role("covalent-lambda-role")
        self.client("lambda").create_function(
            FunctionName=name, Role=role, PackageType="Image",
            Code={"ImageUri": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/covalent:latest"},
            ImageConfig={"Command": ["covalent_aws.lambda_handler.handler"]},
            Timeout=timeout, MemorySize=memory,
        )
        return name


@contextmanager
def aws_peer(directory: Path, slots: int = 4) -> Iterator[AWSPeer]:
    """A running moto server + compute agent; stopped by PID on exit."""
    peer = AWSPeer(Path(directory), slots=slots)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def inject_errors(client: Any, operation: str, code: str = "ThrottlingException",
                  times: int = 1, status: int = 400) -> list[str]:
    """Make ``client``'s next ``times`` calls of ``operation`` fail with ``code``.

    This is fault injection, not a peer: a botocore ``before-send`` hook answers the
    request with an AWS error response instead of sending it, so what botocore's retry
    logic sees is exactly what AWS sends when it throttles. Returns a list that records
    every attempt of the operation ("injected" or "sent").
    """
    from botocore.awsrequest import AWSResponse

    attempts: list[str] = []
    remaining = [times]
    service = client.meta.service_model.service_name
    protocol = client.meta.service_model.protocol

    class _Raw:
        def __init__(self, body: bytes) -> None:
            self._body = body

        def stream(self, **_kwargs: Any) -> Iterator[bytes]:
            yield self._body

    def before_send(request: Any, **_kwargs: Any) -> AWSResponse | None:
        if remaining[0] <= 0:
            attempts.append("sent")
            return None
        remaining[0] -= 1
        attempts.append("injected")
        if protocol == "ec2":
            body = (f"<Response><Errors><Error><Code>{code}</Code><Message>Rate exceeded"
                    "</Message></Error></Errors><RequestID>injected</RequestID></Response>")
            headers = {"Content-Type": "text/xml"}
        elif protocol == "query":
            body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>"
                    "Rate exceeded</Message></Error><RequestId>injected</RequestId>"
                    "</ErrorResponse>")
            headers = {"Content-Type": "text/xml"}
        else:
            body = json.dumps({"__type": code, "message": "Rate exceeded"})
            headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, status, headers, _Raw(body.encode()))

    client.meta.events.register(f"before-send.{service}.{operation}", before_send)
    return attempts


# ====================================================================================
# The server side: moto's app plus the agent, in one process.
# ====================================================================================
class Agent:
    """Runs what the API was asked to run, as local processes, and reports back into moto."""

    def __init__(self, workdir: Path, port: int, slots: int) -> None:
        self.workdir = workdir
        self.port = port
        self.slots = threading.Semaphore(slots)
        self._journal_lock = threading.Lock()
        self.braket_jobs: dict[str, dict[str, Any]] = {}
        self._log_lines: queue.Queue[tuple[float, Any, str, str, list[dict]]] = queue.Queue()
        threading.Thread(target=self._deliver_logs, daemon=True).start()

    # -- shared plumbing --------------------------------------------------------
    def record(self, **row: Any) -> None:
        row["time"] = time.time()
        with self._journal_lock, (self.workdir / "agent.jsonl").open("a") as fh:
            fh.write(json.dumps(row) + "\n")

    def environment(self, extra: dict[str, str]) -> dict[str, str]:
        """A container's view: its own variables, AWS reachable, credentials of its role."""
        env = {k: v for k, v in os.environ.items()
               if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")}
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        env.update({
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
            "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        })
        env.update(extra)
        return env

    def run_process(
        self, service: str, job_id: str, argv: list[str], env: dict[str, str],
        stopped: Callable[[], str], limit: float | None = None, stdin: bytes | None = None,
        sink: Callable[[list[str]], None] | None = None,
    ) -> tuple[int, str, list[str]]:
        """Run one container; returns (exit code, stop reason, output lines).

        ``sink`` gets the output lines as they come (every half second), the way the
        awslogs driver ships a container's output to CloudWatch while it runs.
        """
        job_dir = self.workdir / "jobs" / f"{service}-{job_id.replace('/', '_')}"
        job_dir.mkdir(parents=True, exist_ok=True)
        output = (job_dir / "output.log").open("w+b")
        proc = subprocess.Popen(argv, cwd=job_dir, env=env, stdout=output,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL)
        if stdin is not None:
            proc.stdin.write(stdin)  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        self.record(event="started", service=service, id=job_id, pid=proc.pid, argv=argv)
        started, reason, term_at, shipped, last_ship = time.monotonic(), "", None, 0, 0.0
        with (job_dir / "output.log").open("rb") as reader:
            while proc.poll() is None:
                now = time.monotonic()
                if not reason:
                    reason = stopped()
                    if not reason and limit and now - started > limit:
                        reason = "timeout"
                    if reason:
                        proc.terminate()
                        term_at = now
                elif term_at is not None and now - term_at > STOP_GRACE:
                    proc.kill()
                if sink is not None and now - last_ship > 0.5:
                    last_ship = now
                    chunk = reader.read()
                    complete, _, rest = chunk.rpartition(b"\n")
                    reader.seek(-len(rest), os.SEEK_CUR)
                    if complete:
                        lines = complete.decode(errors="replace").split("\n")
                        sink(lines)
                        shipped += len(lines)
                time.sleep(0.05)
        output.seek(0)
        lines = output.read().decode(errors="replace").splitlines()
        output.close()
        if sink is not None and lines[shipped:]:
            sink(lines[shipped:])
        code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        self.record(event="ended", service=service, id=job_id, pid=proc.pid, exit_code=code,
                    reason=reason)
        return code, reason, lines

    def log_sink(self, logs: Any, group: str, stream: str) -> Callable[[list[str]], None]:
        """Where a container's output goes: its CloudWatch stream, LOG_LAG seconds late."""
        logs.ensure_log_group(group)
        logs.ensure_log_stream(group, stream)

        def ship(lines: list[str]) -> None:
            now = int(time.time() * 1000)
            events = [{"timestamp": now, "message": line or " "} for line in lines]
            self._log_lines.put((time.monotonic() + LOG_LAG, logs, group, stream, events))

        return ship

    def _deliver_logs(self) -> None:
        # One queue for every stream: all lines lag the same, so arrival order is due order.
        while True:
            due, logs, group, stream, events = self._log_lines.get()
            time.sleep(max(0.0, due - time.monotonic()))
            logs.put_log_events(group, stream, events)

    # -- Batch ----------------------------------------------------------------------
    def run_batch_job(self, job: Any) -> None:
        """Replaces moto's Job.run (which would start a Docker container)."""
        job.status = "RUNNABLE"
        with self.slots:
            if job.stop:
                job.job_stopped_reason = job.job_stopped_reason or "terminated before start"
                job._mark_stopped(success=False)
                return
            job.status = "STARTING"
            details = job._container_details()
            options = (job.job_definition.container_properties.get("logConfiguration", {})
                       .get("options", {}))
            group = options.get("awslogs-group", "/aws/batch/job")
            prefix = options.get("awslogs-stream-prefix", job.job_definition.name)
            job.log_stream_name = f"{prefix}/default/{job.job_id}"
            job.job_started_at = datetime.now()
            job._start_attempt()
            job.status = "RUNNING"
            env = self.environment({e["name"]: e["value"] for e in details["environment"]})
            duration = job._get_attempt_duration()

            def stopped() -> str:
                return "terminated" if job.stop else ""

            code, reason, _ = self.run_process(
                "batch", job.job_id, list(details["command"]) or IMAGE_ENTRYPOINT, env,
                stopped, limit=float(duration) if duration else None,
                sink=self.log_sink(job._log_backend, group, job.log_stream_name),
            )
        job.exit_code = code
        if reason == "timeout":
            job.job_stopped_reason = "Job attempt duration exceeded timeout"
        elif code != 0 and not job.job_stopped_reason:
            job.job_stopped_reason = "Essential container in task exited"
        job._mark_stopped(success=code == 0 and not reason)

    # -- ECS -------------------------------------------------------------------------
    def watch_ecs(self, backend: Any) -> None:
        seen: set[str] = set()
        while True:
            for cluster_tasks in list(backend.tasks.values()):
                for arn, task in list(cluster_tasks.items()):
                    if arn not in seen:
                        seen.add(arn)
                        task.last_status = "PENDING"
                        threading.Thread(target=self.run_ecs_task, args=(backend, task),
                                         daemon=True).start()
            time.sleep(0.05)

    def run_ecs_task(self, backend: Any, task: Any) -> None:
        definition = backend.describe_task_definition(task.task_definition_arn)
        container_def = definition.container_definitions[0]
        override = next(iter(task.overrides.get("containerOverrides", [])), {})
        command = override.get("command") or container_def.get("command") or IMAGE_ENTRYPOINT
        env = {e["name"]: e["value"] for e in container_def.get("environment", [])}
        env.update({e["name"]: e["value"] for e in override.get("environment", [])})
        options = container_def.get("logConfiguration", {}).get("options", {})
        container = task.containers[0]
        sink = None
        if options.get("awslogs-group"):
            stream = f"{options.get('awslogs-stream-prefix', 'ecs')}/{container.name}/{task.id}"
            sink = self.log_sink(backend_logs(), options["awslogs-group"], stream)
        with self.slots:
            if task.desired_status == "STOPPED":
                return
            task.last_status = "RUNNING"
            container.last_status = "RUNNING"
            code, reason, _ = self.run_process(
                "ecs", task.id, list(command), self.environment(env),
                lambda: "stopped" if task.desired_status == "STOPPED" else "", sink=sink,
            )
        container.exitCode = code
        container.last_status = "STOPPED"
        if not reason:
            task.stopped_reason = "Essential container in task exited"
            task.stop_code = "EssentialContainerExited"
        task.desired_status = "STOPPED"
        task.last_status = "STOPPED"

    # -- Lambda ------------------------------------------------------------------------
    def invoke_lambda(self, function: Any, body: Any, request_headers: Any,
                      response_headers: Any) -> bytes:
        """Replaces moto's LambdaFunction.invoke (which would start a Docker container)."""
        event = json.loads(body) if isinstance(body, (str, bytes)) and body else (body or {})
        request_id = str(uuid.uuid4())
        if request_headers.get("x-amz-invocation-type", "RequestResponse") == "Event":
            threading.Thread(target=self.run_lambda, args=(function, event, request_id),
                             daemon=True).start()
            return b""
        result = self.run_lambda(function, event, request_id)
        return result.encode()

    def run_lambda(self, function: Any, event: Any, request_id: str) -> str:
        handler = (function.image_config.cmd[0] if function.package_type == "Image"
                   else function.handler)
        timeout = float(function.timeout)
        env = self.environment({
            **function.environment_vars,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout)),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_REQUEST_ID": request_id,
        })
        day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        sink = self.log_sink(backend_logs(), f"/aws/lambda/{function.function_name}",
                             f"{day}/[$LATEST]{uuid.uuid4().hex}")
        with self.slots:
            sink([f"START RequestId: {request_id} Version: $LATEST"])
            code, reason, lines = self.run_process(
                "lambda", request_id, [sys.executable, "-m", "covalent_testing.aws",
                                       "lambda-runtime", handler], env,
                lambda: "", limit=timeout, stdin=json.dumps(event).encode(), sink=sink,
            )
        if reason == "timeout":
            sink([f"{request_id} Task timed out after {timeout:.2f} seconds"])
        sink([f"END RequestId: {request_id}"])
        return lines[-1] if lines and code == 0 else json.dumps({"errorMessage": reason})

    # -- EC2 ----------------------------------------------------------------------------
    def watch_ec2(self, backend: Any) -> None:
        """Instances 'boot' on this host: their public IP is 127.0.0.1 (the test's sshd)."""
        states: dict[str, str] = {}
        while True:
            for instance in list(backend.all_instances()):
                state = instance.state
                if instance.id not in states:
                    instance.nics[0].public_ip = "127.0.0.1"
                    self.record(event="instance", service="ec2", id=instance.id, state=state)
                elif states[instance.id] != state:
                    self.record(event="instance", service="ec2", id=instance.id, state=state)
                states[instance.id] = state
            time.sleep(0.05)

    # -- Braket hybrid jobs (emulated API) -----------------------------------------------
    def braket_create(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["jobName"]
        arn = f"arn:aws:braket:{REGION}:{ACCOUNT}:job/{name}"
        if arn in self.braket_jobs:
            raise ValueError(f"ConflictException: a job named {name} exists")
        job = {**request, "jobArn": arn, "status": "QUEUED", "createdAt": _now()}
        job.pop("clientToken", None)
        self.braket_jobs[arn] = job
        threading.Thread(target=self.run_braket_job, args=(job,), daemon=True).start()
        return {"jobArn": arn}

    def run_braket_job(self, job: dict[str, Any]) -> None:
        with self.slots:
            if job["status"] == "CANCELLING":
                job.update(status="CANCELLED", endedAt=_now())
                return
            job.update(status="RUNNING", startedAt=_now())
            job_dir = self.workdir / "braket" / job["jobName"]
            job_dir.mkdir(parents=True, exist_ok=True)
            hp_file = job_dir / "hyperparameters.json"
            hp_file.write_text(json.dumps(job.get("hyperParameters", {})))
            env = self.environment({
                "AMZN_BRAKET_JOB_NAME": job["jobName"],
                "AMZN_BRAKET_DEVICE_ARN": job["deviceConfig"]["device"],
                "AMZN_BRAKET_HP_FILE": str(hp_file),
                "AMZN_BRAKET_JOB_RESULTS_DIR": str(job_dir / "results"),
                "AMZN_BRAKET_CHECKPOINT_DIR": str(job_dir / "checkpoints"),
                "AMZN_BRAKET_OUT_S3_BUCKET": job["outputDataConfig"]["s3Path"].split("/")[2],
            })
            limit = job.get("stoppingCondition", {}).get("maxRuntimeInSeconds")
            sink = self.log_sink(backend_logs(), "/aws/braket/jobs",
                                 f"{job['jobName']}/algo-1-{int(time.time())}")
            # Braket's container runner imports the entry point "module:function" and calls it.
            entry = job["algorithmSpecification"].get("scriptModeConfig", {}).get("entryPoint")
            module, _, function = (entry or "").partition(":")
            argv = (["python", "-c", f"from {module} import {function}; {function}()"]
                    if function else IMAGE_ENTRYPOINT)
            code, reason, _ = self.run_process(
                "braket", job["jobName"], argv, env,
                lambda: "cancelled" if job["status"] == "CANCELLING" else "",
                limit=float(limit) if limit else None, sink=sink,
            )
        if reason == "cancelled":
            job.update(status="CANCELLED", endedAt=_now())
        elif reason == "timeout":
            job.update(status="FAILED", endedAt=_now(),
                       failureReason="The job exceeded its maxRuntimeInSeconds")
        elif code != 0:
            job.update(status="FAILED", endedAt=_now(),
                       failureReason=f"AlgorithmError: the container exited with code {code}")
        else:
            job.update(status="COMPLETED", endedAt=_now())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def backend_logs() -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[ACCOUNT][REGION]


class BraketAPI:
    """WSGI middleware that answers Braket's job API (requests signed for "braket").

    Everything else goes to moto's app.
    """

    def __init__(self, app: Any, agent: Agent) -> None:
        self.app = app
        self.agent = agent

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if "/braket/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
            return self.app(environ, start_response)
        from urllib.parse import unquote

        method, path = environ["REQUEST_METHOD"], unquote(environ.get("PATH_INFO", ""))
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
        jobs = self.agent.braket_jobs
        status, answer = "200 OK", {}
        try:
            if method == "POST" and path == "/job":
                status, answer = "201 Created", self.agent.braket_create(body)
            elif method == "GET" and path.startswith("/job/"):
                answer = dict(jobs[path[len("/job/"):]])
            elif method == "PUT" and path.startswith("/job/") and path.endswith("/cancel"):
                job = jobs[path[len("/job/"):-len("/cancel")]]
                if job["status"] in ("QUEUED", "RUNNING"):
                    job["status"] = "CANCELLING"
                answer = {"jobArn": job["jobArn"], "cancellationStatus": "CANCELLING"}
            else:
                status, answer = "404 Not Found", {"message": f"no route {method} {path}"}
        except KeyError as exc:
            status, answer = "404 Not Found", {"message": f"job {exc} not found"}
            start_response(status, [("Content-Type", "application/json"),
                                    ("x-amzn-ErrorType", "ResourceNotFoundException")])
            return [json.dumps(answer).encode()]
        except ValueError as exc:
            status, answer = "409 Conflict", {"message": str(exc)}
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(answer).encode()]


def _patch_moto_network_interface() -> None:
    """moto 5.2 describes awsvpc ECS tasks with an ENI attribute it never defines."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    if not hasattr(NetworkInterface, "private_dns_name"):
        NetworkInterface.private_dns_name = property(  # type: ignore[attr-defined]
            lambda eni: f"ip-{eni.private_ip_address.replace('.', '-')}.ec2.internal")


def serve(port: int, workdir: Path, slots: int) -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.batch.models import Job
    from moto.ec2.models import ec2_backends
    from moto.ecs.models import ecs_backends
    from moto.moto_api import state_manager
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    agent = Agent(workdir, port, slots)
    _patch_moto_network_interface()
    # Statuses change only when the agent says so, not on every describe call.
    for model in ("batch::job", "ecs::task"):
        state_manager.set_transition(model, {"progression": "manual", "times": 10**9})
    Job.run = lambda job: agent.run_batch_job(job)  # type: ignore[method-assign]
    LambdaFunction.invoke = (  # type: ignore[method-assign]
        lambda fn, body, request_headers, response_headers: agent.invoke_lambda(
            fn, body, request_headers, response_headers))
    threading.Thread(target=agent.watch_ecs, args=(ecs_backends[ACCOUNT][REGION],),
                     daemon=True).start()
    threading.Thread(target=agent.watch_ec2, args=(ec2_backends[ACCOUNT][REGION],),
                     daemon=True).start()
    app = BraketAPI(DomainDispatcherApplication(create_backend_app), agent)
    server = make_server("127.0.0.1", port, app, threaded=True,
                         request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


class _LambdaContext:
    def __init__(self) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.aws_request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "")
        self._deadline = time.monotonic() + float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", 3))

    def get_remaining_time_in_millis(self) -> int:
        return int(max(self._deadline - time.monotonic(), 0) * 1000)


def lambda_runtime(handler: str) -> None:
    """What the Lambda runtime interface client does: import the handler, call it once."""
    import importlib

    module, _, name = handler.rpartition(".")
    event = json.loads(sys.stdin.read() or "{}")
    result = getattr(importlib.import_module(module), name)(event, _LambdaContext())
    print(json.dumps(result), flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m covalent_testing.aws")
    sub = parser.add_subparsers(dest="command", required=True)
    srv = sub.add_parser("serve")
    srv.add_argument("--port", type=int, required=True)
    srv.add_argument("--workdir", type=Path, required=True)
    srv.add_argument("--slots", type=int, default=4)
    rt = sub.add_parser("lambda-runtime")
    rt.add_argument("handler")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port, args.workdir, args.slots)
    else:
        lambda_runtime(args.handler)


if __name__ == "__main__":
    main()
