"""The transport graph: what a traced lattice becomes, and what every front end walks.

Nodes carry their function, an executor spec (never a live executor, so a graph can be
persisted and reloaded without secrets) and options; edges carry argument positions
and names. Parameter, collection, getitem/getattr and operator nodes are "inline":
the dispatcher evaluates them itself because shipping them to an executor would cost
more than computing them.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from covalent_core.errors import WorkflowDefinitionError
from covalent_core.workflow.proxy import NodeProxy

if TYPE_CHECKING:
    from covalent_core.workflow.electron import Electron

ELECTRON = "electron"
SUBLATTICE = "sublattice"
PARAMETER = "parameter"
COLLECTION = "collection"
GETITEM = "getitem"
GETATTR = "getattr"
OPERATOR = "operator"
INLINE_KINDS = frozenset({PARAMETER, COLLECTION, GETITEM, GETATTR, OPERATOR})

_SYMBOLS = {
    "add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%",
    "pow": "**", "matmul": "@", "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==",
    "ne": "!=", "neg": "-", "abs": "abs",
}

ARG = "arg"
KWARG = "kwarg"
WAIT = "wait"


@dataclass
class Node:
    node_id: int
    name: str
    kind: str
    function: Callable[..., Any] | None = None
    executor: dict[str, Any] | None = None
    value: Any = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def inline(self) -> bool:
        return self.kind in INLINE_KINDS


@dataclass(frozen=True)
class Edge:
    source: int
    target: int
    param_type: str
    position: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class Ref:
    """Marks where a node's output goes in the lattice's return value or a collection."""

    node_id: int


class TransportGraph:
    """The traced workflow: nodes, edges, the output template, and the inputs it was traced
    with (``inputs``: ``{"args": [...], "kwargs": {...}}``).

    The inputs live here, beside the parameter nodes built from them, so a stored dispatch
    pickles each argument once however many places refer to it.
    """

    def __init__(self, name: str, lattice_options: dict[str, Any] | None = None) -> None:
        self.name = name
        self.nodes: list[Node] = []
        self.edges: list[Edge] = []
        self.output_template: Any = None
        self.lattice_options = lattice_options or {}
        self.inputs: dict[str, Any] = {"args": [], "kwargs": {}}
        self._parents: dict[int, list[Edge]] = {}
        self._children: dict[int, list[int]] = {}
        # Live executor instances given at trace time, keyed by id(); never persisted.
        self.executor_instances: dict[int, Any] = {}
        # One spec per instance: describing it (to_dict, maybe pickling its class) per
        # node would cost a fan-out of 10,000 electrons as many copies.
        self._specs: dict[int, dict[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["executor_instances"] = {}
        state["_specs"] = {}
        return state

    @property
    def parameters(self) -> dict[int, Any]:
        """The value of every parameter node, by node id."""
        return {n.node_id: n.value for n in self.nodes if n.kind == PARAMETER}

    # -- building ---------------------------------------------------------------
    def _add(self, node: Node) -> int:
        self.nodes.append(node)
        return node.node_id

    def _next_id(self) -> int:
        return len(self.nodes)

    def add_edge(self, edge: Edge) -> None:
        self.edges.append(edge)
        self._parents.setdefault(edge.target, []).append(edge)
        self._children.setdefault(edge.source, []).append(edge.target)

    def add_electron_call(
        self, electron: Electron, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> NodeProxy:
        from covalent_core.workflow.lattice import Lattice

        node_id = self._next_id()
        executor = electron.executor if electron.executor is not None else self.lattice_options.get(
            "executor"
        )
        is_sub = isinstance(electron.function, Lattice)
        node = Node(
            node_id=node_id,
            name=electron.name,
            kind=SUBLATTICE if is_sub else ELECTRON,
            function=electron.function,
            executor=self._spec(executor),
            options=electron.options_with_defaults(self.lattice_options),
        )
        self._add(node)
        for pos, arg in enumerate(args):
            self.add_edge(Edge(self._input(arg, f"{electron.name} arg {pos}"), node_id, ARG, pos))
        for key, arg in kwargs.items():
            self.add_edge(
                Edge(self._input(arg, f"{electron.name} kwarg {key}"), node_id, KWARG, key=key)
            )
        length = None if is_sub else electron.output_length
        return NodeProxy(self, node_id, electron.name, length)

    def _spec(self, executor: Any) -> dict[str, Any]:
        from covalent_core.executor.spec import spec_of

        if executor is None or isinstance(executor, str):
            return spec_of(executor, self.executor_instances)
        spec = self._specs.get(id(executor))
        if spec is None:
            spec = self._specs[id(executor)] = spec_of(executor, self.executor_instances)
        return spec

    def add_derived(self, source: NodeProxy, kind: str, value: Any, name: str) -> NodeProxy:
        self._own(source)
        node_id = self._add(Node(self._next_id(), name, kind, value=value))
        self.add_edge(Edge(source._node_id, node_id, ARG, 0))
        return NodeProxy(self, node_id, name, None)

    def add_operator(self, op: Callable[..., Any], operands: tuple[Any, ...]) -> NodeProxy:
        symbol = _SYMBOLS.get(op.__name__)
        labels = [_label(o) for o in operands]
        if symbol and len(labels) == 2:
            name = f"({labels[0]} {symbol} {labels[1]})"
        else:
            name = f"{symbol or op.__name__}({', '.join(labels)})"
        node_id = self._add(Node(self._next_id(), name, OPERATOR, function=op))
        for pos, operand in enumerate(operands):
            self.add_edge(Edge(self._input(operand, f"{name} operand {pos}"), node_id, ARG, pos))
        return NodeProxy(self, node_id, name, None)

    def add_wait(self, child: NodeProxy, parents: list[NodeProxy]) -> None:
        self._own(child)
        for parent in parents:
            self._own(parent)
            if parent._node_id == child._node_id or self._reaches(child._node_id, parent._node_id):
                raise WorkflowDefinitionError(
                    f"ct.wait would make a cycle: {child._name} (node {child._node_id}) already "
                    f"feeds {parent._name} (node {parent._node_id}), so it cannot also wait for "
                    "it. Remove that parent from ct.wait."
                )
            self.add_edge(Edge(parent._node_id, child._node_id, WAIT))

    def _reaches(self, start: int, goal: int) -> bool:
        seen, stack = set(), [start]
        while stack:
            cur = stack.pop()
            if cur == goal:
                return True
            if cur not in seen:
                seen.add(cur)
                stack.extend(self._children.get(cur, ()))
        return False

    def _own(self, proxy: NodeProxy) -> None:
        if proxy._graph is not self:
            raise WorkflowDefinitionError(
                f"{proxy._name} belongs to another lattice's graph; pass values between "
                "lattices as arguments of a sublattice (ct.electron(other_lattice)) instead."
            )

    def _input(self, value: Any, where: str) -> int:
        """Node id feeding this argument: an existing node, a collection, or a parameter."""
        if isinstance(value, NodeProxy):
            self._own(value)
            return value._node_id
        if _contains_proxy(value):
            return self._collection(value, where)
        name = f":parameter:{_short(value)}"
        return self._add(Node(self._next_id(), name, PARAMETER, value=value))

    def _collection(self, value: Any, where: str) -> int:
        items = value.items() if isinstance(value, dict) else enumerate(value)
        template: dict[Any, Any] = {}
        node_id = self._next_id()
        self._add(Node(node_id, f":{type(value).__name__}:", COLLECTION))
        for key, item in items:
            if isinstance(item, NodeProxy) or _contains_proxy(item):
                src = self._input(item, where)
                self.add_edge(Edge(src, node_id, ARG, len(self._parents.get(node_id, []))))
                template[key] = Ref(src)
            else:
                template[key] = item
        self.nodes[node_id].value = (type(value), template)
        return node_id

    def set_output(self, retval: Any, lattice_name: str) -> None:
        if retval is None:
            raise WorkflowDefinitionError(
                f"lattice {lattice_name!r} returns nothing, so its result would be None. Return "
                "the electron outputs you want as the result (for example `return mul(a, b)`)."
            )
        self.output_template = to_template(retval, self)

    # -- reading ----------------------------------------------------------------
    def parents(self, node_id: int) -> list[Edge]:
        return self._parents.get(node_id, [])

    def children(self, node_id: int) -> list[int]:
        return self._children.get(node_id, [])

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description front ends and the CLI can walk without unpickling."""
        return {
            "name": self.name,
            "nodes": [
                {
                    "id": n.node_id,
                    "name": n.name,
                    "kind": n.kind,
                    "function": getattr(n.function, "__qualname__", None),
                    "executor": n.executor,
                    "options": {
                        k: v for k, v in n.options.items() if k in ("retries", "time_limit")
                    },
                }
                for n in self.nodes
            ],
            "edges": [
                {"source": e.source, "target": e.target, "type": e.param_type,
                 "position": e.position, "key": e.key}
                for e in self.edges
            ],
        }


def _contains_proxy(value: Any) -> bool:
    if isinstance(value, NodeProxy):
        return True
    if isinstance(value, dict):
        return any(_contains_proxy(v) for v in value.values())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(_contains_proxy(v) for v in value)
    return False


def to_template(value: Any, graph: TransportGraph) -> Any:
    """Replace proxies in a nested structure with Refs, keeping container types."""
    if isinstance(value, NodeProxy):
        graph._own(value)
        return Ref(value._node_id)
    if isinstance(value, dict):
        return type(value)((k, to_template(v, graph)) for k, v in value.items())
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(to_template(v, graph) for v in value))
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(to_template(v, graph) for v in value)
    return value


def template_refs(template: Any) -> set[int]:
    """The node ids a template (the lattice's return value) needs outputs of."""
    if isinstance(template, Ref):
        return {template.node_id}
    if isinstance(template, dict):
        return set().union(*(template_refs(v) for v in template.values()))
    if isinstance(template, (list, tuple, set, frozenset)):
        return set().union(*(template_refs(v) for v in template))
    return set()


def from_template(template: Any, outputs: dict[int, Any]) -> Any:
    """Rebuild a value from a template, replacing Refs with node outputs."""
    if isinstance(template, Ref):
        return outputs[template.node_id]
    if isinstance(template, dict):
        return type(template)((k, from_template(v, outputs)) for k, v in template.items())
    if isinstance(template, tuple) and hasattr(template, "_fields"):
        return type(template)(*(from_template(v, outputs) for v in template))
    if isinstance(template, (list, tuple, set, frozenset)):
        return type(template)(from_template(v, outputs) for v in template)
    return template


def gather_inputs(
    graph: TransportGraph, node_id: int, value_of: Callable[[int], Any]
) -> tuple[list[Any], dict[str, Any]]:
    """A node's positional and keyword arguments, from its parents' values.

    Every front end (the dispatcher, Prefect flows, Airflow DAGs) feeds nodes this way;
    ``value_of`` says where a parent's value comes from (memory, a file, a future, XCom).
    """
    positional: dict[int, Any] = {}
    kwargs: dict[str, Any] = {}
    for edge in graph.parents(node_id):
        if edge.param_type == ARG:
            positional[edge.position or 0] = value_of(edge.source)
        elif edge.param_type == KWARG:
            kwargs[edge.key or ""] = value_of(edge.source)
    return [positional[i] for i in sorted(positional)], kwargs


def evaluate_inline(graph: TransportGraph, node: Node, value_of: Callable[[int], Any]) -> Any:
    """The value of a parameter, collection, getitem, getattr or operator node."""
    if node.kind == PARAMETER:
        return node.value
    if node.kind == COLLECTION:
        refs = {e.source: value_of(e.source) for e in graph.parents(node.node_id)}
        return build_collection(node.value, refs)
    args, _ = gather_inputs(graph, node.node_id, value_of)
    if node.kind == GETITEM:
        return args[0][node.value]
    if node.kind == GETATTR:
        return getattr(args[0], node.value)
    if node.kind == OPERATOR and node.function is not None:
        return node.function(*args)
    raise ValueError(f"node {node.name} ({node.node_id}) of kind {node.kind} is not inline")


def build_collection(value: tuple[type[Any], dict[Any, Any]], outputs: dict[int, Any]) -> Any:
    container, template = value
    items = {k: from_template(v, outputs) for k, v in template.items()}
    if issubclass(container, dict):
        return container(items)
    ordered = [items[k] for k in sorted(items)]
    if issubclass(container, tuple) and hasattr(container, "_fields"):
        return container(*ordered)
    return container(ordered)


def fixed_tuple_length(function: Callable[..., Any]) -> int | None:
    """Length of a fixed-size tuple return annotation, which makes unpacking traceable."""
    try:
        hint = typing.get_type_hints(function).get("return")
    except Exception:
        hint = inspect.signature(function).return_annotation
    if hint is None or hint is inspect.Signature.empty:
        return None
    if isinstance(hint, type) and issubclass(hint, tuple) and hasattr(hint, "_fields"):
        return len(hint._fields)
    if typing.get_origin(hint) in (tuple, typing.Tuple):  # noqa: UP006
        args = typing.get_args(hint)
        if args and Ellipsis not in args and args != ((),):
            return len(args)
    return None


def _short(value: Any, limit: int = 30) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(value: Any) -> str:
    return value._name if isinstance(value, NodeProxy) else _short(value, 12)
