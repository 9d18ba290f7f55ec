"""What an electron call returns while a lattice is being traced.

A proxy stands for a value that will exist only when the workflow runs. It
supports what can be recorded as graph nodes (indexing, attributes, arithmetic,
unpacking of a known length) and refuses what would need the value now
(``if``, ``for`` of unknown length, ``len``, ``int``), with an error that says so.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from covalent_core.errors import ControlFlowError

if TYPE_CHECKING:
    from covalent_core.workflow.graph import TransportGraph


class NodeProxy:
    """An electron's output while the lattice is traced: records uses as graph nodes."""

    __slots__ = ("_graph", "_length", "_name", "_node_id")
    _graph: TransportGraph
    _node_id: int
    _name: str
    _length: int | None

    def __init__(self, graph: TransportGraph, node_id: int, name: str, length: int | None) -> None:
        object.__setattr__(self, "_graph", graph)
        object.__setattr__(self, "_node_id", node_id)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_length", length)

    def __repr__(self) -> str:
        return f"<output of {self._name} (node {self._node_id}), known when the workflow runs>"

    def _refuse(self, what: str) -> NoReturn:
        raise ControlFlowError(
            f"{what} needs the value of {self._name} (node {self._node_id}), which exists only "
            "when the workflow runs, not while @ct.lattice builds the graph. Move the logic "
            "into an electron that takes this output as an argument (branching and loops on "
            "lattice *inputs* are fine)."
        )

    # What needs the value now is refused.
    def __bool__(self) -> bool:
        self._refuse("`if`/`while`/`and`/`or`/`not` on an electron's output")

    def __len__(self) -> int:
        self._refuse("len() of an electron's output")

    def __index__(self) -> int:
        self._refuse("using an electron's output as an index or range bound")

    def __int__(self) -> int:
        self._refuse("int() of an electron's output")

    def __float__(self) -> float:
        self._refuse("float() of an electron's output")

    def __contains__(self, item: Any) -> bool:
        self._refuse("`in` on an electron's output")

    # Text of an output: without these, f"run_{out}.csv" would quietly pass the proxy's
    # description to the task instead of the value.
    def __format__(self, spec: str) -> str:
        self._refuse("formatting an electron's output into text (f-string, str.format)")

    def __str__(self) -> str:
        self._refuse("str() of an electron's output")

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse(f"setting .{name} on an electron's output")

    def __setitem__(self, key: Any, value: Any) -> None:
        self._refuse("item assignment on an electron's output")

    def __reduce__(self) -> NoReturn:
        self._refuse("pickling an electron's output inside an object the graph cannot see into")

    def __iter__(self) -> Iterator[NodeProxy]:
        if self._length is None:
            raise ControlFlowError(
                f"cannot unpack or iterate the output of {self._name} (node {self._node_id}) "
                "while the graph is built: its length is unknown until it runs. Annotate the "
                "electron's return type with a fixed-length tuple (-> tuple[int, int]), or "
                "index it explicitly (out[0], out[1])."
            )
        return iter([self[i] for i in range(self._length)])

    # What can be recorded becomes a node.
    def __getitem__(self, key: Any) -> NodeProxy:
        return self._graph.add_derived(self, "getitem", key, f"{self._name}[{key!r}]")

    def __getattr__(self, attr: str) -> NodeProxy:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._graph.add_derived(self, "getattr", attr, f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        self._refuse("calling an electron's output")

    def _op(self, op: Callable[..., Any], *others: Any) -> NodeProxy:
        return self._graph.add_operator(op, (self, *others))

    def _rop(self, op: Callable[..., Any], other: Any) -> NodeProxy:
        return self._graph.add_operator(op, (other, self))

    __hash__ = object.__hash__

    def __add__(self, o: Any) -> NodeProxy: return self._op(operator.add, o)
    def __radd__(self, o: Any) -> NodeProxy: return self._rop(operator.add, o)
    def __sub__(self, o: Any) -> NodeProxy: return self._op(operator.sub, o)
    def __rsub__(self, o: Any) -> NodeProxy: return self._rop(operator.sub, o)
    def __mul__(self, o: Any) -> NodeProxy: return self._op(operator.mul, o)
    def __rmul__(self, o: Any) -> NodeProxy: return self._rop(operator.mul, o)
    def __truediv__(self, o: Any) -> NodeProxy: return self._op(operator.truediv, o)
    def __rtruediv__(self, o: Any) -> NodeProxy: return self._rop(operator.truediv, o)
    def __floordiv__(self, o: Any) -> NodeProxy: return self._op(operator.floordiv, o)
    def __rfloordiv__(self, o: Any) -> NodeProxy: return self._rop(operator.floordiv, o)
    def __mod__(self, o: Any) -> NodeProxy: return self._op(operator.mod, o)
    def __rmod__(self, o: Any) -> NodeProxy: return self._rop(operator.mod, o)
    def __pow__(self, o: Any) -> NodeProxy: return self._op(operator.pow, o)
    def __rpow__(self, o: Any) -> NodeProxy: return self._rop(operator.pow, o)
    def __matmul__(self, o: Any) -> NodeProxy: return self._op(operator.matmul, o)
    def __neg__(self) -> NodeProxy: return self._op(operator.neg)
    def __abs__(self) -> NodeProxy: return self._op(operator.abs)
    def __lt__(self, o: Any) -> NodeProxy: return self._op(operator.lt, o)
    def __le__(self, o: Any) -> NodeProxy: return self._op(operator.le, o)
    def __gt__(self, o: Any) -> NodeProxy: return self._op(operator.gt, o)
    def __ge__(self, o: Any) -> NodeProxy: return self._op(operator.ge, o)
    def __eq__(self, o: Any) -> NodeProxy: return self._op(operator.eq, o)  # type: ignore[override]
    def __ne__(self, o: Any) -> NodeProxy: return self._op(operator.ne, o)  # type: ignore[override]
