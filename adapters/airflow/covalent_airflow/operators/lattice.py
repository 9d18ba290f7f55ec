"""The operators ``to_dag`` makes: one per electron or sublattice of a lattice's graph.

Inline nodes (parameters, collections, indexing, attribute access, arithmetic) get no
task of their own: the task that consumes them evaluates them from its upstream tasks'
XComs, exactly as covalent_core's dispatcher does (``_eval_inline`` / ``_inputs``), so a
lattice costs Airflow one task per electron, like a hand-written TaskFlow DAG.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airflow.sdk import BaseOperator

from covalent_airflow import results
from covalent_airflow.operators.covalent import CovalentOperator, CovalentTaskError
from covalent_core.remote.call import wrap
from covalent_core.workflow import graph as g


class GraphInputs:
    """Values of a graph's nodes from the outputs of the tasks a node depends on."""

    def __init__(self, graph: g.TransportGraph, outputs: dict[int, Any]) -> None:
        self.graph = graph
        self.outputs = outputs

    def value(self, nid: int) -> Any:
        if nid not in self.outputs:
            node = self.graph.nodes[nid]
            if node.kind == g.PARAMETER:
                self.outputs[nid] = node.value
            elif node.inline:
                self.outputs[nid] = self._eval_inline(node)
            else:  # only reachable if to_dag wired a dependency wrongly
                raise KeyError(f"node {node.name} ({nid}) has no upstream task output")
        return self.outputs[nid]

    def inputs(self, nid: int) -> tuple[list[Any], dict[str, Any]]:
        return g.gather_inputs(self.graph, nid, self.value)

    def _eval_inline(self, node: g.Node) -> Any:
        return g.evaluate_inline(self.graph, node, self.value)


class _GraphMixin:
    """Shared by node and result tasks: upstream outputs arrive in ``upstream`` via XCom."""

    graph: g.TransportGraph
    upstream: dict[str, Any]

    def graph_inputs(self) -> GraphInputs:
        return GraphInputs(self.graph, {int(k): results.resolve(v)
                                        for k, v in self.upstream.items()})


class LatticeNodeOperator(_GraphMixin, CovalentOperator):
    """One electron of a lattice, run on its executor like any CovalentOperator."""

    template_fields = ("upstream",)
    shallow_copy_attrs = ("python_callable", "graph")

    def __init__(
        self, *, graph: g.TransportGraph, node_id: int, upstream: dict[str, Any],
        executor: Any, **kwargs: Any,
    ) -> None:
        node = graph.nodes[node_id]
        opts = node.options
        function = wrap(node.function, opts.get("deps_pip"), opts.get("deps_bash"),
                        opts.get("call_before", []), opts.get("call_after", []))
        super().__init__(python_callable=function, executor=executor, **kwargs)
        self.graph = graph
        self.graph_node_id = node_id
        self.covalent_node_id = node_id
        self.upstream = upstream

    def task_call(self, context: Any) -> tuple[Callable[..., Any], list[Any], dict[str, Any]]:
        args, kwargs = self.graph_inputs().inputs(self.graph_node_id)
        return self.python_callable, args, kwargs


class SublatticeOperator(_GraphMixin, BaseOperator):
    """A sublattice node: its graph depends on run-time inputs, so covalent_core's own
    dispatcher runs it inside this task (its electrons still go to their executors)."""

    template_fields = ("upstream",)
    shallow_copy_attrs = ("graph",)
    ui_color = "#e8f0d8"

    def __init__(self, *, graph: g.TransportGraph, node_id: int, upstream: dict[str, Any],
                 xcom_max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graph = graph
        self.graph_node_id = node_id
        self.upstream = upstream
        self.xcom_max_bytes = xcom_max_bytes
        self._dispatch_id: str | None = None

    def execute(self, context: Any) -> Any:
        import covalent_core as ct

        node = self.graph.nodes[self.graph_node_id]
        args, kwargs = self.graph_inputs().inputs(self.graph_node_id)
        self._dispatch_id = ct.dispatch(node.function)(*args, **kwargs)
        self.log.info("sublattice %s runs as covalent dispatch %s", node.name, self._dispatch_id)
        result = ct.get_result(self._dispatch_id, wait=True)
        self._dispatch_id = None
        if result.status != ct.Status.COMPLETED:
            raise CovalentTaskError(
                f"sublattice {node.name} (dispatch {result.dispatch_id}) ended "
                f"{result.status.value}: {result.error}; `covalent-core status "
                f"{result.dispatch_id}` shows each node"
            )
        return results.to_xcom(result.result, context["ti"], limit=self.xcom_max_bytes)

    def on_kill(self) -> None:
        if self._dispatch_id is not None:
            import covalent_core as ct

            ct.cancel(self._dispatch_id)


class LatticeResultOperator(_GraphMixin, BaseOperator):
    """Assembles the lattice's return value when it is more than one electron's output."""

    template_fields = ("upstream",)
    shallow_copy_attrs = ("graph",)
    ui_color = "#f0f0f0"

    def __init__(self, *, graph: g.TransportGraph, upstream: dict[str, Any],
                 xcom_max_bytes: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graph = graph
        self.upstream = upstream
        self.xcom_max_bytes = xcom_max_bytes

    def execute(self, context: Any) -> Any:
        values = self.graph_inputs()
        template = self.graph.output_template
        outputs = {nid: values.value(nid) for nid in g.template_refs(template)}
        value = g.from_template(template, outputs)
        return results.to_xcom(value, context["ti"], limit=self.xcom_max_bytes)
