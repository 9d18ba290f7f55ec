"""Which executor a task's function runs on.

The task's own executor (an electron's ``executor=``) wins; a task that names none uses
the default of the flow's ``CovalentTaskRunner``, and failing that the config's default
executor, as the standalone dispatcher does.
"""

from __future__ import annotations

from typing import Any

from covalent_core.config import settings
from covalent_core.errors import ExecutorConfigError, ExecutorNotFoundError
from covalent_core.executor import registry
from covalent_core.executor.base import is_executor


def resolve(executor: Any, where: str) -> Any:
    """An executor instance for a name, an instance, or None (the config's default).

    ``where`` names the task or runner in the error, so a missing plugin is reported
    against the code that asked for it.
    """
    if executor is None:
        executor = settings().dispatcher.effective_default_executor
    if is_executor(executor):
        return executor
    if isinstance(executor, str):
        try:
            return registry.shared(executor)
        except (ExecutorNotFoundError, ExecutorConfigError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
    raise TypeError(
        f"{where}: executor must be an executor instance (e.g. ct.executor.LocalExecutor()) "
        f"or a plugin name such as 'local' or 'dask', got {type(executor).__name__} "
        f"{executor!r}"
    )


def for_task(executor: Any, where: str) -> Any:
    """The executor a task runs on now: its own, else the running CovalentTaskRunner's."""
    if executor is None:
        from prefect.context import FlowRunContext

        from covalent_prefect.runner import CovalentTaskRunner

        flow_run = FlowRunContext.get()
        runner = flow_run.task_runner if flow_run is not None else None
        if isinstance(runner, CovalentTaskRunner):
            return runner.default_executor()
    return resolve(executor, where)
