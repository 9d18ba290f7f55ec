"""QiskitExecutor and IBMQExecutor: Qiskit's local sampler, and Qiskit Runtime in its
local testing mode on the fake backend FakeManilaV2 (noisy: tolerances allow for it)."""

from __future__ import annotations

import numpy as np
import pytest
from circuits import BELL, IQP_X, bell_qnode, iqp_exact, iqp_qnode, shot_tolerance
from covalent_quantum import IBMQExecutor, QiskitExecutor, qelectron, recording
from covalent_quantum.errors import QExecutorConfigError
from covalent_quantum.executors import ibm

NOISE = 0.15  # the fake backends' readout and gate errors move probabilities by a few percent


def test_local_sampler_bell_and_documented_iqp():
    bell = qelectron(bell_qnode(), executors=QiskitExecutor(shots=4000))
    assert np.abs(bell() - BELL).max() < shot_tolerance(4000)
    iqp = qelectron(iqp_qnode(shots=1024), executors=QiskitExecutor())
    assert np.abs(iqp(IQP_X) - iqp_exact()).max() < shot_tolerance(1024)


@pytest.mark.parametrize("single_job", [False, True])
def test_runtime_sampler_in_a_session_on_a_fake_backend(single_job):
    executor = QiskitExecutor(device="sampler", channel="local", backend="fake_manila",
                              single_job=single_job, local_transpile=single_job)

    @qelectron(executors=executor)
    @qml_qnode(shots=2000)
    def circuit(x):
        import pennylane as qml

        qml.IQPEmbedding(features=x, wires=[0, 1])
        qml.Hadamard(wires=1)
        return qml.probs(wires=[0, 1]), qml.expval(qml.PauliZ(0))

    with recording() as records:
        probs, z0 = circuit(IQP_X)
    exact = iqp_exact()
    assert np.abs(probs - exact).max() < NOISE
    assert z0 == pytest.approx(exact[0] + exact[1] - exact[2] - exact[3], abs=2 * NOISE)
    metadata = records[0]["result_metadata"][0]
    assert metadata["backend"] == "fake_manila"
    # pennylane-qiskit splits the probabilities and the expectation value into two
    # circuits: one job for both, or one job each.
    assert len(metadata["job_ids"]) == (1 if single_job else 2)


def test_ibmq_executor_on_a_fake_backend_and_the_docs_cycle():
    """The documented cluster order local -> qasm -> lima -> local, all run locally."""
    local = QiskitExecutor()
    qasm = QiskitExecutor(device="sampler", channel="local", backend="fake_manila")
    lima = IBMQExecutor(channel="local", backend="fake_lima")
    circuit = qelectron(iqp_qnode(shots=1024), executors=[local, qasm, lima])
    with recording() as records:
        futures = [circuit.run_later(IQP_X) for _ in range(4)]
        results = [future.result(timeout=300) for future in futures]
    exact = iqp_exact()
    for result in results:
        assert np.abs(result - exact).max() < NOISE
    order = [r["backend"] for r in sorted(records, key=lambda r: r["submitted_at"])]
    assert order == ["statevector_sampler", "fake_manila", "fake_lima", "statevector_sampler"]


class RecordingService:
    """Stands in for QiskitRuntimeService (IBM's cloud is not reachable from tests): it
    records the account it was given and hands out qiskit-ibm-runtime's local-testing
    service, so backend lookup, session and SamplerV2 job are the real library code."""

    calls: list[dict] = []

    def __new__(cls, **kwargs):
        cls.calls.append(kwargs)
        from qiskit_ibm_runtime import QiskitRuntimeService

        return QiskitRuntimeService(channel="local")


def test_remote_account_request(monkeypatch):
    """Tested up to the request: the account IBM would be sent, then a fake backend."""
    monkeypatch.setattr(ibm, "QiskitRuntimeService", RecordingService)
    RecordingService.calls.clear()
    executor = QiskitExecutor(device="sampler", backend="fake_manila", ibmqx_token="tok-123",
                              hub="my-hub", group="my-group", project="my-project",
                              max_time=600, options={"optimization_level": 1})
    np.testing.assert_allclose(qelectron(bell_qnode(shots=1000), executors=executor)(),
                               BELL, atol=NOISE)
    assert RecordingService.calls == [{"channel": "ibm_quantum_platform", "token": "tok-123",
                                       "instance": "my-hub/my-group/my-project"}]
    cloud = QiskitExecutor(device="sampler", backend="fake_manila", ibmqx_token="tok-456",
                           channel="ibm_cloud", cloud_instance="crn:v1:my-instance",
                           ibmqx_url="https://example.invalid")
    qelectron(bell_qnode(shots=100), executors=cloud)()
    assert RecordingService.calls[-1] == {"channel": "ibm_cloud", "token": "tok-456",
                                          "instance": "crn:v1:my-instance",
                                          "url": "https://example.invalid"}


def test_account_and_backend_errors_name_the_fix():
    with pytest.raises(QExecutorConfigError, match=r"QiskitExecutor.ibmqx_token is empty"):
        qelectron(bell_qnode(shots=10), executors=QiskitExecutor(device="sampler"))()
    with pytest.raises(QExecutorConfigError, match=r"retired the 'ibm_quantum' channel"):
        qelectron(bell_qnode(shots=10),
                  executors=IBMQExecutor(channel="ibm_quantum", ibmqx_token="x"))()
    with pytest.raises(QExecutorConfigError, match=r"'ibmq_qasm_simulator' is not available.*"
                                                   "fake_manila"):
        qelectron(bell_qnode(shots=10), executors=IBMQExecutor(channel="local"))()
    with pytest.raises(QExecutorConfigError, match=r"QiskitExecutor.options.*local_sampler"):
        qelectron(bell_qnode(shots=10),
                  executors=QiskitExecutor(options={"twirling": {}}))()
    with pytest.raises(QExecutorConfigError, match=r"samples circuits"):
        qelectron(bell_qnode(shots=None), executors=QiskitExecutor(shots=None))()


def qml_qnode(shots):
    import pennylane as qml

    def wrap(func):
        return qml.set_shots(qml.QNode(func, qml.device("default.qubit", wires=2)), shots=shots)

    return wrap
