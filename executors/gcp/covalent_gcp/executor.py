"""``GCPBatchExecutor``: each task one Google Cloud Batch job, shipped through Cloud Storage.

The task package goes to ``gs://<bucket_name>/<storage_prefix>/<dispatch>/<node>/<key>/``,
a one-task job runs the package's container entrypoint on it, and the outcome comes
back from the same place. The handle (job name, storage prefix) is saved the moment
the job exists, so a resumed dispatch reattaches instead of submitting again. Status
is one ListJobs call per round for every job of the executor's dispatches in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud import batch_v1, storage

from covalent_core.config import executor_config
from covalent_core.errors import ExecutorConfigError, TaskCancelledError
from covalent_core.executor.remote import CANCELLED, LOST, Handle, JobState, RemoteExecutor
from covalent_core.remote.entrypoint import NO_OUTCOME
from covalent_core.remote.package import Outcome, RemoteError, TaskPackage
from covalent_gcp import entrypoint, jobs
from covalent_gcp.clients import GoogleClients, transient_retry
from covalent_gcp.errors import explain

log = logging.getLogger(__name__)

executor_plugin_name = "GCPBatchExecutor"
_EXECUTOR_PLUGIN_DEFAULTS: dict[str, Any] = {
    "bucket_name": "",
    "project_id": "",
    "region": "",
    "container_image_uri": "",
    "service_account_email": "",
    "vcpus": 2,
    "memory": 512,
    "time_limit": 300,
    "poll_freq": 5,
    "retries": 3,
    "credentials_file": "",
    "anonymous": False,
    "batch_endpoint": "",
    "storage_endpoint": "",
    "logging_endpoint": "",
    "storage_prefix": "covalent",
}
REQUIRED = ("bucket_name", "project_id", "region", "container_image_uri")
LOG_LINES_IN_ERROR = 5
#: Seconds to wait for a dead job's last log line to show in Cloud Logging.
LOG_SETTLE = 15.0


class GCPBatchExecutor(RemoteExecutor):
    """Run electrons as Google Cloud Batch jobs.

    Parameters left as ``None`` come from ``[executors.gcpbatch]`` of the config file
    (or ``COVALENT_CORE_EXECUTORS__GCPBATCH__<KEY>``), then from the defaults above.
    ``memory`` is in MiB. ``retries`` is how often the dispatcher runs a failed task
    again. ``credentials_file`` is a service-account key (default: Application Default
    Credentials); ``anonymous`` and the ``*_endpoint`` options point the clients at
    emulators.
    """

    def __init__(
        self,
        bucket_name: str | None = None,
        project_id: str | None = None,
        region: str | None = None,
        container_image_uri: str | None = None,
        service_account_email: str | None = None,
        vcpus: int | None = None,
        memory: int | None = None,
        time_limit: float | None = None,
        poll_freq: float | None = None,
        retries: int | None = None,
        credentials_file: str | None = None,
        anonymous: bool | None = None,
        batch_endpoint: str | None = None,
        storage_endpoint: str | None = None,
        logging_endpoint: str | None = None,
        storage_prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        given = dict(locals())
        configured = {**_EXECUTOR_PLUGIN_DEFAULTS, **executor_config("gcpbatch")}

        def pick(name: str) -> Any:
            return given[name] if given[name] is not None else configured[name]

        super().__init__(time_limit=float(pick("time_limit")),
                         retries=_count("retries", pick("retries"), 0), **kwargs)
        self.bucket_name = str(pick("bucket_name"))
        self.project_id = str(pick("project_id"))
        self.region = str(pick("region"))
        self.container_image_uri = str(pick("container_image_uri"))
        self.service_account_email = str(pick("service_account_email"))
        self.vcpus = _count("vcpus", pick("vcpus"), 1)
        self.memory = _count("memory", pick("memory"), 1)
        self.poll_freq = float(pick("poll_freq"))
        self.credentials_file = str(pick("credentials_file"))
        self.anonymous = _flag("anonymous", pick("anonymous"))
        self.batch_endpoint = str(pick("batch_endpoint"))
        self.storage_endpoint = str(pick("storage_endpoint"))
        self.logging_endpoint = str(pick("logging_endpoint"))
        self.storage_prefix = str(pick("storage_prefix")).strip("/")

    def short_name(self) -> str:
        return "gcpbatch"

    # -- clients and per-process state (never pickled, never in to_dict) ----------
    @property
    def _google(self) -> GoogleClients:
        clients = self.__dict__.get("_clients")
        if clients is None:
            clients = self.__dict__["_clients"] = GoogleClients(
                self.project_id, self.credentials_file, self.anonymous,
                self.batch_endpoint, self.storage_endpoint, self.logging_endpoint,
            )
        return clients

    def _memo(self, name: str) -> Any:
        return self.__dict__.setdefault(name, set() if name == "_cancelled" else {})

    @property
    def _parent(self) -> str:
        return f"projects/{self.project_id}/locations/{self.region}"

    def _check_settings(self) -> None:
        missing = [name for name in REQUIRED if not getattr(self, name)]
        if missing:
            first = missing[0]
            raise ExecutorConfigError(
                f"GCPBatchExecutor needs {', '.join(missing)}: pass it to the constructor, "
                f"or run `covalent-core config set executors.gcpbatch.{first} VALUE`, or set "
                f"COVALENT_CORE_EXECUTORS__GCPBATCH__{first.upper()}"
            )

    # -- the remote split ----------------------------------------------------------
    async def submit(self, task: TaskPackage) -> Handle:
        self._check_settings()
        meta = task.metadata
        key = uuid.uuid4().hex[:8]
        prefix = "/".join([self.storage_prefix, str(meta.get("dispatch_id", "adhoc")),
                           str(meta.get("node_id", 0)), key])
        data = await asyncio.to_thread(task.to_bytes)
        await asyncio.to_thread(self._upload, f"{prefix}/{entrypoint.TASK}", data)
        dispatch = jobs.label_value(str(meta.get("dispatch_id", "adhoc")))
        env = {entrypoint.BUCKET_ENV: self.bucket_name, entrypoint.PREFIX_ENV: prefix}
        if self.storage_endpoint:
            env[entrypoint.ENDPOINT_ENV] = self.storage_endpoint
        job = jobs.build(
            image=self.container_image_uri, env=env, vcpus=self.vcpus, memory=self.memory,
            labels={jobs.DISPATCH_LABEL: dispatch,
                    "covalent_node": jobs.label_value(str(meta.get("node_id", 0)))},
            time_limit=self.time_limit, service_account_email=self.service_account_email,
        )
        name = f"{self._parent}/jobs/{jobs.job_id(meta, key)}"
        creating = asyncio.ensure_future(asyncio.to_thread(self._create, name, job))
        try:
            created = await asyncio.shield(creating)
        except asyncio.CancelledError:
            # Cancelled while the request was in flight: the job may exist; don't orphan it.
            loop = asyncio.get_running_loop()
            creating.add_done_callback(
                lambda done: done.exception() is None
                and loop.run_in_executor(None, self._delete, name)
            )
            raise
        handle = {"job": created.name, "uid": created.uid, "bucket": self.bucket_name,
                  "prefix": prefix, "dispatch": dispatch}
        if await self.get_cancel_requested():
            await self.cancel_job(handle)
            raise TaskCancelledError(f"cancelled while job {created.name} was being created")
        return handle

    def _upload(self, blob_name: str, data: bytes) -> None:
        bucket = self._google.storage.bucket(self.bucket_name)
        try:
            bucket.blob(blob_name).upload_from_string(
                data, if_generation_match=0, retry=storage.retry.DEFAULT_RETRY
            )
        except gexc.GoogleAPICallError as exc:
            raise explain(exc, self, f"uploading the task package to gs://{self.bucket_name}")

    def _create(self, name: str, job: batch_v1.Job) -> batch_v1.Job:
        request = batch_v1.CreateJobRequest(
            parent=self._parent, job_id=name.rsplit("/", 1)[1], job=job
        )
        try:
            return self._google.batch.create_job(request=request, retry=transient_retry())
        except gexc.AlreadyExists:  # a retried request that had gone through: the job is ours
            return self._google.batch.get_job(name=name, retry=transient_retry())
        except (gexc.GoogleAPICallError, gexc.RetryError) as exc:
            raise explain(exc, self, "creating the Batch job")

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        return await asyncio.to_thread(self._poll, handles)

    def _poll(self, handles: list[Handle]) -> list[JobState]:
        by_parent: dict[str, set[str]] = defaultdict(set)
        for handle in handles:
            by_parent[handle["job"].split("/jobs/")[0]].add(handle["dispatch"])
        found: dict[str, batch_v1.Job] = {}
        for parent, dispatches in by_parent.items():
            condition = " OR ".join(
                f'labels.{jobs.DISPATCH_LABEL}="{d}"' for d in sorted(dispatches)
            )
            request = batch_v1.ListJobsRequest(parent=parent, filter=condition)
            for job in self._google.batch.list_jobs(request=request, retry=transient_retry(30)):
                found[job.name] = job
        reasons = self._memo("_reasons")
        states = []
        for handle in handles:
            job = found.get(handle["job"])
            if job is None:
                job = self._get(handle["job"])
            state = self._missing(handle) if job is None else jobs.state_of(job)
            reasons[handle["job"]] = state.reason
            states.append(state)
        return states

    def _get(self, name: str) -> batch_v1.Job | None:
        """A job the list did not show: ask for it by name before calling it gone."""
        try:
            return self._google.batch.get_job(name=name, retry=transient_retry(30))
        except gexc.NotFound:
            return None

    def _missing(self, handle: Handle) -> JobState:
        if handle["job"] in self._memo("_cancelled"):
            return JobState(CANCELLED, "job deleted on request")
        return JobState(LOST, f"job {handle['job']} no longer exists (deleted outside covalent?)")

    async def fetch(self, handle: Handle) -> Outcome:
        return await asyncio.to_thread(self._fetch, handle)

    def _fetch(self, handle: Handle) -> Outcome:
        bucket = self._google.storage.bucket(handle["bucket"])
        prefix = handle["prefix"]
        try:
            data = bucket.blob(f"{prefix}/{entrypoint.OUTCOME}").download_as_bytes(
                retry=storage.retry.DEFAULT_RETRY
            )
        except gexc.NotFound:
            return self._without_outcome(handle, bucket)
        return Outcome.from_bytes(data)

    def _without_outcome(self, handle: Handle, bucket: storage.Bucket) -> Outcome:
        """The job died before the runner wrote an outcome: report its streams and logs."""
        streams, uploaded = [], False
        for name in (entrypoint.STDOUT, entrypoint.STDERR):
            try:
                streams.append(bucket.blob(f"{handle['prefix']}/{name}").download_as_text())
                uploaded = True
            except gexc.NotFound:
                streams.append("")
        job_log = self._job_log(handle, settle=uploaded)
        reason = self._memo("_reasons").get(handle["job"]) or "no status detail"
        message = f"job {handle['job']} ended without an outcome: {reason}"
        if job_log:
            tail = "\n".join(job_log.splitlines()[-LOG_LINES_IN_ERROR:])
            message += f"\nlast lines of its Cloud Logging log:\n{tail}"
            streams[1] += f"\n--- job log (Cloud Logging) ---\n{job_log}\n"
        return Outcome(False, exception=RemoteError(message), stdout=streams[0],
                       stderr=streams[1])

    def _job_log(self, handle: Handle, settle: bool) -> str:
        """The job's Cloud Logging lines.

        Cloud Logging shows lines some seconds after they are written. An entrypoint that
        uploaded the streams logs NO_OUTCOME after that, so with ``settle`` that line is
        awaited (up to LOG_SETTLE seconds) to show the whole story.
        """
        project = handle["job"].split("/")[1]
        condition = (f'logName="projects/{project}/logs/batch_task_logs" AND '
                     f'labels.job_uid="{handle["uid"]}"')
        settled_by = time.monotonic() + LOG_SETTLE
        while True:
            try:
                entries = self._google.logging.list_entries(
                    resource_names=[f"projects/{project}"], filter_=condition, max_results=1000
                )
                text = "\n".join(str(entry.payload) for entry in entries)
            except Exception as exc:  # a courtesy; reading them needs roles/logging.viewer
                log.warning("could not read the Cloud Logging log of %s: %s", handle["job"], exc)
                return ""
            if not settle or NO_OUTCOME in text or time.monotonic() >= settled_by:
                return text
            time.sleep(0.5)

    async def cancel_job(self, handle: Handle) -> None:
        self._memo("_cancelled").add(handle["job"])
        await asyncio.to_thread(self._delete, handle["job"])

    def _delete(self, name: str) -> None:
        try:
            self._google.batch.delete_job(name=name, retry=transient_retry(60))
        except gexc.NotFound:
            pass


def _flag(name: str, value: Any) -> bool:
    """Booleans arrive as strings from environment overrides."""
    if isinstance(value, str):
        if value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if value.strip().lower() in ("", "0", "false", "no", "off"):
            return False
        raise ValueError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def _count(name: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = minimum - 1
    if number < minimum or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number
