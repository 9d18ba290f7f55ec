"""Per-task capture of stdout/stderr while many tasks share one process.

``contextlib.redirect_stdout`` swaps a process-global, so two electrons running at
once in threads or asyncio tasks would steal each other's prints. Here the global
streams are replaced once by routers that write to the buffer of the *current
context* (a ContextVar, which asyncio tasks and our worker threads each get a copy of).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

_buffers: ContextVar[tuple[io.StringIO, io.StringIO] | None] = ContextVar(
    "covalent_core_task_streams", default=None
)


class _Router(io.TextIOBase):
    def __init__(self, original: TextIO, index: int) -> None:
        self.original = original
        self.index = index

    def write(self, text: str) -> int:
        buffers = _buffers.get()
        target = buffers[self.index] if buffers is not None else self.original
        return target.write(text)

    def flush(self) -> None:
        self.original.flush()

    def fileno(self) -> int:
        return self.original.fileno()

    def isatty(self) -> bool:
        return self.original.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


def _install() -> None:
    if not isinstance(sys.stdout, _Router):
        sys.stdout = _Router(sys.stdout, 0)
    if not isinstance(sys.stderr, _Router):
        sys.stderr = _Router(sys.stderr, 1)


@contextmanager
def capture() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Collect what the current task prints; nested captures get their own buffers."""
    _install()
    buffers = (io.StringIO(), io.StringIO())
    token = _buffers.set(buffers)
    try:
        yield buffers
    finally:
        _buffers.reset(token)


def current() -> tuple[io.StringIO, io.StringIO] | None:
    return _buffers.get()
