"""Circuits with known answers, shared by the tests."""

from __future__ import annotations

import numpy as np
import pennylane as qml

BELL = np.array([0.5, 0.0, 0.0, 0.5])
IQP_X = [0.6, -1.57]


def bell_qnode(shots: int | None = None, wires=(0, 1)) -> qml.QNode:
    device = qml.device("default.qubit", wires=list(wires))

    def bell():
        """A Bell pair: half |00>, half |11>."""
        qml.Hadamard(wires=wires[0])
        qml.CNOT(wires=list(wires))
        return qml.probs(wires=list(wires))

    return qml.set_shots(qml.QNode(bell, device), shots=shots)


def iqp_qnode(shots: int | None = 1024) -> qml.QNode:
    """Covalent's documentation example (IQPEmbedding, then H on wire 1)."""
    device = qml.device("default.qubit", wires=2)

    def circuit(x):
        qml.IQPEmbedding(features=x, wires=[0, 1])
        qml.Hadamard(wires=1)
        return qml.probs(wires=range(2))

    return qml.set_shots(qml.QNode(circuit, device), shots=shots)


def iqp_exact(x=IQP_X) -> np.ndarray:
    return np.asarray(iqp_qnode(shots=None)(x))


def shot_tolerance(shots: int, sigmas: float = 5.0) -> float:
    """Five standard deviations of a probability estimated from ``shots`` samples."""
    return sigmas * 0.5 / np.sqrt(shots)
