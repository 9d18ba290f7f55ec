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
            clients[key] = await Client(address, asynchronous=True, set_as_default=False)
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
            data = await future
        except asyncio.CancelledError:
            await client.cancel([future], force=True)
            raise
        return self._deliver(Outcome.from_bytes(data))

    async def cancel(self, task_metadata: dict[str, Any], job_handle: Any) -> bool:
        from distributed import Future

        if not job_handle:
            return False
        client = await self._client()
        await client.cancel([Future(job_handle, client=client)], force=True)
        return True
