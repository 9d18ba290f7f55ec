"""Many concurrent requests, few backend calls: the requests that arrive together go together.

Every remote command costs a channel and a login shell (a site's bashrc with module
systems or conda hooks can take most of a second), and every ``sbatch`` costs the
scheduler. So when a hundred electrons become ready at once, their launches are sent
as one command, or one job array. The first request opens a batch; it is sent when
``window`` seconds have passed (0: at once) or it holds ``max_size`` items; requests
made while a batch is being sent wait for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _Batch(Generic[T, R]):
    def __init__(self) -> None:
        self.items: list[T] = []
        self.result: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        self.full = asyncio.Event()
        self.sender: asyncio.Future[None] | None = None


class Coalescer(Generic[T, R]):
    """Calls ``send(items) -> results`` (same order) for requests made close together."""

    def __init__(self, send: Callable[[list[T]], Awaitable[list[R]]], window: float = 0.0,
                 max_size: int = 1000) -> None:
        self._send = send
        self.window = window
        self.max_size = max(1, max_size)
        self._open: _Batch[T, R] | None = None
        self._sending = asyncio.Lock()

    async def __call__(self, item: T) -> R:
        batch = self._open
        if batch is None or len(batch.items) >= self.max_size:
            batch = self._open = _Batch()
            batch.sender = asyncio.ensure_future(self._dispatch(batch))
        index = len(batch.items)
        batch.items.append(item)
        if len(batch.items) >= self.max_size:
            batch.full.set()
        results = await asyncio.shield(batch.result)
        return results[index]

    async def _dispatch(self, batch: _Batch[T, R]) -> None:
        if self.window > 0:
            try:
                await asyncio.wait_for(batch.full.wait(), self.window)
            except asyncio.TimeoutError:
                pass
        async with self._sending:  # one send at a time; later requests gather meanwhile
            if self._open is batch:
                self._open = None
            try:
                results = await self._send(list(batch.items))
                if len(results) != len(batch.items):
                    raise RuntimeError(f"a batch of {len(batch.items)} got {len(results)} results")
            except BaseException as exc:
                batch.result.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                batch.result.set_result(results)
