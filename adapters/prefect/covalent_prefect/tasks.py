"""Electrons as Prefect tasks.

``task(electron)`` is the Prefect ``Task`` of an electron: calling it in a flow makes a
task run, and it has ``.submit()`` and ``.map()`` like any task. Its function runs on the
electron's executor under any task runner. A plain call of an electron inside a flow
(through covalent_core's call interceptor) is the same as calling its task.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any

from prefect.tasks import Task

from covalent_core.errors import WorkflowDefinitionError
from covalent_core.workflow.electron import Electron
from covalent_core.workflow.lattice import Lattice
from covalent_prefect import executors
from covalent_prefect.shipping import ship

_tasks: weakref.WeakKeyDictionary[Electron, Task[Any, Any]] = weakref.WeakKeyDictionary()


def task(electron: Electron | None = None, /, **options: Any) -> Any:
    """The Prefect task of ``electron``; ``options`` are ``prefect.task`` options.

    Defaults come from the electron: name, ``retries`` and ``time_limit`` (as
    ``timeout_seconds``), falling back to its executor's. Use it as
    ``covalent_prefect.task(add).submit(1, 2)`` or as a decorator above ``@ct.electron``:
    ``@covalent_prefect.task(tags=["gpu"], log_prints=True)``.
    """
    if electron is None:
        return functools.partial(task, **options)
    if not isinstance(electron, Electron):
        raise WorkflowDefinitionError(
            f"covalent_prefect.task expects an @ct.electron function, got "
            f"{type(electron).__name__} {electron!r}; decorate the function with @ct.electron "
            "first, or use prefect.task for plain functions."
        )
    if isinstance(electron.function, Lattice):
        raise WorkflowDefinitionError(
            f"{electron.name} wraps a lattice; run it as a flow with "
            "covalent_prefect.to_flow(lattice) instead of as a task."
        )
    if options:
        return build_task(electron.function, electron.executor, electron.name,
                          electron.options_with_defaults({}), options)
    cached = _tasks.get(electron)
    if cached is None:
        cached = build_task(electron.function, electron.executor, electron.name,
                            electron.options_with_defaults({}), {})
        _tasks[electron] = cached
    return cached


def build_task(
    function: Any, executor: Any, name: str, electron_options: dict[str, Any],
    prefect_options: dict[str, Any],
) -> Task[Any, Any]:
    """A Prefect task whose function runs on ``executor``, with Covalent's options mapped."""
    resolved = executors.for_task(executor, f"electron {name}")  # a missing plugin fails here
    retries = electron_options.get("retries")
    if retries is None:
        retries = int(getattr(resolved, "retries", 0) or 0)
    limit = electron_options.get("time_limit")
    if limit is None:
        limit = getattr(resolved, "time_limit", -1)
    defaults: dict[str, Any] = {"name": name, "retries": retries}
    if limit and float(limit) > 0:
        defaults["timeout_seconds"] = float(limit)
    # Prefect derives the task's key, signature and async-ness from the real function;
    # only then is the function swapped for the stand-in that ships it.
    prefect_task: Task[Any, Any] = Task(function, **{**defaults, **prefect_options})
    prefect_task.fn = ship(
        function, executor,
        deps_pip=electron_options.get("deps_pip"),
        deps_bash=electron_options.get("deps_bash"),
        call_before=electron_options.get("call_before", ()),
        call_after=electron_options.get("call_after", ()),
    )
    return prefect_task


def call_in_flow(electron: Electron, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """An electron called inside a running flow: a task run, or a subflow for a sublattice."""
    if isinstance(electron.function, Lattice):
        from covalent_prefect.flows import to_flow

        return to_flow(electron.function)(*args, **kwargs)
    return task(electron)(*args, **kwargs)
