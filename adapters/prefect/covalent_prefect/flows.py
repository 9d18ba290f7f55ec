"""Lattices as Prefect flows.

``to_flow(lattice)`` returns a Prefect ``Flow`` with the lattice's name and parameters.
Each run traces the lattice into its transport graph and walks it: every electron is a
task run submitted as soon as its inputs exist (a parent electron's future counts, so
Prefect records the dependency), the inline nodes (parameters, collections, indexing,
attributes, operators) are evaluated in the flow itself, the way covalent_core's
dispatcher does, and sublattices run as subflows.
"""

from __future__ import annotations

import functools
import json
import threading
import weakref
from typing import Any

import cloudpickle
from prefect import Flow
from prefect.futures import PrefectFuture, wait

from covalent_core.config import settings
from covalent_core.errors import (
    ExecutorConfigError,
    ExecutorNotFoundError,
    UnpicklableInputError,
)
from covalent_core.executor.spec import Resolver
from covalent_core.workflow import graph as g
from covalent_core.workflow.lattice import Lattice
from covalent_prefect import executors
from covalent_prefect.errors import LatticeFailedError
from covalent_prefect.runner import CovalentTaskRunner
from covalent_prefect.tasks import build_task

_WAIT_SLICE = 0.2
_flows: weakref.WeakKeyDictionary[Lattice, Flow[Any, Any]] = weakref.WeakKeyDictionary()


def to_flow(lattice: Lattice, **options: Any) -> Flow[Any, Any]:
    """The Prefect flow of ``lattice``; ``options`` are ``prefect.flow`` options.

    The flow's name is the lattice's and its task runner a ``CovalentTaskRunner`` on the
    config's default executor unless ``options`` say otherwise; electrons keep the
    executor they (or the lattice) name.
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"to_flow expects a @ct.lattice, got {type(lattice).__name__} {lattice!r}"
        )
    if not options and lattice in _flows:
        return _flows[lattice]

    def run_lattice(*args: Any, **kwargs: Any) -> Any:
        return GraphRun(lattice.build_graph(*args, **kwargs)).run()

    functools.update_wrapper(run_lattice, lattice.workflow_function)
    flow: Flow[Any, Any] = Flow(
        run_lattice, **{"name": lattice.name, "task_runner": CovalentTaskRunner(), **options}
    )
    if not options:
        _flows[lattice] = flow
    return flow


class GraphRun:
    """One walk of one transport graph inside a running flow."""

    def __init__(self, graph: g.TransportGraph) -> None:
        self.graph = graph
        self.values: dict[int, Any] = {n.node_id: n.value for n in graph if n.kind == g.PARAMETER}
        self.futures: dict[int, PrefectFuture[Any]] = {}
        self.errors: dict[int, str] = {}
        self._resolver = Resolver(graph.executor_instances,
                                  settings().dispatcher.effective_default_executor)
        self._tasks: dict[str, Any] = {}
        self._upstream: dict[int, set[int]] = {}
        self._done: set[int] = set()
        self._finished = threading.Event()
        self._executors = {n.node_id: self._executor(n) for n in graph if n.kind == g.ELECTRON}
        self._check_parameters()

    def _check_parameters(self) -> None:
        """Lattice inputs that cannot be pickled fail the flow before any task is submitted."""
        for node in self.graph:
            if node.kind != g.PARAMETER:
                continue
            try:
                cloudpickle.dumps(node.value, protocol=5, buffer_callback=lambda _buffer: None)
            except Exception as exc:
                raise UnpicklableInputError(
                    f"lattice {self.graph.name}: {self._consumer(node.node_id)} cannot be "
                    f"pickled ({type(exc).__name__}: {exc}), so it cannot be shipped to an "
                    "executor. Pass plain data (numbers, strings, arrays, dataclasses), or "
                    "create the object inside the electron."
                ) from None

    def _consumer(self, nid: int) -> str:
        for target in self.graph.children(nid):
            for edge in self.graph.parents(target):
                if edge.source == nid:
                    which = (f"argument {edge.position}" if edge.key is None
                             else f"argument {edge.key!r}")
                    node = self.graph.nodes[target]
                    return f"{which} of {node.name} (node {target})"
        return f"parameter node {nid}"

    def _executor(self, node: g.Node) -> Any:
        """What a node's executor spec designates; a missing plugin fails before any task."""
        spec = node.executor or {"name": None}
        try:
            designation = self._resolver.resolve(spec) if "class" in spec else spec.get("name")
            executors.for_task(designation, f"electron {node.name} (node {node.node_id})")
        except (ExecutorNotFoundError, ExecutorConfigError) as exc:
            raise type(exc)(f"lattice {self.graph.name}: {exc}") from None
        return designation

    # -- the walk -----------------------------------------------------------------
    def run(self) -> Any:
        pending = [n.node_id for n in self.graph if n.node_id not in self.values]
        while pending:
            pending = self._start_ready(pending)
            if pending and not self._await_one(pending):
                break
        wait(list(self.futures.values()))
        for nid, future in self.futures.items():
            state = future.state
            if not state.is_completed():
                self.errors.setdefault(nid, f"{state.name}: {state.message}")
        if self.errors:
            failed = "; ".join(f"{self.graph.nodes[n].name}({n}): {msg}"
                               for n, msg in sorted(self.errors.items()))
            raise LatticeFailedError(
                f"lattice {self.graph.name}: {len(self.errors)} node(s) did not complete: "
                f"{failed}"
            )
        refs = g.template_refs(self.graph.output_template)
        return g.from_template(self.graph.output_template, {r: self._value(r) for r in refs})

    def _start_ready(self, pending: list[int]) -> list[int]:
        progress = True
        while progress and pending:
            progress, waiting = False, []
            for nid in pending:
                ready = self._ready(nid)
                if ready is None:
                    waiting.append(nid)
                    continue
                progress = True
                if ready:
                    self._start(nid)
                else:
                    self.errors[nid] = "not run: an upstream node did not complete"
            pending = waiting
        return pending

    def _ready(self, nid: int) -> bool | None:
        """True to start now, False if an input will never exist, None to wait.

        An electron may start while its parent electrons run (it gets their futures);
        inline nodes and sublattices need their inputs' values.
        """
        is_electron = self.graph.nodes[nid].kind == g.ELECTRON
        for edge in self.graph.parents(nid):
            source = edge.source
            if source in self.errors:
                return False
            if source in self.values:
                continue
            if source not in self.futures:
                return None
            if is_electron:
                if source in self._done and not self._final(source).is_completed():
                    return False
            elif not self._settle(source):
                return False if source in self.errors else None
        return True

    def _final(self, nid: int) -> Any:
        future = self.futures[nid]
        future.wait()  # done already: records the final state without asking the API
        return future.state

    def _settle(self, nid: int) -> bool:
        """Move a finished electron's result into values; False while it runs or if it failed."""
        if nid not in self._done:
            return False
        state = self._final(nid)
        if state.is_completed():
            self.values[nid] = self.futures[nid].result()
            return True
        self.errors[nid] = f"{state.name}: {state.message}"
        return False

    def _await_one(self, pending: list[int]) -> bool:
        """Block until a future that a waiting node needs finishes; False if none can."""
        needed = {
            edge.source for nid in pending for edge in self.graph.parents(nid)
            if edge.source in self.futures and edge.source not in self.values
        }
        if not needed:
            return False
        while True:
            self._finished.clear()
            if needed & self._done:
                return True
            # In slices, so a flow timeout or cancellation can interrupt the wait.
            self._finished.wait(_WAIT_SLICE)

    def _mark_done(self, nid: int) -> None:
        self._done.add(nid)
        self._finished.set()

    def _start(self, nid: int) -> None:
        node = self.graph.nodes[nid]
        try:
            if node.inline:
                self.values[nid] = self._eval_inline(node)
            elif node.kind == g.SUBLATTICE:
                args, kwargs = self._inputs(nid, futures=False)
                self.values[nid] = to_flow(node.function)(*args, **kwargs)
            else:
                args, kwargs = self._inputs(nid, futures=True)
                wait_for = [self.futures[u] for u in self._upstream_of(nid)
                            if u in self.futures]
                future = self._task(node).submit(*args, wait_for=wait_for or None, **kwargs)
                self.futures[nid] = future
                future.add_done_callback(lambda _, nid=nid: self._mark_done(nid))
        except Exception as exc:
            self.errors[nid] = f"{type(exc).__name__}: {exc}"

    def _inputs(self, nid: int, futures: bool) -> tuple[list[Any], dict[str, Any]]:
        """Arguments from parents' values, or their Prefect futures so Prefect links them."""

        def value_of(source: int) -> Any:
            if futures and source in self.futures:
                return self.futures[source]
            return self._value(source)

        return g.gather_inputs(self.graph, nid, value_of)

    def _value(self, nid: int) -> Any:
        if nid not in self.values:
            self.values[nid] = self.futures[nid].result()
        return self.values[nid]

    def _eval_inline(self, node: g.Node) -> Any:
        return g.evaluate_inline(self.graph, node, self._value)

    def _upstream_of(self, nid: int) -> set[int]:
        """Electrons an electron depends on through inline nodes or ``ct.wait``.

        Their results reach it as computed values, not futures, so they go in
        ``wait_for``: Prefect then records the dependency as well as honouring it.
        """
        found: set[int] = set()
        for edge in self.graph.parents(nid):
            if edge.param_type == g.WAIT:
                found.add(edge.source)
            elif self.graph.nodes[edge.source].inline:
                found |= self._inline_upstream(edge.source)
        return found

    def _inline_upstream(self, nid: int) -> set[int]:
        if nid not in self._upstream:
            found: set[int] = set()
            for edge in self.graph.parents(nid):
                kind = self.graph.nodes[edge.source].kind
                if kind == g.ELECTRON:
                    found.add(edge.source)
                elif kind in g.INLINE_KINDS:
                    found |= self._inline_upstream(edge.source)
            self._upstream[nid] = found
        return self._upstream[nid]

    def _task(self, node: g.Node) -> Any:
        """One Prefect task per distinct function, executor and options in the graph."""
        designation = self._executors[node.node_id]
        key = json.dumps([id(node.function), node.name, repr(designation),
                          repr(sorted(node.options.items()))])
        if key not in self._tasks:
            self._tasks[key] = build_task(node.function, designation, node.name,
                                          node.options, {})
        return self._tasks[key]
