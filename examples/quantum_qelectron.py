"""A QElectron inside an electron: Covalent's IQPEmbedding example on a cyclic cluster.

    python examples/quantum_qelectron.py

Runs on this machine only: a PennyLane simulator, Qiskit's local sampler, and Qiskit
Runtime's local testing mode on the fake backend FakeManilaV2 (needs the [qiskit] extra).
"""

from __future__ import annotations

import pennylane as qml
from covalent_quantum import QiskitExecutor, Simulator, qelectron

import covalent_core as ct

local = Simulator()
sampler = QiskitExecutor()  # Qiskit's statevector sampler
fake_manila = QiskitExecutor(device="sampler", channel="local", backend="fake_manila")


@qelectron(executors=[local, sampler, fake_manila])
@qml.qnode(qml.device("default.qubit", wires=2), shots=1024)
def circuit(x):
    """IQP embedding of two features, then a Hadamard on wire 1."""
    qml.IQPEmbedding(features=x, wires=[0, 1])
    qml.Hadamard(wires=1)
    return qml.probs(wires=range(2))


@ct.electron
def sweep(points):
    # run_later queues every call at once; the cluster cycles local -> sampler -> manila.
    futures = [circuit.run_later(x) for x in points]
    return [future.result().tolist() for future in futures]


@ct.lattice
def workflow(points):
    return sweep(points)


if __name__ == "__main__":
    result = ct.dispatch_sync(workflow)([[0.6, -1.57], [0.5, 0.1], [0.2, 0.3]])
    print(result.status)
    for probs in result.result:
        print([round(p, 3) for p in probs])
