"""A remote executor whose "backend" is a detached local process running the runner.

It is the smallest complete example of the remote split (submit / poll / fetch /
cancel_job) and exercises everything the SSH, Slurm and cloud plugins rely on: the
task package, the runner, batched polling, handles that survive the dispatching
process, reattachment and cancellation. No mock: the task really runs in another
process through ``python -m covalent_core.remote``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LOST,
    RUNNING,
    Handle,
    JobState,
    RemoteExecutor,
)
from covalent_core.processes import is_running
from covalent_core.remote.package import Outcome, TaskPackage

executor_plugin_name = "ProcessExecutor"


class ProcessExecutor(RemoteExecutor):
    SECRET_ATTRIBUTES = frozenset({"api_token"})

    def __init__(self, workdir: str, poll_freq: float = 0.05, api_token: str = "",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workdir = workdir
        self.poll_freq = poll_freq
        self.api_token = api_token
        self._poll_calls = 0
        self._submits = 0

    @property
    def poll_calls(self) -> int:
        return self._poll_calls

    @property
    def submits(self) -> int:
        return self._submits

    async def submit(self, task: TaskPackage) -> Handle:
        self._submits += 1
        job = Path(self.workdir) / task.job_name  # the job is found by this name after a crash
        job.mkdir(parents=True)
        (job / "task.pkg").write_bytes(task.to_bytes())
        runner = (
            "echo $$ > pid.tmp && mv pid.tmp pid; "
            f"{sys.executable} -m covalent_core.remote run task.pkg outcome.pkg "
            "--stdout stdout.txt --stderr stderr.txt; echo $? > exit_code"
        )
        # Nothing inherited: a job must not hold its submitter's terminal or pipes open.
        proc = subprocess.Popen(["sh", "-c", runner], cwd=job, start_new_session=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.__dict__.setdefault("_procs", {})[proc.pid] = proc
        return {"dir": str(job), "pid": proc.pid}

    async def find_job(self, name: str) -> Handle | None:
        job = Path(self.workdir) / name
        if not (job / "task.pkg").exists():
            return None  # never launched: submitting it now runs it once
        for _ in range(200):  # launched: its shell writes the pid at once
            if (job / "pid").exists():
                return {"dir": str(job), "pid": int((job / "pid").read_text())}
            await asyncio.sleep(0.01)
        return None

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        self._poll_calls += 1
        return [self._state(h) for h in handles]

    def _state(self, handle: Handle) -> JobState:
        job = Path(handle["dir"])
        proc = self.__dict__.get("_procs", {}).get(handle["pid"])
        if proc is not None:
            proc.poll()  # reap our own child so its pid stops looking alive
        if (job / "cancelled").exists():
            return JobState(CANCELLED, "cancelled by request")
        # Liveness first: a job that ends between the two looks would otherwise have
        # neither an exit code nor a process, and count as lost.
        alive = is_running(handle["pid"])
        code = (job / "exit_code").read_text().strip() if (job / "exit_code").exists() else ""
        if code:
            return JobState(COMPLETED) if code == "0" else JobState(FAILED, f"exit code {code}")
        if alive:
            return JobState(RUNNING)
        return JobState(LOST, "process vanished without an exit code")

    async def fetch(self, handle: Handle) -> Outcome:
        data = await asyncio.to_thread((Path(handle["dir"]) / "outcome.pkg").read_bytes)
        return Outcome.from_bytes(data)

    async def cancel_job(self, handle: Handle) -> None:
        (Path(handle["dir"]) / "cancelled").touch()
        try:
            os.killpg(handle["pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
