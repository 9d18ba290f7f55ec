"""``to_dag``: a covalent lattice as an Airflow DAG, one task per electron.

The lattice is traced when the DAG file is parsed, with the inputs given here, so the
DAG's shape is fixed like any Airflow DAG's. Electron outputs travel as XCom (or as
references to stored results, see :mod:`covalent_airflow.results`); ``ct.wait`` edges
become plain dependencies. Each electron keeps its executor, retries and time limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, BaseOperator, XComArg

from covalent_airflow.operators.lattice import (
    LatticeNodeOperator,
    LatticeResultOperator,
    SublatticeOperator,
)
from covalent_core.workflow import graph as g
from covalent_core.workflow.lattice import Lattice

RESULT_TASK_ID = "lattice_result"


def to_dag(
    lattice: Any,
    dag_id: str | None = None,
    *,
    lattice_args: Sequence[Any] = (),
    lattice_kwargs: Mapping[str, Any] | None = None,
    conn_ids: Mapping[str, str] | None = None,
    xcom_max_bytes: int | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """An Airflow DAG whose tasks are ``lattice``'s electrons and sublattices.

    :param lattice: a ``@ct.lattice`` function.
    :param dag_id: default: the lattice's name.
    :param lattice_args: positional inputs the lattice is traced with.
    :param lattice_kwargs: keyword inputs the lattice is traced with.
    :param conn_ids: Airflow connection (type ``covalent``) per executor short name, e.g.
        ``{"slurm": "hpc_cluster"}``: where that executor's secrets come from.
    :param xcom_max_bytes: per-task override of ``[covalent] xcom_max_bytes``.
    :param dag_kwargs: anything ``airflow.sdk.DAG`` takes (``schedule``, ``default_args``...).

    The lattice's return value is the ``return_value`` XCom of its output electron's task,
    or of a final ``lattice_result`` task when it returns a structure or an expression.
    """
    if not isinstance(lattice, Lattice):
        raise TypeError(
            f"to_dag expects a @ct.lattice function, got {type(lattice).__name__} {lattice!r}"
        )
    graph = lattice.build_graph(*lattice_args, **dict(lattice_kwargs or {}))
    dag_kwargs.setdefault("doc_md", lattice.__doc__)
    conn_ids = dict(conn_ids or {})
    dag = DAG(dag_id or lattice.name, **dag_kwargs)
    tasks: dict[int, BaseOperator] = {}
    waits: dict[int, set[int]] = {}
    with dag:
        for node in graph:  # an argument is traced before the call it feeds
            if node.inline:
                continue
            data, waits[node.node_id] = _feeders(graph, node.node_id)
            upstream = {str(nid): XComArg(tasks[nid]) for nid in sorted(data)}
            common = {
                "task_id": _task_id(node),
                "graph": graph,
                "node_id": node.node_id,
                "upstream": upstream,
                "xcom_max_bytes": xcom_max_bytes,
            }
            if node.kind == g.SUBLATTICE:
                task: BaseOperator = SublatticeOperator(**common, **_airflow_options(node, None))
            else:
                executor = _executor(graph, node)
                task = LatticeNodeOperator(
                    executor=executor, conn_id=conn_ids.get(_short_name(executor) or ""),
                    **common, **_airflow_options(node, executor),
                )
            tasks[node.node_id] = task
        for nid, parents in waits.items():  # ct.wait may name a parent traced later
            for parent in sorted(parents):
                if tasks[parent].task_id not in tasks[nid].upstream_task_ids:
                    tasks[parent] >> tasks[nid]
        template = graph.output_template
        if not (isinstance(template, g.Ref) and template.node_id in tasks):
            data = set()
            for nid in g.template_refs(template):
                data |= _feeders_of(graph, nid)[0]
            LatticeResultOperator(
                task_id=RESULT_TASK_ID, graph=graph, xcom_max_bytes=xcom_max_bytes,
                upstream={str(nid): XComArg(tasks[nid]) for nid in sorted(data)},
            )
    return dag


def _feeders(graph: g.TransportGraph, nid: int) -> tuple[set[int], set[int]]:
    """Task nodes whose outputs reach ``nid`` (through inline nodes), and ct.wait parents."""
    data: set[int] = set()
    waits: set[int] = set()
    for edge in graph.parents(nid):
        if edge.param_type == g.WAIT:
            waits |= _feeders_of(graph, edge.source)[0]
            continue
        more_data, more_waits = _feeders_of(graph, edge.source)
        data |= more_data
        waits |= more_waits
    return data, waits


def _feeders_of(graph: g.TransportGraph, nid: int) -> tuple[set[int], set[int]]:
    node = graph.nodes[nid]
    if node.kind == g.PARAMETER:
        return set(), set()
    if not node.inline:
        return {nid}, set()
    return _feeders(graph, nid)


def _executor(graph: g.TransportGraph, node: g.Node) -> Any:
    """The live instance the lattice was traced with, or the plugin name the node holds."""
    spec = node.executor or {"name": None}
    return graph.executor_instances.get(spec.get("instance"), spec.get("name"))


def _short_name(executor: Any) -> str | None:
    if executor is None or isinstance(executor, str):
        return executor
    return executor.short_name()


def _airflow_options(node: g.Node, executor: Any) -> dict[str, Any]:
    """The electron's retries and time_limit (else its executor's) as Airflow's own options."""
    out: dict[str, Any] = {}
    retries = node.options.get("retries")
    if retries is None:
        retries = getattr(executor, "retries", 0) or None
    if retries is not None:
        out["retries"] = retries
    limit = node.options.get("time_limit")
    if limit is None:
        limit = getattr(executor, "time_limit", -1)
    if limit and limit > 0:
        out["execution_timeout"] = timedelta(seconds=limit)
    return out


def _task_id(node: g.Node) -> str:
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', node.name)}_{node.node_id}"
