"""A fake of the Google Cloud Batch REST API (and the Cloud Logging read it feeds).

This is a fake, not an emulator: Google ships none for Batch. It serves the calls
``covalent_gcp`` makes through the real ``google-cloud-batch`` client (REST transport,
``client_options.api_endpoint``, ``AnonymousCredentials``): CreateJob, GetJob,
ListJobs (with a ``labels.KEY="VALUE" OR ...`` filter) and DeleteJob, plus Cloud
Logging's ``entries:list`` for the task logs. Each job's container runs as a local
process through the compute agent (``covalent_testing.compute``): the executor's real
entrypoint really downloads the package from the storage emulator, runs the task and
uploads the outcome. ``maxRunDuration`` is enforced by killing the process. Log lines
show LOG_LAG seconds after the process wrote them, as Cloud Logging's ingestion lags.

Run ``python -m covalent_testing.gcp_batch --workdir DIR`` (prints its port) or use
``FakeGCPBatch`` as a context manager.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from covalent_testing import compute
from covalent_testing.fake_server import FakeHandler, FakeProcess, FakeState, serve

_JOB = re.compile(r"^/v1/projects/([^/]+)/locations/([^/]+)/jobs(?:/([^/:]+))?$")
_LABEL_TERM = re.compile(r'labels\.(?:"([^"]+)"|([\w-]+))\s*=\s*"([^"]*)"')
_JOB_ID = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


#: Seconds before a task's output line shows in Cloud Logging.
LOG_LAG = 1.0


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return _iso(time.time())


def _error(code: int, status: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return code, {"error": {"code": code, "message": message, "status": status}}, {}


class BatchState(FakeState):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.jobs: dict[str, dict[str, Any]] = {}
        self.deleting: set[str] = set()
        self.task_logs = TaskLogs(self.compute)


class TaskLogs:
    """Each job's output lines as Cloud Logging shows them: LOG_LAG seconds after written.

    Real ingestion lags too, so a job's last lines may land after its state is final.
    A watcher notes when each line appeared in the job's stdout/stderr files.
    """

    def __init__(self, agent: compute.ComputeAgent) -> None:
        self._agent = agent
        self._lines: dict[str, list[tuple[float, str, str]]] = {}
        self._read: dict[Path, int] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, daemon=True).start()

    def visible(self, key: str) -> list[tuple[float, str, str]]:
        """(appeared at, severity, text) of the job's lines old enough to show."""
        shown_before = time.time() - LOG_LAG
        with self._lock:
            return [line for line in self._lines.get(key, []) if line[0] <= shown_before]

    def _watch(self) -> None:
        while True:
            for key, job in list(self._agent.jobs.items()):
                ended = job.done
                for path, severity in ((job.stdout_path, "INFO"), (job.stderr_path, "ERROR")):
                    self._take(key, path, severity, whole=ended)
            time.sleep(0.1)

    def _take(self, key: str, path: Path, severity: str, whole: bool) -> None:
        start = self._read.get(path, 0)
        try:
            with path.open("rb") as fh:
                fh.seek(start)
                chunk = fh.read()
        except FileNotFoundError:
            return
        if not whole:  # a line still being written shows once it is complete
            chunk = chunk[: chunk.rfind(b"\n") + 1]
        if not chunk:
            return
        self._read[path] = start + len(chunk)
        now = time.time()
        with self._lock:
            self._lines.setdefault(key, []).extend(
                (now, severity, line) for line in chunk.decode(errors="replace").splitlines())


class BatchHandler(FakeHandler):
    state: BatchState

    def fault_body(self, status: int) -> Any:
        code = {429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(status, "INTERNAL")
        return _error(status, code, f"injected fault ({code})")[1]

    def route(
        self, method: str, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/v2/entries:list" and method == "POST":
            return self._list_entries(body)
        match = _JOB.match(path)
        if not match:
            return _error(404, "NOT_FOUND", f"no route {method} {path}")
        project, region, job_id = match.groups()
        parent = f"projects/{project}/locations/{region}"
        if job_id is None and method == "POST":
            return self._create(parent, query.get("jobId") or query.get("job_id", ""), body)
        if job_id is None and method == "GET":
            return 200, {"jobs": self._list(parent, query.get("filter", ""))}, {}
        name = f"{parent}/jobs/{job_id}"
        if method == "GET":
            job = self._view(name)
            return (200, job, {}) if job else _error(404, "NOT_FOUND", f"Job {name} not found")
        if method == "DELETE":
            return self._delete(name)
        return _error(405, "UNIMPLEMENTED", f"{method} {path}")

    # -- jobs --------------------------------------------------------------------
    def _create(self, parent: str, job_id: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        if not _JOB_ID.match(job_id):
            return _error(400, "INVALID_ARGUMENT", f"job_id {job_id!r} does not match "
                                                   "^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
        name = f"{parent}/jobs/{job_id}"
        try:
            spec = body["taskGroups"][0]["taskSpec"]
            container = spec["runnables"][0]["container"]
        except (KeyError, IndexError):
            return _error(400, "INVALID_ARGUMENT", "taskGroups[0].taskSpec.runnables[0]"
                                                   ".container is required")
        with self.state.lock:
            if name in self.state.jobs:
                return _error(409, "ALREADY_EXISTS", f"Job {name} already exists")
            job = {**body, "name": name, "uid": f"{job_id[:40]}-{uuid.uuid4().hex[:8]}",
                   "createTime": _now(), "updateTime": _now()}
            self.state.jobs[name] = job
        argv = [*([container["entrypoint"]] if container.get("entrypoint") else []),
                *container.get("commands", [])]
        env = dict(spec.get("environment", {}).get("variables", {}))
        env.update({"BATCH_JOB_UID": job["uid"], "BATCH_TASK_INDEX": "0"})
        limit = spec.get("maxRunDuration")
        seconds = float(limit.rstrip("s")) if limit else None
        self.state.compute.start(name, argv, env, seconds)
        return 200, self._view(name), {}

    def _view(self, name: str) -> dict[str, Any] | None:
        with self.state.lock:
            job = self.state.jobs.get(name)
            if job is None:
                return None
            local = self.state.compute.jobs.get(name)
            job = dict(job)
        job["status"] = _status(local, name in self.state.deleting)
        return job

    def _list(self, parent: str, filter_: str) -> list[dict[str, Any]]:
        wanted = [(a or b, v) for a, b, v in _LABEL_TERM.findall(filter_)]
        with self.state.lock:
            names = [n for n in self.state.jobs if n.startswith(parent + "/")]
        out = []
        for name in names:
            job = self._view(name)
            if job is None:
                continue
            labels = job.get("labels", {})
            if not wanted or any(labels.get(k) == v for k, v in wanted):
                out.append(job)
        return out

    def _delete(self, name: str) -> tuple[int, Any, Any]:
        with self.state.lock:
            if name not in self.state.jobs:
                return _error(404, "NOT_FOUND", f"Job {name} not found")
            self.state.deleting.add(name)
        local = self.state.compute.jobs.get(name)
        if local is not None:
            self.state.compute.kill(local, compute.KILLED, "job deleted")
        threading.Thread(target=self._forget_when_stopped, args=(name,), daemon=True).start()
        operation = name.split("/jobs/")[0] + f"/operations/op-{uuid.uuid4().hex[:12]}"
        return 200, {"name": operation, "done": False}, {}

    def _forget_when_stopped(self, name: str) -> None:
        local = self.state.compute.jobs.get(name)
        while local is not None and local.process is not None and local.process.poll() is None:
            time.sleep(0.05)
        with self.state.lock:
            self.state.jobs.pop(name, None)
            self.state.deleting.discard(name)

    # -- Cloud Logging -----------------------------------------------------------
    def _list_entries(self, body: dict[str, Any]) -> tuple[int, Any, Any]:
        match = re.search(r'labels\.job_uid\s*=\s*"([^"]+)"', body.get("filter", ""))
        if not match:
            return 200, {"entries": []}, {}
        with self.state.lock:
            jobs = [(n, j) for n, j in self.state.jobs.items() if j["uid"] == match.group(1)]
        entries = []
        for name, job in jobs:
            project = name.split("/")[1]
            for at, severity, line in self.state.task_logs.visible(name):
                entries.append({
                    "logName": f"projects/{project}/logs/batch_task_logs",
                    "resource": {"type": "generic_task", "labels": {"job": job["uid"]}},
                    "textPayload": line, "severity": severity, "timestamp": _iso(at),
                    "labels": {"job_uid": job["uid"],
                               "task_id": f"task/{job['uid']}-group0-0/0/0"},
                })
        return 200, {"entries": entries}, {}


def _status(local: compute.LocalJob | None, deleting: bool) -> dict[str, Any]:
    if deleting:
        return {"state": "DELETION_IN_PROGRESS", "statusEvents": []}
    if local is None:
        return {"state": "QUEUED", "statusEvents": []}
    state = {
        compute.QUEUED: "QUEUED", compute.RUNNING: "RUNNING", compute.SUCCEEDED: "SUCCEEDED",
        compute.FAILED: "FAILED", compute.TIMED_OUT: "FAILED", compute.KILLED: "FAILED",
    }[local.state]
    events = []
    if local.state == compute.FAILED:
        events.append({"type": "STATUS_CHANGED", "eventTime": _now(), "description":
                       f"Job state is set from RUNNING to FAILED for job. Task failed with "
                       f"exit code {local.exit_code}."})
    elif local.state == compute.TIMED_OUT:
        events.append({"type": "STATUS_CHANGED", "eventTime": _now(), "description":
                       f"Task was terminated because it {local.stop_reason} "
                       "(exit code 50005)."})
    return {"state": state, "statusEvents": events}


class FakeGCPBatch(FakeProcess):
    """The fake Batch + Logging server in its own process (stopped by PID)."""

    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__("covalent_testing.gcp_batch", workdir)


if __name__ == "__main__":
    serve(BatchHandler, BatchState)
