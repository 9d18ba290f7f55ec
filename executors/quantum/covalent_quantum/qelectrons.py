"""``@qelectron``: a PennyLane QNode whose circuits run on quantum executors.

Called normally, a QElectron returns what the QNode would (same interface, same
gradients); ``run_later`` returns a future instead, so many calls can wait on
hardware queues together. Each call picks its executor when it is made (so a cyclic
cluster keeps its order however the futures finish) and leaves one record in
:mod:`covalent_quantum.records`, which the core stores with the electron's result.
"""

from __future__ import annotations

import contextvars
import functools
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextvars import ContextVar
from typing import Any

import pennylane as qml
from pennylane.tape import QuantumScript

from covalent_quantum import guard, pools, records
from covalent_quantum.cluster import QCluster, Selector
from covalent_quantum.device import QElectronDevice
from covalent_quantum.errors import QExecutionError, QExecutorConfigError
from covalent_quantum.executors.base import BaseQExecutor, QCResult, QNodeInfo
from covalent_quantum.executors.simulator import Simulator

#: Calls made with run_later that may wait on their executors at the same time.
RUN_LATER_THREADS = 64

# The executor chosen when run_later was called, and when, for the thread that finishes
# the call.
_pinned: ContextVar[tuple[BaseQExecutor, float] | None] = ContextVar(
    "covalent_quantum_pinned", default=None)


class QElectron:
    """A QNode wrapped by :func:`qelectron`; call it, or ``run_later`` it."""

    def __init__(
        self, qnode: qml.QNode, executor: BaseQExecutor, name: str, description: str | None
    ) -> None:
        device = qnode.device
        wires = tuple(device.wires) if device.wires is not None else None
        self.qnode = qnode
        self.executor = executor
        self.info = QNodeInfo(name=name, description=description,
                              device_name=getattr(device, "short_name", None) or device.name,
                              wires=wires)
        with warnings.catch_warnings():
            # PennyLane warns that the new device's shots differ from the QNode's; the
            # QNode's shots are the ones kept, which is what we want.
            warnings.filterwarnings("ignore", message="The device's shots value")
            self._proxy = qnode.update(device=QElectronDevice(self._execute, device.wires),
                                       shots=qnode.shots)
        functools.update_wrapper(self, qnode.func)

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def description(self) -> str | None:
        return self.info.description

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with guard.holding():
            return self._proxy(*args, **kwargs)

    def run_later(self, *args: Any, **kwargs: Any) -> Future[Any]:
        """Submit the call now and return a future of its result."""
        called = time.time()
        with guard.holding():
            tape = qml.workflow.construct_tape(self._proxy)(*args, **kwargs)
        pinned = (self._leaf([tape]), called)
        context = contextvars.copy_context()  # the caller's record scope goes along
        return pools.thread_pool(RUN_LATER_THREADS, "calls").submit(
            context.run, self._call_on, pinned, args, kwargs)

    def _call_on(self, pinned: tuple[BaseQExecutor, float], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
        token = _pinned.set(pinned)
        try:
            with guard.holding():
                return self._proxy(*args, **kwargs)
        finally:
            _pinned.reset(token)

    def _leaf(self, circuits: Sequence[QuantumScript]) -> BaseQExecutor:
        if isinstance(self.executor, QCluster):
            return self.executor.select(circuits)
        return self.executor

    def _execute(self, circuits: list[QuantumScript]) -> list[Any]:
        executor, submitted = _pinned.get() or (self._leaf(circuits), time.time())
        try:
            with guard.released():  # executors take it for their own PennyLane work
                futures = executor.batch_submit(circuits, self.info)
                batches = executor.batch_get_results(futures)
        except QExecutorConfigError:
            raise
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            records.add(self._record(executor, circuits, [], [], submitted, message))
            raise QExecutionError(
                f"QElectron {self.name!r} could not run {len(circuits)} circuit(s) on "
                f"{executor.name} ({executor.backend_name}): {message}"
            ) from exc
        results = [result for batch in batches for result in batch.results]
        if len(results) != len(circuits):
            raise QExecutionError(
                f"{executor.name} returned {len(results)} results for {len(circuits)} circuits; "
                "its batch_submit futures must cover every circuit once, in order"
            )
        records.add(self._record(executor, circuits, batches, results, submitted))
        return results

    def _record(
        self, executor: BaseQExecutor, circuits: list[QuantumScript], batches: list[QCResult],
        results: list[Any], submitted: float, error: str | None = None,
    ) -> dict[str, Any]:
        completed = time.time()
        keep = executor.persist_data
        return {
            "qelectron": self.name,
            "description": self.description,
            "qexecutor": executor.describe(),
            "backend": executor.backend_name,
            "submitted_at": submitted,
            "completed_at": completed,
            "duration": completed - submitted,
            "execution_time": sum(batch.execution_time for batch in batches),
            "circuits": [
                {
                    "num_wires": len(tape.wires),
                    "shots": tape.shots.total_shots,
                    "diagram": tape.draw() if keep else None,
                    "result": records.jsonable(result) if keep else None,
                }
                for tape, result in zip(circuits, results or [None] * len(circuits), strict=True)
            ],
            "result_metadata": [records.jsonable(batch.metadata) for batch in batches],
            "error": error,
        }

    def __getstate__(self) -> dict[str, Any]:
        # The proxy QNode and its device are rebuilt where the QElectron is unpickled.
        return {"qnode": self.qnode, "executor": self.executor,
                "name": self.info.name, "description": self.info.description}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["qnode"], state["executor"], state["name"], state["description"])

    def __repr__(self) -> str:
        return f"<QElectron {self.name!r} on {self.executor.name}>"


def _as_executor(executors: Any, selector: str | Selector) -> BaseQExecutor:
    if executors is None:
        return Simulator()
    if isinstance(executors, BaseQExecutor):
        return executors
    listed = list(executors) if isinstance(executors, (list, tuple)) else [executors]
    bad = [e for e in listed if not isinstance(e, BaseQExecutor)]
    if bad or not listed:
        raise TypeError(
            f"qelectron(executors=...) takes quantum executors (Simulator, QiskitExecutor, "
            f"IBMQExecutor, BraketQubitExecutor, LocalBraketQubitExecutor, QCluster), got "
            f"{bad[0]!r}" if bad else "qelectron(executors=[]) needs at least one executor"
        )
    return listed[0] if len(listed) == 1 else QCluster(executors=listed, selector=selector)


def qelectron(
    qnode: qml.QNode | None = None,
    *,
    executors: BaseQExecutor | Sequence[BaseQExecutor] | None = None,
    name: str | None = None,
    description: str | None = None,
    selector: str | Selector = "cyclic",
) -> QElectron | Callable[[qml.QNode], QElectron]:
    """Turn a QNode into a QElectron (Covalent's ``ct.qelectron``).

    Args:
        qnode: the PennyLane QNode (``@qml.qnode(device)`` goes below ``@qelectron``).
        executors: one executor, or a list that becomes a :class:`QCluster`; default a
            thread-parallel :class:`Simulator`.
        name: the name records use; default the circuit function's name.
        description: default the circuit function's docstring.
        selector: for a list of executors, ``"cyclic"`` (default), ``"random"``, or a
            callable ``(circuits, executors) -> executor``.
    """
    executor = _as_executor(executors, selector)
    if qnode is None:
        return functools.partial(_wrap, executor=executor, name=name, description=description)
    return _wrap(qnode, executor=executor, name=name, description=description)


def _wrap(qnode: Any, *, executor: BaseQExecutor, name: str | None,
          description: str | None) -> QElectron:
    if not isinstance(qnode, qml.QNode):
        raise TypeError(
            f"@qelectron wraps a PennyLane QNode, got {qnode!r}: put @qml.qnode(device) "
            "directly below @ct.qelectron"
        )
    return QElectron(qnode, executor, name or qnode.func.__name__,
                     description if description is not None else qnode.func.__doc__)
