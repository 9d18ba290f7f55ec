"""Turning a lattice call into a stored dispatch, or a stored dispatch back into a run.

Everything that can be wrong with a workflow (an unpicklable argument, an unknown
executor name, broken executor config) is found here, before the dispatch is
recorded and before any task starts.
"""

from __future__ import annotations

import hashlib
import inspect
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from covalent_core.config import settings
from covalent_core.errors import UnpicklableInputError, WorkflowDefinitionError
from covalent_core.executor.spec import Resolver, spec_of
from covalent_core.store import artifacts, get_store
from covalent_core.store.database import Store
from covalent_core.store.status import Status
from covalent_core.workflow import graph as g
from covalent_core.workflow.electron import Electron
from covalent_core.workflow.lattice import Lattice

LATTICE = "lattice.pkl"
#: How deep sublattices may nest: far beyond real workflows, near enough to stop a
#: lattice that calls itself before it has made thousands of dispatches.
MAX_SUBLATTICE_DEPTH = 20


@dataclass
class Prepared:
    dispatch_id: str
    graph: g.TransportGraph
    resolver: Resolver
    results_dir: Path
    results_root: Path
    prior: dict[int, dict[str, Any]] = field(default_factory=dict)

    def make_run(self, store: Store) -> Any:
        from covalent_core.dispatcher.run import DispatchRun

        return DispatchRun(
            dispatch_id=self.dispatch_id, graph=self.graph, store=store,
            results_dir=self.results_dir, results_root=self.results_root,
            resolver=self.resolver, prior=self.prior,
        )


def as_lattice(obj: Any, where: str = "dispatch") -> Lattice:
    if isinstance(obj, Electron) and isinstance(obj.function, Lattice):
        return obj.function
    if isinstance(obj, Lattice):
        return obj
    raise WorkflowDefinitionError(
        f"ct.{where} expects a @ct.lattice, got {type(obj).__name__} "
        f"{getattr(obj, '__name__', obj)!r}. Decorate the workflow function with @ct.lattice "
        "(electrons are called inside it)."
    )


def prepare(
    lattice: Any,
    args: tuple[Any, ...] | list[Any],
    kwargs: dict[str, Any],
    *,
    parent: tuple[str, int] | None = None,
    replace_electrons: dict[str, Any] | None = None,
    reuse_from: str | None = None,
) -> Prepared:
    lattice = as_lattice(lattice)
    if parent is not None:
        _check_depth(lattice, parent[0])
    graph = lattice.build_graph(*args, **kwargs)
    if replace_electrons:
        _replace(graph, replace_electrons)
    graph.inputs = {"args": list(args), "kwargs": dict(kwargs)}
    try:
        graph_bytes = cloudpickle.dumps(graph)
    except Exception:
        _find_unpicklable(graph)
        raise
    conf = settings().dispatcher
    resolver = Resolver(graph.executor_instances, conf.effective_default_executor)
    seen: set[str] = set()
    for node in graph:
        key = repr(node.executor)
        if node.kind == g.ELECTRON and key not in seen:
            seen.add(key)
            resolver.resolve(node.executor)
    store = get_store()
    dispatch_id = str(uuid.uuid4())
    root = conf.results_root.expanduser().resolve()
    results_dir = root / dispatch_id
    results_dir.mkdir(parents=True, exist_ok=True)
    artifacts.write_bytes(results_dir / artifacts.GRAPH,
                          artifacts.seal(results_dir / artifacts.GRAPH, graph_bytes))
    try:
        artifacts.write(results_dir / LATTICE, lattice)
    except Exception:
        pass  # only redispatch with new arguments needs it; it says so when missing
    prior = _reuse(graph, reuse_from, results_dir, store) if reuse_from else {}
    parent_record = store.get_dispatch(parent[0]) if parent else None
    now = time.time()
    store.create_dispatch(
        {
            "dispatch_id": dispatch_id,
            "root_dispatch_id": parent_record["root_dispatch_id"] if parent_record else dispatch_id,
            "parent_dispatch_id": parent[0] if parent else None,
            "parent_node_id": parent[1] if parent else None,
            "name": lattice.name,
            "status": Status.NEW_OBJECT.value,
            "results_dir": str(results_dir),
            "created_at": now,
            "num_nodes": len(graph),
        },
        [
            {
                "node_id": n.node_id,
                "name": n.name,
                "kind": n.kind,
                "status": (
                    Status.COMPLETED.value
                    if n.kind == g.PARAMETER or n.node_id in prior
                    else Status.NEW_OBJECT.value
                ),
                "executor": (n.executor or {}).get("name") if n.executor else None,
                "has_output": 1 if n.node_id in prior else 0,
                "ended_at": now if n.kind == g.PARAMETER or n.node_id in prior else None,
            }
            for n in graph
        ],
    )
    if prior:
        store.update_nodes(dispatch_id, list(prior), started_at=now)
    return Prepared(dispatch_id, graph, resolver, results_dir, root, prior)


def _check_depth(lattice: Any, parent_id: str) -> None:
    """Refuse a sublattice nested deeper than MAX_SUBLATTICE_DEPTH (a lattice calling itself)."""
    store = get_store()
    chain = [store.get_dispatch(parent_id)]
    while chain[-1]["parent_dispatch_id"] and len(chain) <= MAX_SUBLATTICE_DEPTH:
        chain.append(store.get_dispatch(chain[-1]["parent_dispatch_id"]))
    if len(chain) >= MAX_SUBLATTICE_DEPTH:
        names = " -> ".join(r["name"] for r in reversed(chain[-5:]))
        raise WorkflowDefinitionError(
            f"sublattice {lattice.name!r} would be nested {len(chain)} deep ({names} -> ...): "
            "a lattice that calls itself as a sublattice, directly or through others, never "
            f"ends. Stop the recursion on an input, or nest at most {MAX_SUBLATTICE_DEPTH} "
            "deep."
        )


def load(dispatch_id: str) -> Prepared:
    """A stored dispatch, ready to run again: completed nodes keep their outputs."""
    store = get_store()
    record = store.get_dispatch(dispatch_id)
    results_dir = Path(record["results_dir"])
    graph = artifacts.read(results_dir / artifacts.GRAPH)
    prior = {n["node_id"]: n for n in store.get_nodes(dispatch_id)}
    for nid, row in prior.items():
        if row["kind"] == g.PARAMETER or row["status"] == Status.COMPLETED.value:
            continue
        if artifacts.readable(results_dir / artifacts.node_output_name(nid)):
            row["status"] = Status.COMPLETED.value  # output written; the crash beat the status
    conf = settings().dispatcher
    resolver = Resolver({}, conf.effective_default_executor)
    return Prepared(dispatch_id, graph, resolver, results_dir, results_dir.parent, prior)


def _replace(graph: g.TransportGraph, replacements: dict[str, Any]) -> None:
    names = {n.name for n in graph if n.kind == g.ELECTRON}
    unknown = set(replacements) - names
    if unknown:
        raise WorkflowDefinitionError(
            f"replace_electrons names {sorted(unknown)}, which are not electrons of this "
            f"lattice; its electrons are {sorted(names)}"
        )
    for node in graph:
        new = replacements.get(node.name)
        if new is None or node.kind != g.ELECTRON:
            continue
        if not callable(new):
            raise WorkflowDefinitionError(
                f"replace_electrons[{node.name!r}] must be an @ct.electron function, got {new!r}"
            )
        if isinstance(new, Electron):
            node.function = new.function
            if new.executor is not None:
                node.executor = spec_of(new.executor, graph.executor_instances)
        else:
            node.function = new


def _find_unpicklable(graph: g.TransportGraph) -> None:
    """Name the argument or electron that made the graph unpicklable."""
    advice = ("so it cannot be shipped to an executor. Pass plain data (numbers, strings, "
              "arrays, dataclasses) or create the object inside the electron.")
    for node in graph:
        if node.kind == g.ELECTRON or node.kind == g.SUBLATTICE or node.value is None:
            continue
        try:
            cloudpickle.dumps(node.value)
        except Exception as exc:
            consumer = _consumer(graph, node.node_id)
            if node.kind == g.PARAMETER:
                where = consumer
            elif node.kind == g.COLLECTION:
                where = f"an item of the {node.value[0].__name__} passed as {consumer}"
            else:
                where = f"a value used by {node.name}, {consumer},"
            raise UnpicklableInputError(
                f"{where} cannot be pickled ({type(exc).__name__}: {exc}), {advice}"
            ) from None
    try:
        cloudpickle.dumps(graph.output_template)
    except Exception as exc:
        raise UnpicklableInputError(
            f"the value lattice {graph.name!r} returns holds something that cannot be pickled "
            f"({type(exc).__name__}: {exc}); return electron outputs and plain data only"
        ) from None
    for node in graph:
        if node.function is None or node.kind == g.OPERATOR:
            continue
        try:
            cloudpickle.dumps(node.function)
        except Exception as exc:
            raise UnpicklableInputError(
                f"electron {node.name} (node {node.node_id}) cannot be pickled "
                f"({type(exc).__name__}: {exc}): it probably refers to a lock, connection or "
                "open file at module level; create such objects inside the function."
            ) from None


def _consumer(graph: g.TransportGraph, param_id: int) -> str:
    for edge in graph.edges:
        if edge.source == param_id:
            target = graph.nodes[edge.target]
            which = f"argument {edge.position}" if edge.key is None else f"argument {edge.key!r}"
            return f"{which} of {target.name} (node {target.node_id})"
    return f"node {param_id}"


# -- reuse of previous results -------------------------------------------------------
def fingerprints(graph: g.TransportGraph) -> dict[int, str]:
    """A content hash per node: same function, same inputs (recursively) -> same hash."""
    memo: dict[int, str] = {}
    for start in graph:
        stack = [start.node_id]
        while stack:
            nid = stack[-1]
            if nid in memo:
                stack.pop()
                continue
            missing = [e.source for e in graph.parents(nid) if e.source not in memo]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            node = graph.nodes[nid]
            h = hashlib.sha256()
            h.update(f"{node.kind}|{node.name}|".encode())
            h.update(_function_key(node.function))
            if node.kind != g.COLLECTION:
                h.update(_value_key(node.value))
            for e in sorted(graph.parents(nid), key=lambda e: (e.param_type, str(e.position),
                                                               str(e.key), memo[e.source])):
                h.update(f"|{e.param_type}:{e.position}:{e.key}:{memo[e.source]}".encode())
            memo[nid] = h.hexdigest()
    return memo


def _function_key(function: Any) -> bytes:
    if function is None:
        return b""
    target = function.workflow_function if isinstance(function, Lattice) else function
    try:
        return f"{getattr(target, '__qualname__', '')}|{inspect.getsource(target)}".encode()
    except (OSError, TypeError):
        return cloudpickle.dumps(target)


def _value_key(value: Any) -> bytes:
    try:
        return cloudpickle.dumps(value)
    except Exception:
        return repr(value).encode()


def _reuse(
    graph: g.TransportGraph, old_id: str, results_dir: Path, store: Store
) -> dict[int, dict[str, Any]]:
    old = load(old_id)
    old_fp = {fp: nid for nid, fp in fingerprints(old.graph).items()}
    prior: dict[int, dict[str, Any]] = {}
    for nid, fp in fingerprints(graph).items():
        old_nid = old_fp.get(fp)
        node = graph.nodes[nid]
        if old_nid is None or node.kind == g.PARAMETER:
            continue
        if old.prior.get(old_nid, {}).get("status") != Status.COMPLETED.value:
            continue
        src = old.results_dir / artifacts.node_output_name(old_nid)
        if src.exists():
            artifacts.copy(src, results_dir / artifacts.node_output_name(nid))
            prior[nid] = {"status": Status.COMPLETED.value}
    return prior
