"""covalent_quantum: QElectrons for covalent_core.

``qelectron`` turns a PennyLane QNode into a QElectron whose circuits run on quantum
executors (a local simulator, Qiskit Runtime / IBM Quantum, Amazon Braket). Names
load lazily: the core's remote runner imports :mod:`covalent_quantum.records`, which
must not pull in PennyLane.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "qelectron": "covalent_quantum.qelectrons",
    "QElectron": "covalent_quantum.qelectrons",
    "QCluster": "covalent_quantum.cluster",
    "BaseQExecutor": "covalent_quantum.executors.base",
    "QCResult": "covalent_quantum.executors.base",
    "QNodeInfo": "covalent_quantum.executors.base",
    "Simulator": "covalent_quantum.executors.simulator",
    "QiskitExecutor": "covalent_quantum.executors.qiskit",
    "IBMQExecutor": "covalent_quantum.executors.qiskit",
    "BraketQubitExecutor": "covalent_quantum.executors.braket",
    "LocalBraketQubitExecutor": "covalent_quantum.executors.braket",
    "current_records": "covalent_quantum.records",
    "recording": "covalent_quantum.records",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'covalent_quantum' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
