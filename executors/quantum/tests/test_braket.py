"""Braket executors: the local simulator for real, and the AWS path through the SDK up
to the CreateQuantumTask request, answered by a stubbed Braket service."""

from __future__ import annotations

import json

import numpy as np
import pytest
from braket_service import SV1, EmulatedSession, FakeBraketClient
from circuits import BELL, IQP_X, bell_qnode, iqp_exact, iqp_qnode, shot_tolerance
from covalent_quantum import BraketQubitExecutor, LocalBraketQubitExecutor, qelectron, recording
from covalent_quantum.errors import QExecutorConfigError


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    """Any client the SDK builds behind our back talks to a closed loopback port."""
    monkeypatch.setenv("BRAKET_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_local_braket_simulator_analytic_and_sampled():
    exact = qelectron(bell_qnode(), executors=LocalBraketQubitExecutor())
    np.testing.assert_allclose(exact(), BELL, atol=1e-9)
    iqp = qelectron(iqp_qnode(shots=2000), executors=LocalBraketQubitExecutor(max_jobs=2))
    assert np.abs(iqp(IQP_X) - iqp_exact()).max() < shot_tolerance(2000)


def test_braket_task_request_and_result():
    """Stubbed Braket service (no AWS emulator covers Braket): the request is the SDK's."""
    client = FakeBraketClient()
    executor = BraketQubitExecutor(
        device_arn=SV1, aws_session=EmulatedSession(client),
        s3_destination_folder=("my-bucket", "runs"), poll_interval_seconds=0.01,
    )
    circuit = qelectron(bell_qnode(shots=1000), executors=executor)
    with recording() as records:
        result = circuit()
    assert np.abs(result - BELL).max() < shot_tolerance(1000)
    (request,) = client.requests
    assert (request["deviceArn"], request["shots"]) == (SV1, 1000)
    assert (request["outputS3Bucket"], request["outputS3KeyPrefix"]) == ("my-bucket", "runs")
    program = json.loads(request["action"])["source"]
    assert "h q[0];" in program and "cnot q[0], q[1];" in program
    assert "#pragma braket result probability" in program
    assert records[0]["result_metadata"][0]["task_id"].startswith("arn:aws:braket:us-east-1")
    assert "aws_session" not in records[0]["qexecutor"]


def test_braket_errors_name_the_fix():
    with pytest.raises(QExecutorConfigError, match="device_arn is empty"):
        qelectron(bell_qnode(shots=10), executors=BraketQubitExecutor())()
