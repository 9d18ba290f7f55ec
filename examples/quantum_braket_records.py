"""QElectron records: what each call ran, where, and how long it took.

    python examples/quantum_braket_records.py

Uses Braket's local simulator (the [braket] extra) next to PennyLane's, alternating
between them, and prints the record each call left.
"""

from __future__ import annotations

import json

import pennylane as qml
from covalent_quantum import LocalBraketQubitExecutor, Simulator, qelectron, recording


@qelectron(executors=[Simulator(parallel=False), LocalBraketQubitExecutor()], name="bell")
@qml.qnode(qml.device("default.qubit", wires=2), shots=1000)
def bell():
    """A Bell pair."""
    qml.Hadamard(wires=0)
    qml.CNOT(wires=[0, 1])
    return qml.probs(wires=[0, 1])


if __name__ == "__main__":
    with recording() as records:
        for _ in range(2):
            print(bell())
    for record in records:
        summary = {k: record[k] for k in ("qelectron", "backend", "duration")}
        summary["executor"] = record["qexecutor"]["name"]
        summary["result"] = record["circuits"][0]["result"]
        print(json.dumps(summary))
    print(records[0]["circuits"][0]["diagram"])
