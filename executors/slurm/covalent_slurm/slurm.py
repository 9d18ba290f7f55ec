"""``SlurmExecutor``: each electron a task of a Slurm job array, on a cluster over SSH or here.

It keeps the parameters of Covalent's Slurm plugin. What changes is how it talks to
Slurm: electrons that become ready together are submitted as one ``sbatch --array``
(``array_window`` seconds gather them), every poll asks about all jobs with one
``squeue`` (in one remote command), the job id and array index are saved the moment
sbatch answers, so a resumed dispatch reattaches instead of resubmitting, and Slurm's
failure states are told apart (see ``states``).

Two ways to reach the cluster:
- over SSH to a login node (``address``, ``username``, ``ssh_key_file``): the connection
  is the pooled one of covalent_ssh, shared with any SSHExecutor to that host;
- ``local=True``: this process runs where ``sbatch`` is (a login node, or inside a job),
  so commands are local subprocesses; ``address`` and the SSH settings are ignored.
"""

from __future__ import annotations

import asyncio
import getpass
import posixpath
import re
import shlex
import uuid
import weakref
from collections import defaultdict
from copy import deepcopy
from typing import Any

from covalent_ssh.batching import Coalescer
from covalent_ssh.errors import RemoteJobError
from covalent_ssh.interpreter import check_interpreter
from covalent_ssh.jobs import resolve_dir_command
from covalent_ssh.transport import Shell, SSHTarget, connection, once
from pydantic import SecretStr

from covalent_core.executor.remote import Handle, JobState, RemoteExecutor
from covalent_core.remote.package import Outcome, TaskPackage
from covalent_slurm import states
from covalent_slurm.local import local_shell
from covalent_slurm.script import SLURM_OUT, TASKS_FILE, JobScript

executor_plugin_name = "SlurmExecutor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "username": "",
    "address": "",
    "port": 22,
    "ssh_key_file": "~/.ssh/id_rsa",
    "cert_file": "",
    "known_hosts": "~/.ssh/known_hosts",
    "verify_host_key": True,
    "local": False,
    "remote_workdir": "covalent-workdir",
    "create_unique_workdir": False,
    "options": {"parsable": ""},
    "variables": {},
    "conda_env": "",
    "prerun_commands": [],
    "postrun_commands": [],
    "use_srun": True,
    "srun_options": {},
    "srun_append": "",
    "bashrc_path": "$HOME/.bashrc",
    "slurm_path": "",
    "python_path": "python3",
    "poll_freq": 30.0,
    "cleanup": True,
    "array_window": 1.0,
    "max_array_size": 1000,
}

JOBS_DIR = ".covalent-slurm"


class SlurmExecutor(RemoteExecutor):
    """Runs tasks as Slurm array jobs; see the module docstring for the two access modes.

    ``options`` become ``#SBATCH`` lines, ``srun_options`` flags of ``srun`` (``use_srun``
    False runs python directly in the batch script). ``passphrase`` is a secret: never in
    ``to_dict()``, a pickle or a log.
    """

    SECRET_ATTRIBUTES = frozenset({"passphrase"})

    def __init__(
        self,
        username: str = "",
        address: str = "",
        ssh_key_file: str = "~/.ssh/id_rsa",
        cert_file: str = "",
        remote_workdir: str = "covalent-workdir",
        create_unique_workdir: bool = False,
        options: dict[str, Any] | None = None,
        variables: dict[str, Any] | None = None,
        conda_env: str = "",
        prerun_commands: list[str] | None = None,
        postrun_commands: list[str] | None = None,
        use_srun: bool = True,
        srun_options: dict[str, Any] | None = None,
        srun_append: str = "",
        bashrc_path: str = "$HOME/.bashrc",
        slurm_path: str = "",
        poll_freq: float = 30.0,
        cleanup: bool = True,
        local: bool = False,
        port: int = 22,
        known_hosts: str = "~/.ssh/known_hosts",
        verify_host_key: bool = True,
        passphrase: str | SecretStr | None = None,
        python_path: str = "python3",
        array_window: float = 1.0,
        max_array_size: int = 1000,
        retry_connect: bool = True,
        max_connection_attempts: int = 5,
        retry_wait_time: float = 5.0,
        log_stdout: str = "",
        log_stderr: str = "",
        cache_dir: str = "",
        time_limit: float = -1,
        retries: int = 0,
    ) -> None:
        super().__init__(log_stdout=log_stdout, log_stderr=log_stderr, cache_dir=cache_dir,
                         time_limit=time_limit, retries=retries)
        if not local and not address:
            raise ValueError(
                "address is required: the Slurm login node to reach over SSH (address="
                "'login.example.org'), or set local=True when this process runs where "
                "sbatch is"
            )
        if float(poll_freq) <= 0:
            raise ValueError(f"poll_freq must be > 0 seconds, got {poll_freq!r}")
        if not 1 <= int(max_array_size) <= 1000:
            raise ValueError("max_array_size must be between 1 and 1000 (below MaxArraySize)")
        self.username = username or getpass.getuser()
        self.address = address
        self.ssh_key_file = ssh_key_file
        self.cert_file = cert_file
        self.remote_workdir = remote_workdir
        self.create_unique_workdir = bool(create_unique_workdir)
        self.options = deepcopy(options) if options is not None else {"parsable": ""}
        self.variables = deepcopy(variables or {})
        self.conda_env = conda_env or ""
        self.prerun_commands = list(prerun_commands or [])
        self.postrun_commands = list(postrun_commands or [])
        self.use_srun = bool(use_srun)
        self.srun_options = deepcopy(srun_options or {})
        self.srun_append = srun_append or ""
        self.bashrc_path = bashrc_path or ""
        self.slurm_path = slurm_path or ""
        self.poll_freq = float(poll_freq)
        self.cleanup = bool(cleanup)
        self.local = bool(local)
        self.port = int(port)
        self.known_hosts = known_hosts
        self.verify_host_key = bool(verify_host_key)
        self.passphrase = SecretStr(passphrase) if isinstance(passphrase, str) else passphrase
        self.python_path = python_path
        self.array_window = float(array_window)
        self.max_array_size = int(max_array_size)
        self.retry_connect = bool(retry_connect)
        self.max_connection_attempts = int(max_connection_attempts)
        self.retry_wait_time = float(retry_wait_time)
        self._sbatch_calls = 0
        self._status_queries = 0

    @property
    def sbatch_calls(self) -> int:
        """sbatch commands this instance ran in this process."""
        return self.__dict__.get("_sbatch_calls", 0)

    @property
    def status_queries(self) -> int:
        """Status queries (one squeue per host and poll round) this instance ran."""
        return self.__dict__.get("_status_queries", 0)

    def _count(self, name: str) -> None:
        self.__dict__[name] = self.__dict__.get(name, 0) + 1

    # -- where commands run ---------------------------------------------------------
    def _shell_for(self, handle: Handle | None) -> Shell:
        local = self.local if handle is None else bool(handle.get("local"))
        if local:
            return local_shell()
        host = self.address if handle is None else handle["address"]
        port = self.port if handle is None else int(handle["port"])
        user = self.username if handle is None else handle["username"]
        return connection(SSHTarget(
            host=host, port=port, username=user, key_file=self.ssh_key_file,
            cert_file=self.cert_file, known_hosts=self.known_hosts,
            verify_host_key=self.verify_host_key, passphrase=self.__dict__.get("passphrase"),
            retry_connect=self.retry_connect, max_connection_attempts=self.max_connection_attempts,
            retry_wait_time=self.retry_wait_time,
        ))

    def _group_key(self, handle: Handle) -> tuple[Any, ...]:
        """Jobs sharing a key are asked about with one status command."""
        if handle.get("local"):
            return ("local",)
        return (handle["address"], handle["port"], handle["username"])

    def _command(self, name: str) -> str:
        return shlex.quote(posixpath.join(self.slurm_path, name) if self.slurm_path else name)

    def _script(self) -> JobScript:
        return JobScript(
            options=self.options, variables=self.variables, bashrc_path=self.bashrc_path,
            conda_env=self.conda_env, prerun_commands=self.prerun_commands,
            postrun_commands=self.postrun_commands, use_srun=self.use_srun,
            srun_options=self.srun_options, srun_append=self.srun_append,
            python=self.python_path,
        )

    async def _root(self, shell: Shell) -> str:
        async def resolve() -> str:
            done = await shell.run(resolve_dir_command(
                posixpath.join(self.remote_workdir, JOBS_DIR)))
            if done.returncode != 0:
                raise RemoteJobError(
                    f"cannot create remote_workdir {self.remote_workdir!r} on "
                    f"{shell.description}: {done.stderr.strip()}; set remote_workdir to a "
                    "directory writable there (and visible from the compute nodes)"
                )
            return done.stdout.strip()

        return await once(shell, f"slurm-root\0{self.remote_workdir}", resolve)

    # -- submission: one sbatch --array per batch of ready electrons ------------------
    def _submitter(self, shell: Shell) -> Coalescer[tuple[str, str], tuple[str, int, str]]:
        submitters = self.__dict__.setdefault("_submitters", weakref.WeakKeyDictionary())
        if shell not in submitters:
            async def send(items: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
                return await self._submit_array(shell, items)

            submitters[shell] = Coalescer(send, window=self.array_window,
                                          max_size=self.max_array_size)
        return submitters[shell]

    async def _submit_array(self, shell: Shell,
                            items: list[tuple[str, str]]) -> list[tuple[str, int, str]]:
        root = await self._root(shell)
        batch_dir = posixpath.join(root, f"batch-{uuid.uuid4().hex[:12]}")
        await shell.mkdir(batch_dir)
        await shell.write(posixpath.join(batch_dir, TASKS_FILE),
                          "".join(f"{d}\t{w}\n" for d, w in items).encode())
        script = posixpath.join(batch_dir, "job.sh")
        await shell.write(script, self._script().format(batch_dir).encode())
        self._count("_sbatch_calls")
        done = await shell.run(
            f"cd {shlex.quote(batch_dir)} && {self._command('sbatch')} --parsable "
            f"--array=0-{len(items) - 1} {shlex.quote(script)}"
        )
        found = re.match(r"\s*(\d+)", done.stdout)
        if done.returncode != 0 or not found:
            raise RemoteJobError(
                f"sbatch on {shell.description} refused the job (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-800:]}. Check options "
                f"{self.options!r} against the cluster's partitions and limits; the script "
                f"is {script}"
            )
        self.__dict__.setdefault("_batch_left", {})[batch_dir] = len(items)
        return [(found.group(1), index, batch_dir) for index in range(len(items))]

    async def submit(self, task: TaskPackage) -> Handle:
        shell = self._shell_for(None)
        script = self._script()
        setup = script.environment()
        await check_interpreter(shell, self.python_path, setup + "\n" if setup else "")
        root = await self._root(shell)
        dispatch_id = str(task.metadata.get("dispatch_id", "dispatch"))
        node_id = task.metadata.get("node_id", 0)
        task_dir = posixpath.join(root, f"{dispatch_id}-{node_id}-{uuid.uuid4().hex[:8]}")
        workdir = posixpath.dirname(root)
        if self.create_unique_workdir:
            workdir = posixpath.join(workdir, dispatch_id, f"node_{node_id}")
        await shell.mkdir(task_dir)
        await shell.write(posixpath.join(task_dir, "task.pkg"), task.to_bytes())
        submission = asyncio.ensure_future(self._submitter(shell)((task_dir, workdir)))
        try:
            job_id, index, batch_dir = await asyncio.shield(submission)
        except asyncio.CancelledError:
            # Cancelled (time limit, ct.cancel) while the array was gathering or on its way
            # to sbatch: nobody will learn this job's id, so scancel it once it has one.
            submission.add_done_callback(lambda done: self._cancel_orphan(shell, done))
            raise
        handle: Handle = {"job_id": job_id, "array_index": index, "task_dir": task_dir,
                          "batch_dir": batch_dir, "local": self.local}
        if not self.local:
            handle.update(address=self.address, port=self.port, username=self.username)
        return handle

    def _cancel_orphan(self, shell: Shell, submission: asyncio.Future[tuple[str, int, str]],
                       ) -> None:
        if submission.cancelled() or submission.exception() is not None:
            return
        job_id, index, _ = submission.result()
        stops: set[asyncio.Future[object]] = self.__dict__.setdefault("_orphan_stops", set())
        stop = asyncio.ensure_future(
            shell.run(f"{self._command('scancel')} {shlex.quote(f'{job_id}_{index}')}"))
        stops.add(stop)
        stop.add_done_callback(stops.discard)

    # -- status, outcome, cancel ---------------------------------------------------
    async def poll(self, handles: list[Handle]) -> list[JobState]:
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for index, handle in enumerate(handles):
            groups[self._group_key(handle)].append(index)
        answers: list[JobState | None] = [None] * len(handles)

        async def ask(indexes: list[int]) -> None:
            shell = self._shell_for(handles[indexes[0]])
            ids = sorted({str(handles[i]["job_id"]) for i in indexes})
            self._count("_status_queries")
            done = await shell.run(
                states.status_command(self._command("squeue"), ids),
                input="".join(f"{handles[i]['task_dir']}\n" for i in indexes),
            )
            known, finished = states.parse_status(done.stdout)
            seen = self.__dict__.setdefault("_seen", {})
            for i in indexes:
                job = _job_name(handles[i])
                if job in known:
                    state = states.slurm_state(*known[job], job, self.options)
                else:
                    state = states.missing_state(job, handles[i]["task_dir"] in finished)
                seen[job] = state
                answers[i] = state

        await asyncio.gather(*(ask(indexes) for indexes in groups.values()))
        return [s for s in answers if s is not None]

    async def fetch(self, handle: Handle) -> Outcome:
        shell = self._shell_for(handle)
        task_dir = str(handle["task_dir"])
        try:
            data = await shell.read(posixpath.join(task_dir, "outcome.pkg"))
        except FileNotFoundError:
            printed = (await shell.run(
                f"tail -c 4000 {shlex.quote(posixpath.join(task_dir, SLURM_OUT))} 2>/dev/null; "
                "true")).stdout.strip()
            job = _job_name(handle)
            seen = self.__dict__.get("_seen", {}).get(job)
            ended = seen.reason if seen is not None and seen.reason else "without an outcome"
            error = RemoteJobError(f"{ended}. The task left no outcome in {task_dir} on "
                                   f"{shell.description}; the job printed:\n{printed}")
            return Outcome(False, exception=error, stderr=printed)
        outcome = Outcome.from_bytes(data)
        if self.cleanup:
            await self._clean(shell, handle)
        return outcome

    async def _clean(self, shell: Shell, handle: Handle) -> None:
        await shell.rmtree(str(handle["task_dir"]))
        left: dict[str, int] = self.__dict__.get("_batch_left", {})
        batch_dir = str(handle.get("batch_dir", ""))
        if batch_dir in left:
            # A batch's script and task list go once every task of it has been fetched.
            left[batch_dir] -= 1
            if left[batch_dir] <= 0:
                del left[batch_dir]
                await shell.rmtree(batch_dir)

    async def cancel_job(self, handle: Handle) -> None:
        shell = self._shell_for(handle)
        job = _job_name(handle)
        done = await shell.run(f"{self._command('scancel')} {shlex.quote(job)}")
        if done.returncode != 0:
            raise RemoteJobError(f"scancel {job} on {shell.description} failed: "
                                 f"{done.stderr.strip()}")


def _job_name(handle: Handle) -> str:
    return f"{handle['job_id']}_{handle['array_index']}"
