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

from covalent_core.executor.base import AsyncBaseExecutor
from covalent_core.executor.dask_connection import Connection
from covalent_core.executor.worker import pack_call, pickle_function
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


async def _finished(future: Any) -> None:
    """Wait until a Dask future is done without fetching its data.

    ``distributed.wait`` needs a default client, which we never install (users may have
    their own), so wait on the future's state directly where this Dask version has it.
    """
    state = getattr(future, "_state", None)
    if state is not None and hasattr(state, "wait"):
        await state.wait()


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

    async def _connection(self) -> Connection:
        address = self.scheduler_address or await asyncio.to_thread(local_cluster_address)
        loop = asyncio.get_running_loop()
        # A fan-out's first tasks all ask at once: they share one connecting client.
        connections: dict[Any, asyncio.Task[Connection]] = self.__dict__.setdefault(
            "_connections", {})
        key = (address, loop)
        opening = connections.get(key)
        if opening is None or (opening.done() and opening.exception() is not None):
            opening = connections[key] = loop.create_task(self._open(address))
        return await asyncio.shield(opening)

    async def _open(self, address: str) -> Connection:
        try:
            return await Connection.open(address)
        except (OSError, TimeoutError) as exc:
            where = (f"scheduler_address={address!r}" if self.scheduler_address
                     else f"the local cluster at {address}")
            raise ConnectionError(
                f"DaskExecutor cannot reach the Dask scheduler at {where} ({exc}); start "
                "that scheduler or correct scheduler_address (leave it empty to use a local "
                "cluster started by covalent_core)"
            ) from exc

    async def run(
        self, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any],
        task_metadata: dict[str, Any],
    ) -> Any:
        connection = await self._connection()
        name = getattr(function, "__name__", "task")
        key = f"{name}-{task_metadata.get('node_id')}-{uuid.uuid4().hex[:12]}"
        call_bytes, binding = pack_call(args, kwargs, task_metadata)
        future = await connection.submit(pickle_function(function), call_bytes, key)
        await self.set_job_handle(key)
        try:
            await _finished(future)
            if future.status == "finished":
                data = await connection.fetch(future)
            else:
                data = await future  # raises the worker's error or the cancellation
        except asyncio.CancelledError:
            await connection.client.cancel([future], force=True)
            raise
        return self._deliver(Outcome.from_bytes(data, binding))

    async def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        from distributed import Future

        if not job_handle:
            return False
        client = (await self._connection()).client
        await client.cancel([Future(job_handle, client=client)], force=True)
        return True
