"""The PennyLane device a QElectron puts in place of its QNode's own device.

PennyLane does everything up to execution as usual (tracing the circuit, batch
transforms, gradients, interfaces); only ``execute`` is redirected to the QElectron,
which hands the circuits to the executor its selector picks. Compiling for a
particular backend is left to that executor's own device.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pennylane as qml
from pennylane.tape import QuantumScript


class QElectronDevice(qml.devices.Device):
    name = "covalent.qelectron"

    def __init__(self, run: Callable[[list[QuantumScript]], list[Any]], wires: Any) -> None:
        super().__init__(wires=wires)
        self._run = run

    def execute(
        self, circuits: QuantumScript | Sequence[QuantumScript], execution_config: Any = None
    ) -> Any:
        if isinstance(circuits, QuantumScript):
            return self._run([circuits])[0]
        return tuple(self._run(list(circuits)))
