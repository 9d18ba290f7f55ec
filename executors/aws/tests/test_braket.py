"""Braket hybrid jobs. moto has no Braket, so the peer emulates its job API (a mock, as
the module docstring of covalent_testing.aws says); the job's container really runs and
the task simulates its circuit on Braket's local simulator."""

from __future__ import annotations

import pytest
from aws_cases import braket

import covalent_core as ct

pytest.importorskip("braket.devices")


def test_hybrid_job_runs_a_circuit_on_the_local_simulator(infra, peer):
    ex = braket(infra, None, None, quantum_device="local:braket/default")

    @ct.electron(executor=ex)
    def bell(shots):
        import os

        from braket.circuits import Circuit
        from braket.devices import LocalSimulator

        counts = LocalSimulator().run(Circuit().h(0).cnot(0, 1), shots=shots).result()
        return os.environ["AMZN_BRAKET_DEVICE_ARN"], dict(counts.measurement_counts)

    @ct.lattice
    def workflow():
        return bell(200)

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    device, counts = result.result
    assert device == "local:braket/default"
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 200
    job = peer.client("braket").get_job(jobArn=result.get_node_result(0)["job_handle"]["job_arn"])
    assert job["status"] == "COMPLETED"
    assert job["instanceConfig"]["instanceType"] == "ml.m5.large"
