"""``BraketQubitExecutor`` (Amazon Braket devices) and ``LocalBraketQubitExecutor``.

Both run each circuit through the Amazon Braket PennyLane plugin's qubit device in
up to ``max_jobs`` threads: ``braket.aws.qubit`` creates a Braket quantum task per
circuit and polls it; ``braket.local.qubit`` runs Braket's local simulator. AWS
credentials come from the usual boto3 chain on the host that runs the circuits (or an
``aws_session`` given in code, which is never pickled or described).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

import pennylane as qml
from braket.aws import AwsQuantumTask, AwsQuantumTaskBatch
from pydantic import Field

from covalent_quantum import guard, pools
from covalent_quantum.errors import QExecutorConfigError
from covalent_quantum.executors.base import BaseQExecutor, QCResult, QNodeInfo, with_shots


def _run_on(device_name: str, tape: Any, info: QNodeInfo, **device_options: Any) -> QCResult:
    """Under the PennyLane lock (see covalent_quantum.guard): the plugin's execute both
    translates and waits, so tasks of one process reach Braket one at a time."""
    started = time.perf_counter()
    with guard.holding():
        return _execute_on(device_name, tape, info, started, **device_options)


def _execute_on(device_name: str, tape: Any, info: QNodeInfo, started: float,
                **device_options: Any) -> QCResult:
    with warnings.catch_warnings():
        # The plugin still takes shots at construction (PennyLane deprecated that); the
        # tape's shots are the ones that count.
        warnings.filterwarnings("ignore", message="Setting shots on device is deprecated")
        device = qml.device(device_name, wires=list(info.wires or tape.wires),
                            shots=tape.shots.total_shots, **device_options)
    # One circuit per Braket task, as Covalent sent them. The plugin would otherwise wrap
    # a circuit with shots in a program set on devices that offer them (SV1 does), and
    # amazon-braket-pennylane-plugin 1.36 fails building program sets for measurements
    # without an observable, such as qml.probs (CircuitBinding.__len__ on None).
    if getattr(device, "_max_program_set_executables", None) is not None:
        device._max_program_set_executables = None
    (result,) = qml.execute([tape], device, diff_method=None)
    task = getattr(device, "task", None)
    metadata = {"device_name": device_name}
    if task is not None and hasattr(task, "id"):
        metadata["task_id"] = task.id
    return QCResult([result], time.perf_counter() - started, metadata)


class BraketQubitExecutor(BaseQExecutor):
    """Run circuits on an Amazon Braket device (simulator or QPU) as Braket tasks.

    Args:
        device_arn: the device, e.g. ``arn:aws:braket:::device/quantum-simulator/amazon/sv1``.
        s3_destination_folder: ``(bucket, prefix)`` for results; default the session's bucket.
        shots: ``0`` keeps the QNode's shots, ``None`` asks for analytic results.
        max_jobs: circuits in flight at once (threads).
        parallel, max_parallel, max_connections, max_retries: the plugin's batching of
            several circuits into one ``AwsQuantumTaskBatch``.
        poll_timeout_seconds, poll_interval_seconds: how tasks are waited for.
        run_kwargs: extra keyword arguments for the plugin device (``device.run``).
        aws_session: a ``braket.aws.AwsSession`` to use instead of the default chain.
    """

    SECRET_FIELDS = frozenset({"aws_session"})

    device_arn: str = ""
    s3_destination_folder: tuple[str, str] | tuple[()] = ()
    shots: int | None = Field(default=0, ge=0)
    max_jobs: int = Field(default=20, ge=1)
    parallel: bool = False
    max_parallel: int | None = None
    max_connections: int = AwsQuantumTaskBatch.MAX_CONNECTIONS_DEFAULT
    max_retries: int = AwsQuantumTaskBatch.MAX_RETRIES
    poll_timeout_seconds: float = AwsQuantumTask.DEFAULT_RESULTS_POLL_TIMEOUT
    poll_interval_seconds: float = AwsQuantumTask.DEFAULT_RESULTS_POLL_INTERVAL
    run_kwargs: dict[str, Any] = Field(default_factory=dict)
    aws_session: Any = Field(default=None, repr=False)

    @property
    def backend_name(self) -> str:
        return self.device_arn

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        if not self.device_arn:
            raise QExecutorConfigError(
                "BraketQubitExecutor.device_arn is empty: name a Braket device such as "
                "'arn:aws:braket:::device/quantum-simulator/amazon/sv1', in code or under "
                "[qelectron.BraketQubitExecutor] in the config"
            )
        options = {
            "device_arn": self.device_arn,
            "s3_destination_folder": tuple(self.s3_destination_folder) or None,
            "poll_timeout_seconds": self.poll_timeout_seconds,
            "poll_interval_seconds": self.poll_interval_seconds,
            "aws_session": self.aws_session,
            "parallel": self.parallel,
            "max_parallel": self.max_parallel,
            "max_connections": self.max_connections,
            "max_retries": self.max_retries,
            **self.run_kwargs,
        }
        pool = pools.thread_pool(self.max_jobs)
        return [pool.submit(_run_on, "braket.aws.qubit", tape, info, **options)
                for tape in with_shots(qscripts_list, self.shots)]


class LocalBraketQubitExecutor(BaseQExecutor):
    """Run circuits on Braket's local simulator (``backend``: ``"default"``, ``"braket_dm"``...).

    Args:
        backend: the local simulator backend name.
        shots: ``0`` keeps the QNode's shots, ``None`` is analytic.
        max_jobs: circuits in flight at once (threads).
        run_kwargs: extra keyword arguments for the plugin device.
    """

    backend: str = "default"
    shots: int | None = Field(default=0, ge=0)
    max_jobs: int = Field(default=20, ge=1)
    run_kwargs: dict[str, Any] = Field(default_factory=dict)

    @property
    def backend_name(self) -> str:
        return self.backend

    def batch_submit(self, qscripts_list: Sequence[Any], info: QNodeInfo) -> list[Future[QCResult]]:
        pool = pools.thread_pool(self.max_jobs)
        return [pool.submit(_run_on, "braket.local.qubit", tape, info, backend=self.backend,
                            **self.run_kwargs)
                for tape in with_shots(qscripts_list, self.shots)]
