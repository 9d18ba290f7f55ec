"""Per-task records plugins keep (QElectron calls, say), stored with the node's result.

A plugin registers ``name = "module:factory"`` in the entry-point group
``covalent_core.task_records``; ``factory()`` is a context manager that yields a list
its code appends JSON-able records to while the task runs. The lists come back in the
task's Outcome as ``extras[name]``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any

GROUP = "covalent_core.task_records"
log = logging.getLogger(__name__)


@functools.cache
def _factories() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


@contextlib.contextmanager
def task_records() -> Iterator[Callable[[], dict[str, Any]]]:
    """Open every registered scope; yield a function returning what they collected."""
    with contextlib.ExitStack() as stack:
        scopes: dict[str, list[Any]] = {}
        for name, ep in _factories().items():
            try:
                scopes[name] = stack.enter_context(ep.load()())
            except Exception:
                log.warning("task records plugin %s failed to open", name, exc_info=True)
        yield lambda: {name: list(scope) for name, scope in scopes.items() if scope}
