"""Which graph, if any, is being built on this thread right now."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from covalent_core.workflow.graph import TransportGraph

_active: ContextVar[TransportGraph | None] = ContextVar("covalent_core_active_graph", default=None)


def current_graph() -> TransportGraph | None:
    return _active.get()


@contextmanager
def tracing(graph: TransportGraph) -> Iterator[TransportGraph]:
    token = _active.set(graph)
    try:
        yield graph
    finally:
        _active.reset(token)
