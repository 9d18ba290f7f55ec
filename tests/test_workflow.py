"""Tracing lattices into transport graphs, and running them on the standalone dispatcher."""

from __future__ import annotations

from typing import NamedTuple

import pytest

import covalent_core as ct
from covalent_core.errors import ControlFlowError, WorkflowDefinitionError


@ct.electron
def add(x, y):
    return x + y


@ct.electron(executor="local")
def mul(x, y):
    return x * y


@ct.electron
def split(x) -> tuple[int, int]:
    return x, x * 10


@ct.electron
def untyped_pair(x):
    return x, x


class Point(NamedTuple):
    x: int
    y: int


@ct.electron
def point(v) -> Point:
    return Point(v, -v)


@ct.electron
def total(values):
    return sum(values)


@ct.electron
def make_record(n):
    return {"n": n, "items": list(range(n))}


class Box:
    def __init__(self, value):
        self.value = value


@ct.electron
def boxed(v):
    return Box(v)


def test_quickstart_shape():
    @ct.lattice
    def workflow(x, y):
        return mul(add(x, y), y)

    dispatch_id = ct.dispatch(workflow)(1, 2)
    assert isinstance(dispatch_id, str)
    result = ct.get_result(dispatch_id, wait=True)
    assert result.status == ct.status.COMPLETED
    assert result.result == 6
    assert result.inputs == {"args": [1, 2], "kwargs": {}}
    text = str(result)
    assert "Lattice Result" in text and "status: COMPLETED" in text and "result: 6" in text
    assert f"dispatch_id: {dispatch_id}" in text and "add(0): 3" in text


def test_electron_outside_lattice_is_a_plain_call():
    assert add(2, 3) == 5
    assert split(4) == (4, 40)


def test_lattice_outside_dispatch_is_a_plain_call():
    @ct.lattice
    def workflow(x):
        return add(x, 1)

    assert workflow(1) == 2


def test_graph_structure_parameters_and_edges():
    @ct.lattice
    def workflow(x):
        return add(x, 5)

    graph = workflow.build_graph(1)
    kinds = [n.kind for n in graph]
    assert kinds == ["electron", "parameter", "parameter"]
    edges = {(e.source, e.target, e.param_type, e.position) for e in graph.edges}
    assert edges == {(1, 0, "arg", 0), (2, 0, "arg", 1)}
    assert graph.to_dict()["nodes"][0]["executor"] == {"name": None}


def test_collections_indexing_attributes_unpacking_and_operators():
    @ct.lattice
    def workflow(n):
        a, b = split(n)
        p = point(n)
        rec = make_record(n)
        box = boxed(n)
        return {
            "sum": total([a, b, 1]),
            "nested": total([total([a, a]), b]),
            "dict": {"first": rec["items"][0], "n": rec["n"]},
            "attr": box.value,
            "ops": (a + b) * 2 - p.y,
            "tuple": (p.x, p[1]),
        }

    result = ct.dispatch_sync(workflow)(3)
    assert result.status == "COMPLETED", result.error
    assert result.result == {
        "sum": 34, "nested": 36, "dict": {"first": 0, "n": 3}, "attr": 3,
        "ops": (3 + 30) * 2 + 3, "tuple": (3, -3),
    }


def test_kwargs_and_dict_arguments():
    @ct.electron
    def describe(name, *, values, scale=1):
        return {k: v * scale for k, v in values.items()} | {"name": name}

    @ct.lattice
    def workflow(name):
        x = add(1, 1)
        return describe(name, values={"x": x, "y": 5}, scale=x)

    assert ct.dispatch_sync(workflow)("w").result == {"x": 4, "y": 10, "name": "w"}


def test_unpacking_without_a_known_length_says_how_to_fix():
    @ct.lattice
    def workflow(x):
        a, _b = untyped_pair(x)
        return a

    with pytest.raises(ControlFlowError, match=r"tuple\[int, int\]"):
        workflow.build_graph(1)


@pytest.mark.parametrize(
    "body",
    [
        lambda v: 1 if v else 0,
        lambda v: len(v),
        lambda v: [i for i in range(v)],
        lambda v: int(v),
    ],
)
def test_python_control_flow_on_outputs_is_refused_with_advice(body):
    @ct.lattice
    def workflow(x):
        return body(add(x, 1))

    with pytest.raises(ControlFlowError, match="Move the logic into an electron"):
        workflow.build_graph(1)


def test_control_flow_on_lattice_inputs_is_fine():
    @ct.lattice
    def workflow(n, double):
        outs = [add(i, i) for i in range(n)]
        if double:
            outs = [mul(o, 2) for o in outs]
        return total(outs)

    assert ct.dispatch_sync(workflow)(4, True).result == 24


def test_lattice_without_return_value_is_an_error():
    @ct.lattice
    def workflow(x):
        add(x, 1)

    with pytest.raises(WorkflowDefinitionError, match="returns nothing"):
        ct.dispatch(workflow)(1)


def test_wait_orders_nodes_without_passing_data(tmp_path):
    log = tmp_path / "order.txt"

    @ct.electron
    def write(tag):
        import time

        time.sleep(0.2 if tag == "first" else 0)
        with open(log, "a") as fh:
            fh.write(tag + "\n")
        return tag

    @ct.lattice
    def workflow():
        first = write("first")
        second = write("second")
        ct.wait(second, [first])
        return [first, second]

    graph = workflow.build_graph()
    assert any(e.param_type == "wait" for e in graph.edges)
    assert ct.dispatch_sync(workflow)().result == ["first", "second"]
    assert log.read_text().split() == ["first", "second"]


def test_wait_cycle_is_refused():
    @ct.lattice
    def workflow():
        a = add(1, 2)
        b = add(a, 1)
        ct.wait(a, [b])
        return b

    with pytest.raises(WorkflowDefinitionError, match="cycle"):
        workflow.build_graph()


def test_wait_needs_electron_outputs():
    @ct.lattice
    def workflow():
        a = add(1, 2)
        ct.wait(a, [add])
        return a

    with pytest.raises(WorkflowDefinitionError, match="parents must be electron outputs"):
        workflow.build_graph()


def test_sublattice_runs_as_child_dispatch():
    @ct.lattice
    def inner(x):
        return mul(add(x, 1), 2)

    @ct.lattice
    def outer(x):
        a = ct.electron(inner)(x)
        b = ct.electron(inner)(a)
        return add(a, b)

    result = ct.dispatch_sync(outer)(1)
    assert result.status == "COMPLETED", result.error
    assert result.result == 4 + 10
    sub = result.get_node_result(0)["sublattice_result"]
    assert sub is not None and sub.result == 4
    assert sub.root_dispatch_id == result.dispatch_id


def test_non_electron_arguments_are_refused():
    with pytest.raises(WorkflowDefinitionError, match="expects a function"):
        ct.electron(42)
    with pytest.raises(WorkflowDefinitionError, match="executor must be an executor"):
        ct.electron(executor=3.5)(lambda: 1)
    with pytest.raises(WorkflowDefinitionError, match=r"expects a @ct\.lattice"):
        ct.dispatch(add)
    with pytest.raises(WorkflowDefinitionError, match="DepsCall"):
        ct.electron(call_before=[print])(lambda: 1)
