"""``DaskExecutor``: tasks on a Dask cluster, by default one local cluster per process.

Without a ``scheduler_address`` the executor starts (once) a LocalCluster of worker
processes and every dispatch in this process reuses it, as Covalent's server does.
Clients are kept per scheduler and event loop, because a Dask async client belongs to
the loop it was created on.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import cloudpickle

from covalent_core.executor.base import AsyncBaseExecutor
from covalent_core.executor.worker import pickle_function, run_payload
from covalent_core.remote.package import Outcome

executor_plugin_name = "DaskExecutor"

_cluster: Any = None
_cluster_lock = threading.Lock()


def local_cluster_address() -> str:
    """Start the process-wide LocalCluster on first use (blocking; call from a thread)."""
    global _cluster
    with _cluster_lock:
        if _cluster is None:
            import dask
            from distributed import LocalCluster

            from covalent_core.config import settings
            from covalent_core.executor.local import start_method

            with dask.config.set({"distributed.worker.multiprocessing-method": start_method()}):
                _cluster = LocalCluster(
                    n_workers=settings().dispatcher.dask_workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=40,
                )
            atexit.register(_close_cluster)
        return _cluster.scheduler_address


def _close_cluster() -> None:
    global _cluster
    with _cluster_lock:
        if _cluster is not None:
            _cluster.close()
            _cluster = None


def _on_this_host(address: str) -> bool:
    """Workers of a cluster on loopback are reachable, so results skip the scheduler hop."""
    host = urlsplit(address).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


async def _finished(future: Any) -> None:
    """Wait until a Dask future is done without fetching its data.

    ``distributed.wait`` needs a default client, which we never install (users may have
    their own), so wait on the future's state directly where this Dask version has it.
    """
    state = getattr(future, "_state", None)
    if state is not None and hasattr(state, "wait"):
        await state.wait()


class _Gatherer:
    """Fetches finished results in batches, with one ``gather`` in flight at a time.

    Awaiting each Dask future alone costs one scheduler round trip per task. Results
    that finish while a gather is in flight wait for the next one, so a fan-out's tasks
    share few round trips, and a lone task still goes at once.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.pending: list[tuple[Any, asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    def fetch(self, future: Any) -> asyncio.Future[Any]:
        waiter = asyncio.get_running_loop().create_future()
        self.pending.append((future, waiter))
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._drain())
        return waiter

    async def _drain(self) -> None:
        try:
            while self.pending:
                await self._flush()
        finally:
            self._flushing = None

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let results finishing in this same tick join the batch
        batch, self.pending = self.pending, []
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


class DaskExecutor(AsyncBaseExecutor):
    def __init__(
        self,
        scheduler_address: str = "",
        log_stdout: str = "",
        log_stderr: str = "",
        cache_dir: str = "",
        time_limit: float = -1,
        retries: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(log_stdout, log_stderr, cache_dir, time_limit, retries, **kwargs)
        self.scheduler_address = scheduler_address

    def short_name(self) -> str:
        return "dask"

    async def _client(self) -> Any:
        from distributed import Client

        address = self.scheduler_address or await asyncio.to_thread(local_cluster_address)
        loop = asyncio.get_running_loop()
        clients: dict[Any, Any] = self.__dict__.setdefault("_clients", {})
        key = (address, loop)
        if key not in clients:
            clients[key] = await Client(
                address, asynchronous=True, set_as_default=False,
                direct_to_workers=_on_this_host(address) or None,
            )
        return clients[key]

    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        client = await self._client()
        call = (pickle_function(function), cloudpickle.dumps((args, kwargs)))
        name = getattr(function, "__name__", "task")
        key = f"{name}-{task_metadata.get('node_id')}-{uuid.uuid4().hex[:12]}"
        future = client.submit(run_payload, *call, key=key, pure=False)
        await self.set_job_handle(key)
        try:
            await _finished(future)
            if future.status == "finished":
                data = await self._gatherer(client).fetch(future)
            else:
                data = await future  # raises the worker's error or the cancellation
        except asyncio.CancelledError:
            await client.cancel([future], force=True)
            raise
        return self._deliver(Outcome.from_bytes(data))

    def _gatherer(self, client: Any) -> _Gatherer:
        gatherers: dict[Any, _Gatherer] = self.__dict__.setdefault("_gatherers", {})
        if client not in gatherers:
            gatherers[client] = _Gatherer(client)
        return gatherers[client]

    async def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        from distributed import Future

        if not job_handle:
            return False
        client = await self._client()
        await client.cancel([Future(job_handle, client=client)], force=True)
        return True
