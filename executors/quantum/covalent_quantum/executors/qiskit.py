"""``QiskitExecutor`` (Qiskit Runtime primitives in sessions) and ``IBMQExecutor``.

QiskitExecutor compiles a batch with pennylane-qiskit, transpiles it for the backend
(IBM accepts only circuits in a backend's instruction set), and samples it with a
``SamplerV2``: the local statevector sampler, or Qiskit Runtime's in a session.
Jobs wait on an asyncio loop, so many QElectron calls queue on IBM at once.

IBMQExecutor is the simpler route Covalent also offered: PennyLane's own Qiskit
device (``qiskit.remote``), one job per circuit, in up to ``max_jobs`` threads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Literal

import numpy as np
import pennylane as qml
from pydantic import Field, SecretStr

from covalent_quantum import guard, pools
from covalent_quantum.errors import QExecutorConfigError
from covalent_quantum.executors import ibm
from covalent_quantum.executors.base import BaseQExecutor, QCResult, QNodeInfo, with_shots


def _on_indices(tapes: Sequence[Any], info: QNodeInfo) -> tuple[list[Any], int]:
    """Tapes on wires 0..n-1 in the QNode device's order: Qiskit registers are indexed,
    and pennylane-qiskit reads wire labels as qubit indices."""
    wires = qml.wires.Wires(info.wires) if info.wires else qml.wires.Wires.all_wires(
        [tape.wires for tape in tapes])
    to_index = {wire: i for i, wire in enumerate(wires)}
    return [qml.map_wires(tape, to_index)[0][0] for tape in tapes], len(wires)


class _IBMAccountFields(BaseQExecutor):
    """The IBM Quantum account options both IBM executors share (Covalent's defaults)."""

    SECRET_FIELDS = frozenset({"ibmqx_token"})

    backend: str = "ibmq_qasm_simulator"
    ibmqx_token: SecretStr = SecretStr("")
    hub: str = "ibm-q"
    group: str = "open"
    project: str = "main"
    channel: str = "ibm_quantum_platform"
    instance: str = ""

    def _account(self, url: str | None = None) -> ibm.Account:
        return ibm.Account(self.name, self.channel, self.ibmqx_token,
                           ibm.instance_of(self.instance, self.hub, self.group, self.project),
                           url)

    @property
    def backend_name(self) -> str:
        return self.backend


class QiskitExecutor(_IBMAccountFields):
    """Sample circuits with Qiskit primitives, locally or on IBM Quantum in a session.

    Args:
        device: ``"local_sampler"`` (Qiskit's statevector sampler, on this machine) or
            ``"sampler"`` (Qiskit Runtime's SamplerV2 on ``backend``, in a session).
        backend: the IBM backend; with ``channel="local"`` a fake one (``"fake_manila"``).
        ibmqx_token, channel, instance, cloud_instance, hub, group, project, ibmqx_url:
            the IBM account (``hub/group/project`` form an instance when not the open plan).
        shots: used when the QNode sets none.
        single_job: all circuits of a call in one job instead of one job each.
        local_transpile: transpile with Qiskit's optimizing passes at
            ``options["optimization_level"]``; otherwise only translate to the backend.
        max_time: the session's time limit (seconds or a string such as ``"1h"``).
        options: ``optimization_level`` plus any SamplerV2 option (``twirling``, ...).
    """

    device: Literal["local_sampler", "sampler"] = "local_sampler"
    shots: int | None = Field(default=1024, ge=1)
    single_job: bool = False
    local_transpile: bool = False
    max_time: int | str | None = None
    ibmqx_url: str | None = None
    cloud_instance: str = ""
    options: dict[str, Any] = Field(default_factory=lambda: {"optimization_level": 3})

    @property
    def backend_name(self) -> str:
        return self.backend if self.device == "sampler" else "statevector_sampler"

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        tapes = [tape if tape.shots else tape.copy(shots=self.shots) for tape in qscripts_list]
        if any(not tape.shots for tape in tapes):
            raise QExecutorConfigError(
                "QiskitExecutor samples circuits: set QiskitExecutor.shots or give the QNode shots"
            )
        return [pools.run_async(self._run(tapes, info))]

    def _account(self, url: str | None = None) -> ibm.Account:
        account = super()._account(self.ibmqx_url)
        if self.channel == "ibm_cloud" and self.cloud_instance:
            return ibm.Account(account.owner, account.channel, account.token,
                               self.cloud_instance, account.url)
        return account

    def _sampler(self) -> tuple[Any, Any]:
        """The SamplerV2 and the backend its circuits must be transpiled for."""
        sampler_options = {k: v for k, v in self.options.items() if k != "optimization_level"}
        if self.device == "local_sampler":
            from qiskit.primitives import StatevectorSampler
            from qiskit_aer import AerSimulator

            if sampler_options:
                raise QExecutorConfigError(
                    f"QiskitExecutor.options {sorted(sampler_options)} apply to Qiskit Runtime; "
                    "device='local_sampler' takes only optimization_level"
                )
            return StatevectorSampler(), AerSimulator()
        from qiskit_ibm_runtime import SamplerV2

        session, target = ibm.session(self._account(), self.backend, self.max_time)
        sampler = SamplerV2(mode=session)
        try:
            sampler.options.update(**sampler_options)
        except (AttributeError, TypeError, ValueError) as exc:
            raise QExecutorConfigError(
                f"QiskitExecutor.options: {exc}; accepted are optimization_level and the "
                "fields of qiskit_ibm_runtime.options.SamplerOptions"
            ) from None
        return sampler, target

    def _compile(self, tapes: list[Any], info: QNodeInfo, target: Any) -> tuple[Any, ...]:
        with guard.holding():
            return self._compile_held(tapes, info, target)

    def _compile_held(self, tapes: list[Any], info: QNodeInfo, target: Any) -> tuple[Any, ...]:
        from pennylane_qiskit.converter import circuit_to_qiskit
        from pennylane_qiskit.qiskit_device import QiskitDevice
        from qiskit.transpiler import generate_preset_pass_manager

        mapped, width = _on_indices(tapes, info)
        program = QiskitDevice(wires=range(width), backend=target).preprocess_transforms()
        batch, postprocess = program(mapped)
        circuits = [circuit_to_qiskit(tape, width, diagonalize=True, measure=True)
                    for tape in batch]
        level = self.options.get("optimization_level", 3) if self.local_transpile else 0
        if self.device == "sampler":
            circuits = generate_preset_pass_manager(
                optimization_level=level, backend=target).run(circuits)
        return batch, postprocess, circuits, width

    async def _run(self, tapes: list[Any], info: QNodeInfo) -> QCResult:
        started = time.perf_counter()
        sampler, target = await asyncio.to_thread(self._sampler)
        batch, postprocess, circuits, width = await asyncio.to_thread(
            self._compile, tapes, info, target)
        pubs = [(circuit, None, tape.shots.total_shots)
                for circuit, tape in zip(circuits, batch, strict=True)]
        groups = [pubs] if self.single_job else [[pub] for pub in pubs]
        jobs = await asyncio.gather(*(asyncio.to_thread(sampler.run, g) for g in groups))
        outputs = await asyncio.gather(*(asyncio.to_thread(job.result) for job in jobs))
        pub_results = [item for output in outputs for item in output]
        results = await asyncio.to_thread(
            _measure, batch, circuits, pub_results, postprocess, width)
        return QCResult(
            results, time.perf_counter() - started,
            {"device_name": self.device, "backend": self.backend_name,
             "job_ids": [job.job_id() for job in jobs]},
        )


def _measure(batch: list[Any], circuits: list[Any], pub_results: list[Any], postprocess: Any,
             width: int) -> list[Any]:
    """Sampler bit strings -> each measurement's value -> the QNode's circuits' results."""
    with guard.holding():
        results = []
        for tape, circuit, pub_result in zip(batch, circuits, pub_results, strict=True):
            bits = getattr(pub_result.data, circuit.cregs[0].name)
            samples = bits.to_bool_array(order="little")[:, :width].astype(np.int64)
            # A tuple per circuit, even of one: the shape pennylane-qiskit's own
            # post-processing (split_execution_types) expects.
            results.append(tuple(
                mp.process_samples(samples, wire_order=qml.wires.Wires(range(width)))
                for mp in tape.measurements))
        return list(postprocess(results))


class IBMQExecutor(_IBMAccountFields):
    """Run circuits on IBM Quantum through PennyLane's ``qiskit.remote`` device.

    Args:
        backend: the IBM backend (``channel="local"``: a fake one such as ``"fake_manila"``).
        ibmqx_token, hub, group, project, channel, instance: the IBM account.
        shots: ``0`` keeps the QNode's shots, a number overrides them.
        max_jobs: circuits in flight at once (threads).
    """

    shots: int | None = Field(default=0, ge=0)
    max_jobs: int = Field(default=20, ge=1)

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        pool = pools.thread_pool(self.max_jobs)
        return [pool.submit(self._run_one, tape, info)
                for tape in with_shots(qscripts_list, self.shots)]

    def _run_one(self, tape: Any, info: QNodeInfo) -> QCResult:
        """Under the PennyLane lock (see covalent_quantum.guard): the device's execute both
        converts and waits, so this process's jobs reach IBM one at a time."""
        target = ibm.backend(self._account(), self.backend)
        started = time.perf_counter()
        with guard.holding():
            [mapped], width = _on_indices([tape], info)
            device = qml.device("qiskit.remote", wires=range(width), backend=target)
            (result,) = qml.execute([mapped], device, diff_method=None)
        return QCResult([result], time.perf_counter() - started,
                        {"device_name": "qiskit.remote", "backend": self.backend})
