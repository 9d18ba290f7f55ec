"""A fake of the Azure Batch REST calls ``covalent_azure`` makes.

This is a fake, not an emulator: Microsoft ships none for Batch. It serves the real
``azure-batch`` client (shared-key signed requests, which it verifies): pools (create,
exists), jobs (create, get), tasks (create, list, get, delete, terminate) and task
files (``stdout.txt``/``stderr.txt``). Each task's container command runs as a local
process through the compute agent (``covalent_testing.compute``): the executor's real
entrypoint downloads the package from Azurite, runs the task and uploads the outcome.
``maxWallClockTime`` is enforced by killing the process; a terminated task completes
with failure code ``TaskEnded``, one over its wall clock with ``MaxWallClockTimeExceeded``.

Run ``python -m covalent_testing.azure_batch --workdir DIR`` (prints its port) or use
``FakeAzureBatch`` as a context manager; the account is ``ACCOUNT`` with key ``KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shlex
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from covalent_testing import compute
from covalent_testing.fake_server import FakeHandler, FakeProcess, FakeState, serve

ACCOUNT = "covalenttest"
#: A made-up shared key for the fake's account (base64, as Batch account keys are).
KEY = base64.b64encode(b"covalent-testing fake batch key!").decode()

_SIGNED_HEADERS = (
    "content-encoding", "content-language", "content-length", "content-md5", "content-type",
    "date", "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range",
)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?$")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _seconds(duration: str | None) -> float | None:
    match = _DURATION.match(duration or "")
    if not duration or not match:
        return None
    days, hours, minutes, seconds = (float(x or 0) for x in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"odata.metadata": "fake", "code": code,
                    "message": {"lang": "en-US", "value": message}}, {}


class AzureBatchState(FakeState):
    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.pools: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.tasks: dict[tuple[str, str], dict[str, Any]] = {}


class AzureBatchHandler(FakeHandler):
    state: AzureBatchState

    def fault_body(self, status: int) -> Any:
        code = {429: "TooManyRequests", 503: "ServerBusy"}.get(status, "InternalError")
        return _error(status, code, f"injected fault ({code})")[1]

    def route(
        self, method: str, path: str, query: dict[str, str], body: Any, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        denied = self._check_signature(method)
        if denied:
            return _error(403, "AuthenticationFailed", denied)
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["pools"]:
            return self._pools(method, parts[1:], body)
        if parts[:1] != ["jobs"]:
            return _error(404, "InvalidUri", f"no route {method} {path}")
        if len(parts) == 1 and method == "POST":
            return self._create_job(body)
        if len(parts) < 2 or parts[1] not in self.state.jobs:
            return _error(404, "JobNotFound", "The specified job does not exist.")
        job_id = parts[1]
        if len(parts) == 2 and method == "GET":
            return 200, self.state.jobs[job_id], {}
        if len(parts) == 3 and parts[2] == "tasks":
            if method == "POST":
                return self._create_task(job_id, body)
            return 200, {"value": [self._view(job_id, t) for (j, t) in list(self.state.tasks)
                                   if j == job_id]}, {}
        if len(parts) < 4 or (job_id, parts[3]) not in self.state.tasks:
            return _error(404, "TaskNotFound", "The specified task does not exist.")
        task_id = parts[3]
        if len(parts) == 4 and method == "GET":
            return 200, self._view(job_id, task_id), {}
        if len(parts) == 4 and method == "DELETE":
            return self._delete_task(job_id, task_id)
        if parts[4:] == ["terminate"] and method == "POST":
            return self._terminate(job_id, task_id)
        if len(parts) == 6 and parts[4] == "files" and method == "GET":
            return self._task_file(job_id, task_id, parts[5])
        return _error(405, "UnsupportedOperation", f"{method} {path}")

    # -- authentication -------------------------------------------------------
    def _check_signature(self, method: str) -> str:
        """Recompute Batch's SharedKey signature; the client must sign with ACCOUNT/KEY."""
        given = self.headers.get("Authorization", "")
        if not given.startswith(f"SharedKey {ACCOUNT}:"):
            return f"expected 'SharedKey {ACCOUNT}:<signature>', got {given[:40]!r}"
        headers = {k.lower(): v for k, v in self.headers.items() if v}
        if method not in ("GET", "HEAD"):
            headers.setdefault("content-length", "0")
        lines = [method, *(headers.get(h, "") for h in _SIGNED_HEADERS)]
        text = "\n".join(lines) + "\n"
        for name, value in sorted((k, v) for k, v in headers.items() if "ocp-" in k):
            text += f"{name}:{value}\n"
        url = urlsplit(self.path)
        text += f"/{ACCOUNT}{url.path}"
        query = parse_qs(url.query)
        for name in sorted(query):
            if query[name][0]:
                text += f"\n{name}:{query[name][0]}"
        digest = hmac.new(base64.b64decode(KEY), text.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(given.split(":", 1)[1], base64.b64encode(digest).decode()):
            return "the request signature does not match the account key"
        return ""

    # -- pools and jobs ---------------------------------------------------------
    def _pools(self, method: str, rest: list[str], body: Any) -> tuple[int, Any, Any]:
        if not rest and method == "POST":
            self.state.pools[body["id"]] = {"id": body["id"], "state": "active"}
            return 201, None, {}
        if rest and rest[0] in self.state.pools:
            return 200, self.state.pools[rest[0]], {}
        return _error(404, "PoolNotFound", "The specified pool does not exist.")

    def _create_job(self, body: dict[str, Any]) -> tuple[int, Any, Any]:
        with self.state.lock:
            if body["id"] in self.state.jobs:
                return _error(409, "JobExists", "The specified job already exists.")
            self.state.jobs[body["id"]] = {
                **body, "url": f"fake://jobs/{body['id']}", "eTag": uuid.uuid4().hex,
                "lastModified": _now(), "creationTime": _now(), "state": "active",
                "stateTransitionTime": _now(),
            }
        return 201, None, {}

    # -- tasks --------------------------------------------------------------------
    def _create_task(self, job_id: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
        key = (job_id, body["id"])
        with self.state.lock:
            if key in self.state.tasks:
                return _error(409, "TaskExists", "The specified task already exists.")
            self.state.tasks[key] = {**body, "creationTime": _now()}
        pool = self.state.jobs[job_id].get("poolInfo", {}).get("poolId")
        if pool in self.state.pools:
            env = {e["name"]: e.get("value", "") for e in body.get("environmentSettings", [])}
            env.update({"AZ_BATCH_JOB_ID": job_id, "AZ_BATCH_TASK_ID": body["id"]})
            limit = _seconds(body.get("constraints", {}).get("maxWallClockTime"))
            self.state.compute.start(f"{job_id}/{body['id']}", shlex.split(body["commandLine"]),
                                     env, limit)
        return 201, None, {}

    def _local(self, job_id: str, task_id: str) -> compute.LocalJob | None:
        return self.state.compute.jobs.get(f"{job_id}/{task_id}")

    def _view(self, job_id: str, task_id: str) -> dict[str, Any]:
        task = dict(self.state.tasks[(job_id, task_id)])
        local = self._local(job_id, task_id)
        task.update({"url": f"fake://jobs/{job_id}/tasks/{task_id}", "eTag": uuid.uuid4().hex,
                     "lastModified": _now(), "stateTransitionTime": _now()})
        if local is None:
            task["state"] = "active"
            return task
        if not local.done:
            task["state"] = "running"
            task["executionInfo"] = {"retryCount": 0, "requeueCount": 0}
            return task
        info: dict[str, Any] = {"retryCount": 0, "requeueCount": 0, "exitCode": local.exit_code,
                                "result": "success" if local.state == compute.SUCCEEDED
                                else "failure"}
        if local.state == compute.KILLED:
            info["failureInfo"] = {"category": "usererror", "code": "TaskEnded",
                                   "message": "Task Was Ended by User Request"}
        elif local.state == compute.TIMED_OUT:
            info["failureInfo"] = {"category": "usererror", "code": "MaxWallClockTimeExceeded",
                                   "message": f"The task {local.stop_reason}"}
        elif local.state == compute.FAILED:
            info["failureInfo"] = {"category": "usererror", "code": "FailureExitCode",
                                   "message": "The task exited with an exit code representing "
                                              "a failure"}
        task.update(state="completed", executionInfo=info)
        return task

    def _terminate(self, job_id: str, task_id: str) -> tuple[int, Any, Any]:
        local = self._local(job_id, task_id)
        if local is None or local.done:
            return _error(409, "TaskCompleted", "The specified task is already in a completed "
                                                "state.")
        self.state.compute.kill(local, compute.KILLED, "terminated on request")
        return 204, None, {}

    def _delete_task(self, job_id: str, task_id: str) -> tuple[int, Any, Any]:
        local = self._local(job_id, task_id)
        if local is not None and not local.done:
            self.state.compute.kill(local, compute.KILLED, "deleted")
        with self.state.lock:
            self.state.tasks.pop((job_id, task_id), None)
        return 200, None, {}

    def _task_file(self, job_id: str, task_id: str, name: str) -> tuple[int, Any, Any]:
        local = self._local(job_id, task_id)
        path = local.workdir / name if local is not None else None
        if path is None or name not in ("stdout.txt", "stderr.txt") or not path.exists():
            return _error(404, "FileNotFound", f"The specified file {name} does not exist.")
        return 200, path.read_bytes(), {}


class FakeAzureBatch(FakeProcess):
    """The fake Batch account in its own process (stopped by PID)."""

    def __init__(self, workdir: Path | None = None) -> None:
        super().__init__("covalent_testing.azure_batch", workdir)


if __name__ == "__main__":
    serve(AzureBatchHandler, AzureBatchState)
