"""``AzureBatchExecutor``: each task one Azure Batch task, shipped through Blob Storage.

All tasks of one executor go into one Batch job (``job_id``, bound to ``pool_id``), so
one ListTasks call per round answers for every task in flight; a task is deleted once
its outcome is read, which keeps that list short. The package and outcome live in
``<storage_container>/<dispatch>/<node>/<key>/``; the task gets SAS URLs for exactly
those blobs. The handle (job, task, blob prefix) is saved the moment the task exists,
so a resumed dispatch reattaches instead of submitting again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

from azure.batch import models
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobSasPermissions
from pydantic import SecretStr

from covalent_azure import entrypoint, tasks
from covalent_azure.clients import AzureClients
from covalent_azure.errors import explain
from covalent_core.config import executor_config
from covalent_core.errors import ExecutorConfigError, TaskCancelledError
from covalent_core.executor.remote import CANCELLED, FAILED, LOST, Handle, JobState, RemoteExecutor
from covalent_core.remote.package import Outcome, RemoteError, TaskPackage

log = logging.getLogger(__name__)

executor_plugin_name = "AzureBatchExecutor"
_EXECUTOR_PLUGIN_DEFAULTS: dict[str, Any] = {
    "tenant_id": "",
    "client_id": "",
    "client_secret": "",
    "batch_account_url": "",
    "batch_account_domain": "batch.core.windows.net",
    "storage_account_name": "",
    "storage_account_domain": "blob.core.windows.net",
    "pool_id": "",
    "base_image_uri": "",
    "retries": 3,
    "time_limit": 300,
    "poll_freq": 10,
    "batch_account_name": "",
    "batch_account_key": "",
    "storage_account_key": "",
    "storage_account_url": "",
    "storage_container": "covalent",
    "job_id": "",
}
SECRETS = ("client_secret", "batch_account_key", "storage_account_key")
REQUIRED = ("batch_account_url", "storage_account_name", "pool_id", "base_image_uri")
LOG_LINES_IN_ERROR = 5
_READ = BlobSasPermissions(read=True)
_WRITE = BlobSasPermissions(create=True, write=True)


class AzureBatchExecutor(RemoteExecutor):
    """Run electrons as Azure Batch tasks on an existing pool.

    Parameters left as ``None`` come from ``[executors.azurebatch]`` of the config file
    (or ``COVALENT_CORE_EXECUTORS__AZUREBATCH__<KEY>``), then from the defaults above.
    ``client_secret`` and the account keys are kept as ``SecretStr`` and never appear
    in ``to_dict()``, a pickle, a task package or a log. Without a key or a service
    principal, azure-identity's ``DefaultAzureCredential`` is used. ``retries`` is how
    often the dispatcher runs a failed task again. ``storage_account_url`` and
    ``batch_account_name`` point the executor at emulators.
    """

    SECRET_ATTRIBUTES = frozenset(SECRETS)

    def __init__(
        self,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        batch_account_url: str | None = None,
        batch_account_domain: str | None = None,
        storage_account_name: str | None = None,
        storage_account_domain: str | None = None,
        pool_id: str | None = None,
        base_image_uri: str | None = None,
        retries: int | None = None,
        time_limit: float | None = None,
        poll_freq: float | None = None,
        batch_account_name: str | None = None,
        batch_account_key: str | SecretStr | None = None,
        storage_account_key: str | SecretStr | None = None,
        storage_account_url: str | None = None,
        storage_container: str | None = None,
        job_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = dict(locals())
        configured = {**_EXECUTOR_PLUGIN_DEFAULTS, **executor_config("azurebatch")}

        def pick(name: str) -> Any:
            return given[name] if given[name] is not None else configured[name]

        super().__init__(time_limit=float(pick("time_limit")),
                         retries=_count("retries", pick("retries")), **kwargs)
        for name in ("tenant_id", "client_id", "batch_account_url", "batch_account_domain",
                     "storage_account_name", "storage_account_domain", "pool_id",
                     "base_image_uri", "batch_account_name", "storage_account_url",
                     "storage_container"):
            setattr(self, name, str(pick(name)))
        self.poll_freq = float(pick("poll_freq"))
        self.job_id = str(pick("job_id")) or (f"covalent-{self.pool_id}" if self.pool_id else "")
        for name in SECRETS:
            value = pick(name)
            setattr(self, name, value if isinstance(value, SecretStr) else SecretStr(str(value)))

    def short_name(self) -> str:
        return "azurebatch"

    # -- clients and per-process state (never pickled, never in to_dict) ----------
    @property
    def _azure(self) -> AzureClients:
        clients = self.__dict__.get("_clients")
        if clients is None:
            # After unpickling (secrets are never pickled) they come from the config again.
            configured = {**_EXECUTOR_PLUGIN_DEFAULTS, **executor_config("azurebatch")}
            for name in SECRETS:
                self.__dict__.setdefault(name, SecretStr(str(configured[name])))
            clients = self.__dict__["_clients"] = AzureClients(self)
        return clients

    def _memo(self, name: str) -> Any:
        return self.__dict__.setdefault(name, set() if name == "_cancelled" else {})

    def _check_settings(self) -> None:
        missing = [name for name in REQUIRED if not getattr(self, name)]
        if missing:
            first = missing[0]
            raise ExecutorConfigError(
                f"AzureBatchExecutor needs {', '.join(missing)}: pass it to the constructor, "
                f"or run `covalent-core config set executors.azurebatch.{first} VALUE`, or set "
                f"COVALENT_CORE_EXECUTORS__AZUREBATCH__{first.upper()}"
            )

    def _prepare(self) -> None:
        """Once per process: the pool must exist; the job and the container are made if not."""
        lock = self.__dict__.setdefault("_prepare_lock", threading.Lock())
        with lock:
            if self.__dict__.get("_prepared"):
                return
            azure = self._azure
            try:
                azure.batch.get_pool(self.pool_id, select=["id"])
            except ResourceNotFoundError:
                raise ExecutorConfigError(
                    f"pool_id={self.pool_id!r} does not exist in {self.batch_account_url}. "
                    "Create the pool (with a container configuration that can pull "
                    "base_image_uri) or fix pool_id"
                ) from None
            except AzureError as exc:
                raise explain(exc, self, "checking pool_id")
            job = models.BatchJobCreateOptions(
                id=self.job_id, pool_info=models.BatchPoolInfo(pool_id=self.pool_id)
            )
            try:
                azure.batch.create_job(job)
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise explain(exc, self, f"creating job {self.job_id}")
            try:
                azure.blobs.create_container(self.storage_container)
            except ResourceExistsError:
                pass
            except AzureError as exc:
                raise explain(exc, self, f"creating container {self.storage_container}")
            self.__dict__["_prepared"] = True

    # -- the remote split ----------------------------------------------------------
    async def submit(self, task: TaskPackage) -> Handle:
        self._check_settings()
        await asyncio.to_thread(self._prepare)
        meta = task.metadata
        key = uuid.uuid4().hex[:8]
        task_id = tasks.task_id(meta, key)
        prefix = "/".join([str(meta.get("dispatch_id", "adhoc")), str(meta.get("node_id", 0)),
                           key])
        data = await asyncio.to_thread(task.to_bytes)
        await asyncio.to_thread(self._upload, f"{prefix}/{entrypoint.TASK}", data)
        spec = tasks.build(task=task_id, image=self.base_image_uri,
                           env=self._blob_urls(prefix), time_limit=self.time_limit)
        creating = asyncio.ensure_future(asyncio.to_thread(self._create_task, spec))
        handle = {"job": self.job_id, "task": task_id, "container": self.storage_container,
                  "prefix": prefix}
        try:
            await asyncio.shield(creating)
        except asyncio.CancelledError:
            # Cancelled while the request was in flight: the task may exist; don't orphan it.
            loop = asyncio.get_running_loop()
            creating.add_done_callback(
                lambda done: done.exception() is None
                and loop.run_in_executor(None, self._terminate, handle)
            )
            raise
        if await self.get_cancel_requested():
            await self.cancel_job(handle)
            raise TaskCancelledError(f"cancelled while task {task_id} was being created")
        return handle

    def _blob_urls(self, prefix: str) -> dict[str, str]:
        sas = self._azure.sas_url
        container = self.storage_container
        return {
            entrypoint.TASK_URL_ENV: sas(container, f"{prefix}/{entrypoint.TASK}", _READ),
            entrypoint.OUTCOME_URL_ENV: sas(container, f"{prefix}/{entrypoint.OUTCOME}", _WRITE),
            entrypoint.STDOUT_URL_ENV: sas(container, f"{prefix}/{entrypoint.STDOUT}", _WRITE),
            entrypoint.STDERR_URL_ENV: sas(container, f"{prefix}/{entrypoint.STDERR}", _WRITE),
        }

    def _upload(self, blob: str, data: bytes) -> None:
        try:
            self._azure.blobs.get_blob_client(self.storage_container, blob).upload_blob(data)
        except AzureError as exc:
            raise explain(exc, self, f"uploading the task package to {self.storage_container}")

    def _create_task(self, spec: models.BatchTaskCreateOptions) -> None:
        try:
            self._azure.batch.create_task(self.job_id, spec)
        except ResourceExistsError:  # a retried request that had gone through: it is ours
            pass
        except AzureError as exc:
            raise explain(exc, self, f"adding task {spec.id} to job {self.job_id}")

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        return await asyncio.to_thread(self._poll, handles)

    def _poll(self, handles: list[Handle]) -> list[JobState]:
        found: dict[tuple[str, str], models.BatchTask] = {}
        for job in sorted({h["job"] for h in handles}):
            for task in self._azure.batch.list_tasks(job, select=["id", "state", "executionInfo"]):
                found[(job, task.id)] = task
        cancelled = self._memo("_cancelled")
        reasons = self._memo("_reasons")
        states = []
        for handle in handles:
            task = found.get((handle["job"], handle["task"]))
            if task is None:
                state = (JobState(CANCELLED, "task deleted on request")
                         if handle["task"] in cancelled else
                         JobState(LOST, f"task {handle['task']} is gone from job {handle['job']}"))
            else:
                state = tasks.state_of(task)
                if state.status == FAILED and handle["task"] in cancelled:
                    state = JobState(CANCELLED, state.reason)
            reasons[handle["task"]] = state.reason
            states.append(state)
        return states

    async def fetch(self, handle: Handle) -> Outcome:
        return await asyncio.to_thread(self._fetch, handle)

    def _fetch(self, handle: Handle) -> Outcome:
        blobs = self._azure.blobs
        blob = blobs.get_blob_client(handle["container"],
                                     f"{handle['prefix']}/{entrypoint.OUTCOME}")
        try:
            outcome = Outcome.from_bytes(blob.download_blob().readall())
        except ResourceNotFoundError:
            outcome = self._without_outcome(handle)
        try:  # read: the task's record has served its purpose
            self._azure.batch.delete_task(handle["job"], handle["task"])
        except AzureError as exc:
            log.info("could not delete task %s: %s", handle["task"], exc)
        return outcome

    def _without_outcome(self, handle: Handle) -> Outcome:
        """The task died before the runner wrote an outcome: report its streams and logs."""
        streams = []
        for name in (entrypoint.STDOUT, entrypoint.STDERR):
            blob = self._azure.blobs.get_blob_client(handle["container"],
                                                     f"{handle['prefix']}/{name}")
            try:
                streams.append(blob.download_blob().readall().decode(errors="replace"))
            except ResourceNotFoundError:
                streams.append("")
        node_log = self._task_files(handle)
        reason = self._memo("_reasons").get(handle["task"]) or "no status detail"
        message = f"task {handle['task']} of job {handle['job']} ended without an outcome: {reason}"
        if node_log:
            tail = "\n".join(node_log.splitlines()[-LOG_LINES_IN_ERROR:])
            message += f"\nlast lines of its output on the node:\n{tail}"
            streams[1] += (f"\n--- task output on the node (stdout.txt, stderr.txt) ---\n"
                           f"{node_log}\n")
        return Outcome(False, exception=RemoteError(message), stdout=streams[0],
                       stderr=streams[1])

    def _task_files(self, handle: Handle) -> str:
        texts = []
        for name in ("stdout.txt", "stderr.txt"):
            try:
                chunks = self._azure.batch.download_task_file(handle["job"], handle["task"], name)
                texts.append(b"".join(chunks).decode(errors="replace"))
            except AzureError as exc:  # the node may be gone already
                log.info("could not read %s of task %s: %s", name, handle["task"], exc)
        return "".join(texts).strip()

    async def cancel_job(self, handle: Handle) -> None:
        self._memo("_cancelled").add(handle["task"])
        await asyncio.to_thread(self._terminate, handle)

    def _terminate(self, handle: Handle) -> None:
        try:
            self._azure.batch.terminate_task(handle["job"], handle["task"])
        except (ResourceNotFoundError, ResourceExistsError):  # gone, or completed already
            pass


def _count(name: str, value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return number
