"""``SSHExecutor``: run each electron on a remote host over SSH, as a detached job.

It keeps the parameters of Covalent's SSH plugin, but the job model is new: all
tasks share one pooled connection per host (see ``transport``), each task is a
detached process that outlives the connection (see ``jobs``), every job on a host is
checked with one remote command per poll round, and the job handle
(host, port, user, job directory, pid) is saved the moment the job starts, so a
resumed dispatch reattaches to the running job instead of starting it again.
"""

from __future__ import annotations

import asyncio
import getpass
import posixpath
import shlex
import weakref
from collections import defaultdict
from typing import Any

from pydantic import SecretStr

from covalent_core.executor.remote import Handle, JobState, RemoteExecutor
from covalent_core.remote.package import Outcome, TaskPackage
from covalent_ssh import jobs
from covalent_ssh.batching import Coalescer
from covalent_ssh.errors import RemoteJobError
from covalent_ssh.interpreter import check_interpreter
from covalent_ssh.transport import SSHConnection, SSHTarget, connection, once

executor_plugin_name = "SSHExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "username": "",
    "hostname": "",
    "port": 22,
    "ssh_key_file": "~/.ssh/id_rsa",
    "known_hosts": "~/.ssh/known_hosts",
    "verify_host_key": True,
    "python_path": "python3",
    "conda_env": "",
    "remote_workdir": "covalent-workdir",
    "create_unique_workdir": False,
    "do_cleanup": True,
    "poll_freq": 2.0,
    "retry_connect": True,
    "max_connection_attempts": 5,
    "retry_wait_time": 5.0,
}

JOBS_DIR = ".covalent-jobs"


class SSHExecutor(RemoteExecutor):
    """Runs tasks on ``hostname`` as ``username`` with the interpreter at ``python_path``.

    ``remote_dir`` is accepted as an alias of ``remote_workdir``. ``passphrase`` (for an
    encrypted key) is a secret: it never appears in ``to_dict()``, a pickle or a log,
    so a dispatch resumed in another process needs it from the config file again.
    Set ``verify_host_key=False`` only on a network you trust: it logs a warning.
    """

    SECRET_ATTRIBUTES = frozenset({"passphrase"})

    def __init__(
        self,
        username: str = "",
        hostname: str = "",
        ssh_key_file: str = "~/.ssh/id_rsa",
        port: int = 22,
        known_hosts: str = "~/.ssh/known_hosts",
        verify_host_key: bool = True,
        cert_file: str = "",
        passphrase: str | SecretStr | None = None,
        python_path: str = "python3",
        conda_env: str = "",
        remote_workdir: str = "covalent-workdir",
        remote_dir: str | None = None,
        create_unique_workdir: bool = False,
        do_cleanup: bool = True,
        poll_freq: float = 2.0,
        retry_connect: bool = True,
        max_connection_attempts: int = 5,
        retry_wait_time: float = 5.0,
        max_sessions: int = 8,
        log_stdout: str = "",
        log_stderr: str = "",
        cache_dir: str = "",
        time_limit: float = -1,
        retries: int = 0,
    ) -> None:
        super().__init__(log_stdout=log_stdout, log_stderr=log_stderr, cache_dir=cache_dir,
                         time_limit=time_limit, retries=retries)
        if not hostname:
            raise ValueError("hostname is required: the host to run tasks on (e.g. "
                             "hostname='login.example.org', or [executors.ssh] hostname)")
        if float(poll_freq) <= 0:
            raise ValueError(f"poll_freq must be > 0 seconds, got {poll_freq!r}")
        self.username = username or getpass.getuser()
        self.hostname = hostname
        self.port = int(port)
        self.ssh_key_file = ssh_key_file
        self.known_hosts = known_hosts
        self.verify_host_key = bool(verify_host_key)
        self.cert_file = cert_file
        self.passphrase = SecretStr(passphrase) if isinstance(passphrase, str) else passphrase
        self.python_path = python_path
        self.conda_env = conda_env
        self.remote_workdir = remote_dir or remote_workdir
        self.create_unique_workdir = bool(create_unique_workdir)
        self.do_cleanup = bool(do_cleanup)
        self.poll_freq = float(poll_freq)
        self.retry_connect = bool(retry_connect)
        self.max_connection_attempts = int(max_connection_attempts)
        self.retry_wait_time = float(retry_wait_time)
        self.max_sessions = int(max_sessions)

    @property
    def remote_dir(self) -> str:
        return self.remote_workdir

    @remote_dir.setter
    def remote_dir(self, value: str) -> None:
        self.remote_workdir = value

    # -- the connection -----------------------------------------------------------
    def _target(self, host: str | None = None, port: int | None = None,
                user: str | None = None) -> SSHTarget:
        return SSHTarget(
            host=host or self.hostname, port=port or self.port, username=user or self.username,
            key_file=self.ssh_key_file, cert_file=self.cert_file, known_hosts=self.known_hosts,
            verify_host_key=self.verify_host_key, passphrase=self.__dict__.get("passphrase"),
            retry_connect=self.retry_connect, max_connection_attempts=self.max_connection_attempts,
            retry_wait_time=self.retry_wait_time, max_sessions=self.max_sessions,
        )

    def _connection_for(self, handle: Handle | None) -> SSHConnection:
        """The pooled connection a job's host is reached by (``None``: a job not yet started)."""
        if handle is None:
            return connection(self._target())
        return connection(self._target(handle["host"], handle["port"], handle["user"]))

    def _group_key(self, handle: Handle) -> tuple[Any, ...]:
        """Jobs sharing a key are asked about with one remote command."""
        return (handle["host"], handle["port"], handle["user"])

    @property
    def _python(self) -> str:
        if self.conda_env:
            env = shlex.quote(self.conda_env)
            return f"conda run --no-capture-output -n {env} {self.python_path}"
        return self.python_path

    async def _jobs_root(self, conn: SSHConnection) -> str:
        async def resolve() -> str:
            done = await conn.run(jobs.resolve_dir_command(
                posixpath.join(self.remote_workdir, JOBS_DIR)))
            if done.returncode != 0:
                raise RemoteJobError(
                    f"cannot create remote_workdir {self.remote_workdir!r} on "
                    f"{conn.description}: {done.stderr.strip()}; set remote_workdir to a "
                    "writable directory"
                )
            return done.stdout.strip()

        return await once(conn, f"root\0{self.remote_workdir}", resolve)

    # -- the remote split ---------------------------------------------------------
    async def submit(self, task: TaskPackage) -> Handle:
        conn = self._connection_for(None)
        await check_interpreter(conn, self._python)
        root = await self._jobs_root(conn)
        dispatch_id = str(task.metadata.get("dispatch_id", "dispatch"))
        node_id = task.metadata.get("node_id", 0)
        # Named by the package, so a resume finds it (find_job) if we die before the pid.
        job_dir = posixpath.join(root, task.job_name)
        workdir = posixpath.dirname(root)
        if self.create_unique_workdir:
            workdir = posixpath.join(workdir, dispatch_id, f"node_{node_id}")
        package = task.to_bytes()
        await conn.mkdir(job_dir)
        await conn.write(posixpath.join(job_dir, jobs.TASK), package)
        launch = asyncio.ensure_future(self._launcher(conn)((job_dir, workdir)))
        try:
            pid = await asyncio.shield(launch)
        except asyncio.CancelledError:
            # Cancelled (time limit, ct.cancel) while the launch was on the wire: nobody will
            # learn this job's handle, so stop the job as soon as it exists.
            launch.add_done_callback(lambda done: self._stop_orphan(conn, job_dir, done))
            raise
        if pid is None:
            printed = (await conn.run(jobs.tail_command(job_dir))).stdout.strip()
            raise RemoteJobError(f"the job in {job_dir} on {conn.description} did not start: "
                                 f"{printed or 'no pid file appeared'}")
        target = conn.target
        return {"host": target.host, "port": target.port, "user": target.username,
                "workdir": job_dir, "pid": pid}

    async def find_job(self, name: str) -> Handle | None:
        conn = self._connection_for(None)
        job_dir = posixpath.join(await self._jobs_root(conn), name)
        found = (await conn.run(jobs.find_command(job_dir))).stdout.strip()
        if not found.isdigit():
            return None
        target = conn.target
        return {"host": target.host, "port": target.port, "user": target.username,
                "workdir": job_dir, "pid": int(found)}

    def _stop_orphan(self, conn: SSHConnection, job_dir: str,
                     launch: asyncio.Future[int | None]) -> None:
        if launch.cancelled() or launch.exception() is not None or launch.result() is None:
            return
        stops: set[asyncio.Future[object]] = self.__dict__.setdefault("_orphan_stops", set())
        stop = asyncio.ensure_future(conn.run(jobs.cancel_command(job_dir, launch.result())))
        stops.add(stop)
        stop.add_done_callback(stops.discard)

    def _launcher(self, conn: SSHConnection) -> Coalescer[tuple[str, str], int | None]:
        """Launches requested while one is on the wire go out together in the next command."""
        launchers = self.__dict__.setdefault("_launchers", weakref.WeakKeyDictionary())
        if conn not in launchers:
            python = self._python

            async def send(items: list[tuple[str, str]]) -> list[int | None]:
                done = await conn.run(jobs.launch_command(python), input=jobs.launch_input(items))
                pids = done.stdout.split()
                if done.returncode != 0 or len(pids) != len(items):
                    raise RemoteJobError(
                        f"starting {len(items)} job(s) on {conn.description} failed (exit "
                        f"{done.returncode}): {(done.stderr or done.stdout).strip()[-500:]}"
                    )
                return [int(p) if p.isdigit() else None for p in pids]

            launchers[conn] = Coalescer(send, window=0.0, max_size=500)
        return launchers[conn]

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for index, handle in enumerate(handles):
            groups[self._group_key(handle)].append(index)
        states: list[JobState | None] = [None] * len(handles)

        async def ask(indexes: list[int]) -> None:
            conn = self._connection_for(handles[indexes[0]])
            listed = [(int(handles[i]["pid"]), str(handles[i]["workdir"])) for i in indexes]
            done = await conn.run(jobs.status_command(), input=jobs.status_input(listed))
            if done.returncode != 0:
                raise RemoteJobError(f"status query on {conn.description} failed (exit "
                                     f"{done.returncode}): {done.stderr.strip()[-300:]}")
            answered = jobs.parse_status(done.stdout, listed, conn.description)
            for i, state in zip(indexes, answered, strict=True):
                states[i] = state

        await asyncio.gather(*(ask(indexes) for indexes in groups.values()))
        return [s for s in states if s is not None]

    async def fetch(self, handle: Handle) -> Outcome:
        conn = self._connection_for(handle)
        job_dir = str(handle["workdir"])
        try:
            data = await conn.read(posixpath.join(job_dir, jobs.OUTCOME))
        except FileNotFoundError:
            printed = (await conn.run(jobs.tail_command(job_dir))).stdout
            error = RemoteJobError(
                f"the job in {job_dir} on {conn.description} (pid {handle['pid']}) ended "
                f"without an outcome; its files are kept there. It printed:\n{printed.strip()}"
            )
            return Outcome(False, exception=error, stderr=printed)
        outcome = Outcome.from_bytes(data)
        if self.do_cleanup:
            await conn.rmtree(job_dir)
        return outcome

    async def cancel_job(self, handle: Handle) -> None:
        conn = self._connection_for(handle)
        await conn.run(jobs.cancel_command(str(handle["workdir"]), int(handle["pid"])))
