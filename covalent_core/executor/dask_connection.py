"""One Dask client per scheduler and event loop, with its traffic batched.

A fan-out's tasks become ready in the same loop tick and finish close together. Sent
one by one, each costs the scheduler a graph update and the client a round trip to
fetch its result; the scheduler of a local cluster shares this process's GIL with the
dispatcher, so that per-task cost is what a fan-out's wall time is made of. The first
task of a loop tick goes at once and the rest of that tick follow as one graph update;
results that finish while a fetch is in flight, or shortly before it while others are
still running, share one fetch.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any
from urllib.parse import urlsplit

from covalent_core.executor.worker import run_payload


def _on_this_host(address: str) -> bool:
    """Workers of a cluster on loopback are reachable, so results skip the scheduler hop."""
    host = urlsplit(address).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


#: While other tasks of this client are still running, a fetch waits this long (seconds)
#: for more results to share it: a fan-out then pays a few fetches instead of dozens.
_GATHER_WINDOW = 0.01


class Connection:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._to_submit: list[tuple[bytes, bytes, str, asyncio.Future[Any]]] = []
        self._batching = False
        self._to_fetch: list[tuple[Any, asyncio.Future[Any]]] = []
        self._fetching: asyncio.Task[None] | None = None
        self._submitted: weakref.WeakSet[Any] = weakref.WeakSet()

    @classmethod
    async def open(cls, address: str) -> Connection:
        from distributed import Client

        client = await Client(
            address, asynchronous=True, set_as_default=False,
            direct_to_workers=_on_this_host(address) or None,
        )
        return cls(client)

    # -- submitting ---------------------------------------------------------------
    def submit(self, function: bytes, call: bytes, key: str) -> asyncio.Future[Any]:
        """The Dask future of ``run_payload(function, call)``, batched with its tick's others."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._to_submit.append((function, call, key, waiter))
        if not self._batching:
            # The first goes at once: held to the next tick, a chain's next link missed
            # the send its parent's release went out in, and waited out the interval.
            self._send()
            self._batching = True
            loop.call_soon(self._end_batch)
        return waiter

    def _end_batch(self) -> None:
        self._batching = False
        self._send()

    def _send(self) -> None:
        batch = [item for item in self._to_submit if not item[3].cancelled()]
        self._to_submit = []
        if not batch:
            return
        functions, calls, keys, waiters = (list(column) for column in zip(*batch, strict=True))
        try:
            futures = self.client.map(run_payload, functions, calls, key=keys, pure=False)
        except Exception as exc:
            for waiter in waiters:
                waiter.set_exception(exc)
            return
        self._submitted.update(futures)
        for waiter, future in zip(waiters, futures, strict=True):
            waiter.set_result(future)

    # -- fetching -------------------------------------------------------------------
    def fetch(self, future: Any) -> asyncio.Future[Any]:
        """The result of a finished Dask future, fetched with the others finishing now."""
        waiter = asyncio.get_running_loop().create_future()
        self._to_fetch.append((future, waiter))
        if self._fetching is None:
            self._fetching = asyncio.ensure_future(self._drain())
        return waiter

    async def _drain(self) -> None:
        try:
            while self._to_fetch:
                await self._gather()
        finally:
            self._fetching = None

    async def _gather(self) -> None:
        await asyncio.sleep(0)  # let results finishing in this same tick join the batch
        if any(f.status == "pending" for f in self._submitted):
            await asyncio.sleep(_GATHER_WINDOW)  # more are about to finish: fetch them together
        batch, self._to_fetch = self._to_fetch, []
        try:
            values = await self.client.gather([f for f, _ in batch])
        except Exception:
            for future, waiter in batch:  # fall back to one by one, errors per task
                try:
                    value = await future
                except Exception as exc:
                    if not waiter.done():
                        waiter.set_exception(exc)
                else:
                    if not waiter.done():
                        waiter.set_result(value)
            return
        for (_, waiter), value in zip(batch, values, strict=True):
            if not waiter.done():
                waiter.set_result(value)
