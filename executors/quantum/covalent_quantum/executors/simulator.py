"""``Simulator``: the default QElectron executor, a PennyLane simulator device.

Circuits of a batch (and of calls made with ``run_later``) run side by side on a
pool of threads or of worker processes; threads suit small circuits (little to
ship), processes suit large ones (numpy state vectors that hold the GIL).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Literal

from pydantic import Field, field_validator

from covalent_quantum import pools
from covalent_quantum.executors.base import BaseQExecutor, QCResult, QNodeInfo, done, with_shots

SIMULATOR_DEVICES = ("default.qubit", "default.mixed", "default.gaussian", "lightning.qubit")


def run_circuits(device_name: str, wires: tuple[Any, ...] | None, tapes: list[Any]) -> QCResult:
    """Run tapes on a fresh device; module-level so worker processes can import it."""
    import pennylane as qml

    from covalent_quantum import guard

    started = time.perf_counter()
    with guard.holding():
        device = qml.device(device_name, wires=list(wires) if wires else None)
        results = qml.execute(tapes, device, diff_method=None)
    elapsed = time.perf_counter() - started
    return QCResult(list(results), elapsed, {"device_name": device_name})


class Simulator(BaseQExecutor):
    """Run circuits on a local PennyLane simulator.

    Args:
        device: a PennyLane simulator; a QNode on ``default.gaussian`` keeps its device.
        parallel: ``"thread"``, ``"process"``, or ``False`` to run a batch serially.
        workers: threads or processes in the shared pool of this size.
        shots: ``0`` keeps the QNode's shots, ``None`` is analytic, a number overrides.
    """

    device: str = "default.qubit"
    parallel: Literal["thread", "process", False] = "thread"
    workers: int = Field(default=10, ge=1)
    shots: int | None = Field(default=0, ge=0)

    @field_validator("device")
    @classmethod
    def _simulator_only(cls, device: str) -> str:
        if device not in SIMULATOR_DEVICES:
            raise ValueError(
                f"Simulator.device must be one of {', '.join(SIMULATOR_DEVICES)}; for hardware "
                "or cloud simulators use QiskitExecutor, IBMQExecutor or BraketQubitExecutor"
            )
        return device

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        device = "default.gaussian" if info.device_name == "default.gaussian" else self.device
        tapes = with_shots(qscripts_list, self.shots)
        if self.parallel is False:
            return [done(run_circuits(device, info.wires, tapes))]
        pool = (pools.process_pool(self.workers) if self.parallel == "process"
                else pools.thread_pool(self.workers))
        return [pool.submit(run_circuits, device, info.wires, [tape]) for tape in tapes]
