"""A stand-in for the Amazon Braket service, for tests of ``BraketQubitExecutor``.

Neither AWS nor moto emulates Braket, so this stubs the service at the boto3 client
an ``AwsSession`` talks to: it records every CreateQuantumTask request exactly as the
SDK sends it, runs the task's OpenQASM program on Braket's local state-vector
simulator, and serves the result the way S3 would. Everything above the client (the
PennyLane plugin, AwsDevice, AwsQuantumTask, result parsing) is the real SDK; the
session only keeps the fake client (the plugin would swap in a real one to add its
user agent) and reads task results from it instead of S3.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace
from typing import Any

import numpy as np
from braket.aws import AwsSession
from braket.default_simulator import StateVectorSimulator
from braket.ir.openqasm import Program
from braket.tasks import GateModelQuantumTaskResult

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"


class FakeBraketClient:
    def __init__(self, region: str = "us-east-1") -> None:
        from botocore.hooks import HierarchicalEmitter

        # What AwsSession reads from a boto3 client besides the operations.
        self.meta = SimpleNamespace(region_name=region, events=HierarchicalEmitter())
        self._client_config = None
        self.requests: list[dict[str, Any]] = []
        self.user_agents: list[str] = []
        self.results: dict[str, str] = {}
        self._tasks: dict[str, dict[str, Any]] = {}
        self._simulator = StateVectorSimulator()

    def get_device(self, deviceArn: str) -> dict[str, Any]:
        if deviceArn != SV1:
            raise _not_found(deviceArn)
        return {
            "deviceArn": SV1, "deviceName": "SV1", "providerName": "Amazon Braket",
            "deviceType": "SIMULATOR", "deviceStatus": "ONLINE",
            "deviceCapabilities": self._simulator.properties.json(),
        }

    def create_quantum_task(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        arn = f"arn:aws:braket:us-east-1:000000000000:quantum-task/{uuid.uuid4()}"
        program = Program.parse_raw(request["action"])
        result = self._simulator.run(program, shots=request["shots"])
        result.taskMetadata.id = arn
        if request["shots"] and result.resultTypes:
            # The local simulator lists the requested result types; the service sends
            # them with their values (type + value), computed from the measurements.
            result.resultTypes = GateModelQuantumTaskResult._calculate_result_types(
                json.dumps({"results": [rt.dict() for rt in result.resultTypes]}),
                np.asarray(result.measurements, dtype=int), result.measuredQubits)
            for value in result.resultTypes:
                value.value = np.asarray(value.value).tolist()
        directory = f"{request['outputS3KeyPrefix']}/{arn.rsplit('/', 1)[1]}"
        self.results[f"{request['outputS3Bucket']}/{directory}/results.json"] = result.json()
        self._tasks[arn] = {
            "quantumTaskArn": arn, "status": "COMPLETED", "deviceArn": request["deviceArn"],
            "shots": request["shots"], "outputS3Bucket": request["outputS3Bucket"],
            "outputS3Directory": directory, "createdAt": "2025-01-01T00:00:00Z",
        }
        return {"quantumTaskArn": arn}

    def get_quantum_task(self, quantumTaskArn: str, **_: Any) -> dict[str, Any]:
        return dict(self._tasks[quantumTaskArn])

    def cancel_quantum_task(self, quantumTaskArn: str, **_: Any) -> dict[str, Any]:
        self._tasks[quantumTaskArn]["status"] = "CANCELLED"
        return {"quantumTaskArn": quantumTaskArn, "cancellationStatus": "CANCELLED"}


class EmulatedSession(AwsSession):
    """An AwsSession on the fake client whose S3 reads come from the client's results."""

    def __init__(self, client: FakeBraketClient) -> None:
        import boto3

        boto_session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing",
            region_name=client.meta.region_name,
        )
        self.fake = client
        super().__init__(boto_session=boto_session, braket_client=client,
                         default_bucket="amazon-braket-test")

    def add_braket_user_agent(self, user_agent: str) -> None:
        """The real method builds a fresh boto3 client; keep the fake one instead."""
        self.fake.user_agents.append(user_agent)

    def retrieve_s3_object_body(self, s3_bucket: str, s3_object_key: str) -> str:
        return self.fake.results[f"{s3_bucket}/{s3_object_key}"]


def _not_found(arn: str) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": "ResourceNotFoundException",
                                  "Message": json.dumps({"deviceArn": arn})}}, "GetDevice")
