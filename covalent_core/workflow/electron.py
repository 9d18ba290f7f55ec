"""``@ct.electron``: a task that becomes a graph node inside a lattice, a plain call outside."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, overload

from covalent_core.errors import WorkflowDefinitionError
from covalent_core.workflow.deps import DepsBash, DepsCall, DepsPip
from covalent_core.workflow.proxy import NodeProxy
from covalent_core.workflow.tracing import current_graph


class Electron:
    """A task: a function, the executor it runs on and its options (``@ct.electron``).

    Called inside a lattice it adds a node to the graph being traced; called anywhere
    else it runs the function (or hands the call to a front end's interceptor).
    """

    function: Callable[..., Any]

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        executor: Any = None,
        retries: int | None = None,
        time_limit: float | None = None,
        deps_pip: DepsPip | list[str] | str | None = None,
        deps_bash: DepsBash | list[str] | str | None = None,
        call_before: DepsCall | Iterable[DepsCall] | None = None,
        call_after: DepsCall | Iterable[DepsCall] | None = None,
    ) -> None:
        from covalent_core.workflow.lattice import Lattice

        if isinstance(function, Electron):
            function = function.function  # re-decorating keeps the original function
        if not callable(function):
            raise WorkflowDefinitionError(
                f"ct.electron expects a function or a lattice, got {type(function).__name__} "
                f"{function!r}. Decorate a function: @ct.electron above `def ...`."
            )
        _check_executor(executor, "executor")
        if retries is not None and (not isinstance(retries, int) or retries < 0):
            raise WorkflowDefinitionError(f"retries must be a whole number >= 0, got {retries!r}")
        if time_limit is not None and (not isinstance(time_limit, (int, float)) or time_limit == 0):
            raise WorkflowDefinitionError(
                f"time_limit must be seconds > 0 (or -1 for none), got {time_limit!r}"
            )
        self.function = function
        self.executor = executor
        self.retries = retries
        self.time_limit = time_limit
        self.deps_pip = _as_deps(deps_pip, DepsPip, "deps_pip")
        self.deps_bash = _as_deps(deps_bash, DepsBash, "deps_bash")
        self.call_before = _as_calls(call_before, "call_before")
        self.call_after = _as_calls(call_after, "call_after")
        self.name = function.name if isinstance(function, Lattice) else getattr(
            function, "__name__", type(function).__name__
        )
        functools.update_wrapper(self, function)

    def __repr__(self) -> str:
        return f"<electron {self.name}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = current_graph()
        if graph is not None:
            return graph.add_electron_call(self, args, kwargs)
        for intercept in interceptors():
            handled = intercept(self, args, kwargs)
            if handled is not NotImplemented:
                return handled
        return self.function(*args, **kwargs)

    @functools.cached_property
    def output_length(self) -> int | None:
        """How many values the output unpacks into, from a fixed-size tuple annotation."""
        from covalent_core.workflow.graph import fixed_tuple_length

        return fixed_tuple_length(self.function)

    @property
    def electron_object(self) -> Electron:
        """Covalent spells access to the electron behind a decorated function this way."""
        return self

    def options_with_defaults(self, lattice_options: dict[str, Any]) -> dict[str, Any]:
        """Per-node options; the lattice's deps and hooks fill what the electron leaves empty."""
        return {
            "retries": self.retries,
            "time_limit": self.time_limit,
            "deps_pip": self.deps_pip or lattice_options.get("deps_pip"),
            "deps_bash": self.deps_bash or lattice_options.get("deps_bash"),
            "call_before": self.call_before or lattice_options.get("call_before", []),
            "call_after": self.call_after or lattice_options.get("call_after", []),
        }


@functools.cache
def interceptors() -> tuple[Callable[..., Any], ...]:
    """Front ends that take over electron calls made inside their own runs.

    An adapter (the Prefect one, say) registers a callable in the entry-point group
    ``covalent_core.call_interceptors``; it returns ``NotImplemented`` unless the call
    happens inside one of its runs (a Prefect flow), in which case it runs the electron
    its way. Loaded once, on the first electron call outside a lattice.
    """
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group="covalent_core.call_interceptors"):
        try:
            found.append(ep.load())
        except Exception as exc:  # a broken adapter must not break plain calls
            import logging

            logging.getLogger(__name__).warning("call interceptor %s failed to load: %s",
                                                ep.name, exc)
    return tuple(found)


@overload
def electron(_func: Callable[..., Any], **options: Any) -> Electron: ...
@overload
def electron(_func: None = None, **options: Any) -> Callable[[Callable[..., Any]], Electron]: ...


def electron(_func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Mark a function (or wrap a lattice, making it a sublattice) as a workflow task.

    Options: ``executor`` (instance or plugin name), ``retries``, ``time_limit``,
    ``deps_pip``, ``deps_bash``, ``call_before``, ``call_after``.
    """
    if "backend" in options:
        options["executor"] = options.pop("backend")
    if _func is None:
        return lambda func: Electron(func, **options)
    return Electron(_func, **options)


def wait(child: Any, parents: Any) -> Any:
    """Make ``child`` start only after ``parents`` finish, without passing their outputs."""
    graph = current_graph()
    if graph is None:
        return child
    if not isinstance(child, NodeProxy):
        raise WorkflowDefinitionError(
            f"ct.wait(child, parents) needs child to be an electron's output inside the lattice, "
            f"got {type(child).__name__}. Pass the value an electron call returned."
        )
    plist = list(parents) if isinstance(parents, (list, tuple, set)) else [parents]
    for parent in plist:
        if not isinstance(parent, NodeProxy):
            raise WorkflowDefinitionError(
                f"ct.wait parents must be electron outputs, got {type(parent).__name__} "
                f"{parent!r}. Pass values returned by electron calls."
            )
    graph.add_wait(child, plist)
    return child


def _check_executor(executor: Any, field: str) -> None:
    from covalent_core.executor.base import is_executor

    if executor is None or isinstance(executor, str) or is_executor(executor):
        return
    raise WorkflowDefinitionError(
        f"{field} must be an executor instance (e.g. ct.executor.LocalExecutor()) or a plugin "
        f"name such as 'local' or 'dask', got {type(executor).__name__} {executor!r}."
    )


def _as_deps(value: Any, cls: type, field: str) -> Any:
    if value is None or isinstance(value, cls):
        return value
    if isinstance(value, (str, list, tuple)):
        return cls(list(value) if not isinstance(value, str) else [value])
    raise WorkflowDefinitionError(
        f"{field} must be a {cls.__name__}, a list of strings or a string, got {value!r}"
    )


def _as_calls(value: Any, field: str) -> list[DepsCall]:
    if value is None:
        return []
    calls = [value] if isinstance(value, DepsCall) else list(value)
    for call in calls:
        if not isinstance(call, DepsCall):
            raise WorkflowDefinitionError(
                f"{field} entries must be ct.DepsCall(func, args, kwargs), got {call!r}"
            )
    return calls
