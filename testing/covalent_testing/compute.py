"""The compute agent behind the fake batch services: runs "container" commands as local processes.

A cloud batch service starts a container on a VM and runs its entrypoint. Here the
entrypoint (the executor package's real container entrypoint module) runs as a local
process with the job's environment, in its own session so that killing a job kills
everything it started. Nothing about the task is simulated: the entrypoint downloads
the task package, runs ``covalent_core.remote`` and uploads the outcome.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

QUEUED = "QUEUED"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
KILLED = "KILLED"
TIMED_OUT = "TIMED_OUT"

#: Seconds a job gets between SIGTERM and SIGKILL, as a container runtime gives it.
GRACE = 3.0


@dataclass
class LocalJob:
    key: str
    workdir: Path
    state: str = QUEUED
    exit_code: int | None = None
    started_at: float = 0.0
    ended_at: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    #: Set when the job is being stopped; it becomes ``state`` once the process has exited.
    stopping: str = ""
    stop_reason: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def stdout_path(self) -> Path:
        return self.workdir / "stdout.txt"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "stderr.txt"

    @property
    def done(self) -> bool:
        return self.state in (SUCCEEDED, FAILED, KILLED, TIMED_OUT)


def local_argv(argv: list[str]) -> list[str]:
    """A container command as this machine runs it: ``python`` is this interpreter."""
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return list(argv)


class ComputeAgent:
    """Starts, watches and kills the processes that stand in for containers."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: dict[str, LocalJob] = {}
        self._lock = threading.Lock()

    def start(
        self, key: str, argv: list[str], env: dict[str, str], time_limit: float | None = None
    ) -> LocalJob:
        workdir = self.root / key.replace("/", "_")
        workdir.mkdir(parents=True, exist_ok=True)
        job = LocalJob(key, workdir)
        with self._lock:
            self.jobs[key] = job
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("COVALENT_CORE_")}
        full_env.update(env)
        with job.stdout_path.open("ab") as out, job.stderr_path.open("ab") as err:
            job.process = subprocess.Popen(
                local_argv(argv), cwd=workdir, env=full_env, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        job.state, job.started_at = RUNNING, time.time()
        threading.Thread(target=self._watch, args=(job, time_limit), daemon=True).start()
        return job

    def _watch(self, job: LocalJob, time_limit: float | None) -> None:
        assert job.process is not None
        try:
            code = job.process.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            self.kill(job, TIMED_OUT, f"exceeded its run duration of {time_limit:g}s")
            code = job.process.wait()
        with job._lock:
            job.exit_code = code
            job.ended_at = time.time()
            job.state = job.stopping or (SUCCEEDED if code == 0 else FAILED)

    def kill(self, job: LocalJob, state: str = KILLED, reason: str = "stopped on request") -> None:
        """SIGTERM to the job's session, SIGKILL after the grace period."""
        with job._lock:
            if job.done or job.stopping:
                return
            job.stopping, job.stop_reason = state, reason
        process = job.process
        if process is None:
            return
        _signal_group(process.pid, signal.SIGTERM)

        def finish() -> None:
            try:
                process.wait(timeout=GRACE)
            except subprocess.TimeoutExpired:
                _signal_group(process.pid, signal.SIGKILL)

        threading.Thread(target=finish, daemon=True).start()

    def stop_all(self) -> None:
        for job in list(self.jobs.values()):
            if job.process is not None and job.process.poll() is None:
                _signal_group(job.process.pid, signal.SIGKILL)
                job.process.wait()


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
