"""Throughput of QElectron circuit evaluations on the Simulator executor.

N evaluations (default 200) of one parametrised circuit, each submitted with
``run_later`` and then collected, through:

  plain QNode         PennyLane alone, called in a loop (baseline, no QElectron)
  serial              Simulator(parallel=False)
  threads             Simulator(parallel="thread", workers=W)
  processes           Simulator(parallel="process", workers=W)  (pool started beforehand)
  cyclic cluster      [threads, processes] with the "cyclic" selector

Prints circuits per second and the ratio to the plain-QNode baseline measured in the
same run. Results are checked against the baseline's values.

    python bench/quantum.py [--circuits 200] [--qubits 10] [--layers 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pennylane as qml
from covalent_quantum import Simulator, qelectron


def make_qnode(qubits: int, layers: int) -> qml.QNode:
    device = qml.device("default.qubit", wires=qubits)

    def circuit(weights):
        qml.StronglyEntanglingLayers(weights, wires=range(qubits))
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(qubits - 1))

    return qml.QNode(circuit, device)


def timed(label: str, run, inputs, reference=None) -> tuple[float, list]:
    started = time.perf_counter()
    values = run(inputs)
    elapsed = time.perf_counter() - started
    if reference is not None:
        np.testing.assert_allclose(values, reference, atol=1e-9, err_msg=label)
    return elapsed, values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=200)
    parser.add_argument("--qubits", type=int, default=10)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    qnode = make_qnode(args.qubits, args.layers)
    shape = qml.StronglyEntanglingLayers.shape(n_layers=args.layers, n_wires=args.qubits)
    rng = np.random.default_rng(7)
    inputs = [rng.uniform(0, 2 * np.pi, shape) for _ in range(args.circuits)]

    threads = Simulator(parallel="thread", workers=args.workers)
    processes = Simulator(parallel="process", workers=args.workers)
    variants = {
        "serial": qelectron(qnode, executors=Simulator(parallel=False)),
        f"threads (W={args.workers})": qelectron(qnode, executors=threads),
        f"processes (W={args.workers})": qelectron(qnode, executors=processes),
        "cyclic cluster [threads, processes]": qelectron(qnode, executors=[threads, processes]),
    }
    # Start the worker processes (and warm every path) before anything is timed.
    warmup = time.perf_counter()
    for circuit in variants.values():
        for future in [circuit.run_later(inputs[0]) for _ in range(2 * args.workers)]:
            future.result()
    print(f"warm-up (pools started): {time.perf_counter() - warmup:.2f}s")

    baseline, reference = timed("plain QNode", lambda xs: [qnode(x) for x in xs], inputs)
    rows = [("plain QNode (baseline)", baseline)]
    for label, circuit in variants.items():
        elapsed, _ = timed(
            label, lambda xs, c=circuit: [f.result() for f in [c.run_later(x) for x in xs]],
            inputs, reference)
        rows.append((label, elapsed))

    print(f"\n{args.circuits} evaluations, {args.qubits} qubits x {args.layers} layers, "
          f"{args.workers} workers")
    print(f"{'variant':40s} {'seconds':>8s} {'circuits/s':>11s} {'vs baseline':>12s}")
    for label, elapsed in rows:
        print(f"{label:40s} {elapsed:8.2f} {args.circuits / elapsed:11.1f} "
              f"{baseline / elapsed:11.2f}x")


if __name__ == "__main__":
    main()
