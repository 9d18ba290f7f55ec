"""``@ct.lattice``: a workflow function traced into a transport graph at dispatch time."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from covalent_core.errors import WorkflowDefinitionError
from covalent_core.workflow.deps import DepsBash, DepsCall, DepsPip
from covalent_core.workflow.electron import _as_calls, _as_deps, _check_executor
from covalent_core.workflow.graph import TransportGraph
from covalent_core.workflow.tracing import tracing


class Lattice:
    def __init__(
        self,
        workflow_function: Callable[..., Any],
        *,
        executor: Any = None,
        workflow_executor: Any = None,
        deps_pip: DepsPip | list[str] | None = None,
        deps_bash: DepsBash | list[str] | str | None = None,
        call_before: DepsCall | Iterable[DepsCall] | None = None,
        call_after: DepsCall | Iterable[DepsCall] | None = None,
    ) -> None:
        if isinstance(workflow_function, Lattice) or not callable(workflow_function):
            raise WorkflowDefinitionError(
                f"ct.lattice expects a function, got {type(workflow_function).__name__}"
            )
        _check_executor(executor, "executor")
        _check_executor(workflow_executor, "workflow_executor")
        self.workflow_function = workflow_function
        self.name = getattr(workflow_function, "__name__", "lattice")
        self.options = {
            "executor": executor,
            "workflow_executor": workflow_executor,
            "deps_pip": _as_deps(deps_pip, DepsPip, "deps_pip"),
            "deps_bash": _as_deps(deps_bash, DepsBash, "deps_bash"),
            "call_before": _as_calls(call_before, "call_before"),
            "call_after": _as_calls(call_after, "call_after"),
        }
        functools.update_wrapper(self, workflow_function)

    def __repr__(self) -> str:
        return f"<lattice {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Outside a dispatch, a lattice is its plain Python function (electrons run inline)."""
        return self.workflow_function(*args, **kwargs)

    def build_graph(self, *args: Any, **kwargs: Any) -> TransportGraph:
        graph = TransportGraph(self.name, self.options)
        with tracing(graph):
            retval = self.workflow_function(*args, **kwargs)
        graph.set_output(retval, self.name)
        return graph


def lattice(_func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Mark a function as a workflow; ``executor`` becomes the default of its electrons."""
    if "backend" in options:
        options["executor"] = options.pop("backend")
    if _func is None:
        return lambda func: Lattice(func, **options)
    return Lattice(_func, **options)
