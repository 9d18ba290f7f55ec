"""Trivial electrons over SSH to 127.0.0.1 and on a local single-node Slurm, each against a
naive mode of the same code in the same run.

SSH   (default 100 electrons) SSHExecutor: one pooled connection, launches batched into
      few remote commands, one status command per poll round for every job on the host;
      vs NaiveSSHExecutor: a connection per electron and a status command per job (the
      pattern of Covalent's SSH plugin, which trips sshd's MaxStartups at scale).
Slurm (default 200 electrons) SlurmExecutor(local=True): electrons ready together go out
      as one ``sbatch --array``, one squeue per poll round for every job;
      vs NaiveSlurmExecutor: one sbatch per electron and one squeue per job per round.
Prints wall time, connections opened (sshd's own log), remote commands, sbatch calls and
status queries for both, and the ratios. Targets: SSH 100 electrons over 1 connection;
Slurm 200 electrons in <= 10 sbatch calls and one status query per poll round.

    python bench/ssh_slurm.py [--ssh 100] [--slurm 200] [--poll-freq 1.0]

Needs Debian's openssh-server, slurmctld, slurmd, slurm-client and munge, and the remote
suite's packages (`bash scripts/test.sh remote` builds .venvs/remote):
    .venvs/remote/bin/python bench/ssh_slurm.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from covalent_slurm import SlurmExecutor
from covalent_ssh import SSHExecutor
from covalent_ssh.transport import SSHConnection


def _isolate(directory: Path) -> None:
    os.environ["COVALENT_CORE_CONFIG"] = str(directory / "covalent_core.toml")
    os.environ["COVALENT_CORE_DISPATCHER__DATA_DIR"] = str(directory / "data")
    os.environ["COVALENT_CORE_DISPATCHER__NO_CLUSTER"] = "true"


def _count_round(executor: Any) -> None:
    executor.__dict__["_rounds"] = executor.__dict__.get("_rounds", 0) + 1


class NaiveSSHExecutor(SSHExecutor):
    """A connection per electron, held from submit to fetch; a status command per job."""

    def _connection_for(self, handle: dict[str, Any] | None) -> SSHConnection:
        fresh = self.__dict__.setdefault("_fresh", {})
        if handle is None:  # submit: a new connection for this electron's task
            conn = fresh[id(asyncio.current_task())] = SSHConnection(self._target())
            return conn
        return self.__dict__["_per_job"][handle["workdir"]]

    def _group_key(self, handle: dict[str, Any]) -> tuple[Any, ...]:
        return (handle["workdir"],)

    async def submit(self, task: Any) -> dict[str, Any]:
        handle = await super().submit(task)
        conn = self.__dict__["_fresh"].pop(id(asyncio.current_task()))
        self.__dict__.setdefault("_per_job", {})[handle["workdir"]] = conn
        return handle

    async def fetch(self, handle: dict[str, Any]) -> Any:
        try:
            return await super().fetch(handle)
        finally:
            await self.__dict__["_per_job"].pop(handle["workdir"]).close()


class CountingSlurmExecutor(SlurmExecutor):
    """SlurmExecutor as it is, counting the watcher's poll rounds."""

    async def poll(self, handles: list[dict[str, Any]]) -> list[Any]:
        _count_round(self)
        return await super().poll(handles)


class NaiveSlurmExecutor(SlurmExecutor):
    """One sbatch per electron and one squeue per job, each electron on its own."""

    def _submitter(self, shell: Any) -> Any:
        async def submit_alone(item: tuple[str, str]) -> tuple[str, int, str]:
            return (await self._submit_array(shell, [item]))[0]

        return submit_alone

    async def poll(self, handles: list[dict[str, Any]]) -> list[Any]:
        _count_round(self)
        answers = await asyncio.gather(*(SlurmExecutor.poll(self, [h]) for h in handles))
        return [states[0] for states in answers]


def _workflow(executor: Any, n: int) -> Any:
    import covalent_core as ct

    @ct.electron(executor=executor)
    def identity(i):
        return i

    @ct.lattice
    def fanout():
        return [identity(i) for i in range(n)]

    return fanout


def _run(executor: Any, n: int) -> tuple[float, Any]:
    import covalent_core as ct

    start = time.perf_counter()
    result = ct.dispatch_sync(_workflow(executor, n))()
    elapsed = time.perf_counter() - start
    if result.status != "COMPLETED" or result.result != list(range(n)):
        raise SystemExit(f"{type(executor).__name__} failed: {result.error}")
    return elapsed, result


def _count(server: Any, needle: str) -> int:
    return server.log.read_text(errors="replace").count(needle)


def bench_ssh(root: Path, n: int, poll_freq: float) -> list[dict[str, Any]]:
    from covalent_testing.sshd import sshd

    rows = []
    with sshd(root / "sshd") as server:
        for name, cls in (("pooled", SSHExecutor), ("naive", NaiveSSHExecutor)):
            executor = cls(**server.executor_options(), python_path=sys.executable,
                           remote_workdir=str(root / f"ssh-{name}"), poll_freq=poll_freq,
                           retry_wait_time=1.0, max_connection_attempts=10)
            logins = _count(server, "Accepted publickey")
            commands = _count(server, "Starting session: command")
            elapsed, _ = _run(executor, n)
            rows.append({"mode": name, "wall_s": elapsed,
                         "connections": _count(server, "Accepted publickey") - logins,
                         "remote_commands": _count(server, "Starting session: command")
                         - commands})
    return rows


def bench_slurm(root: Path, n: int, poll_freq: float) -> list[dict[str, Any]]:
    from covalent_testing.slurm import slurm_cluster

    rows = []
    with slurm_cluster(root / "slurm") as cluster:
        os.environ.update(cluster.env())
        for name, cls in (("array", CountingSlurmExecutor), ("naive", NaiveSlurmExecutor)):
            executor = cls(local=True, python_path=sys.executable, bashrc_path="",
                           remote_workdir=str(root / f"slurm-{name}"), poll_freq=poll_freq,
                           array_window=poll_freq)
            elapsed, _ = _run(executor, n)
            rows.append({"mode": name, "wall_s": elapsed, "sbatch_calls": executor.sbatch_calls,
                         "status_queries": executor.status_queries,
                         "poll_rounds": executor.__dict__.get("_rounds", 0)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ssh", type=int, default=100, help="electrons over SSH")
    parser.add_argument("--slurm", type=int, default=200, help="electrons on Slurm")
    parser.add_argument("--poll-freq", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ssh-slurm-") as tmp:
        root = Path(tmp)
        _isolate(root)
        ssh = bench_ssh(root, args.ssh, args.poll_freq) if args.ssh else []
        slurm = bench_slurm(root, args.slurm, args.poll_freq) if args.slurm else []
    if ssh:
        print(f"\nSSH to 127.0.0.1, {args.ssh} trivial electrons, poll_freq={args.poll_freq}s")
        print(f"{'mode':8} {'wall s':>8} {'connections':>12} {'remote commands':>16}")
        for row in ssh:
            print(f"{row['mode']:8} {row['wall_s']:8.1f} {row['connections']:12d} "
                  f"{row['remote_commands']:16d}")
        pooled, naive = ssh
        print(f"naive/pooled: wall x{naive['wall_s'] / pooled['wall_s']:.2f}, connections "
              f"x{naive['connections'] / max(1, pooled['connections']):.0f}, remote commands "
              f"x{naive['remote_commands'] / max(1, pooled['remote_commands']):.1f}")
    if slurm:
        print(f"\nlocal Slurm, {args.slurm} trivial electrons, poll_freq={args.poll_freq}s")
        print(f"{'mode':8} {'wall s':>8} {'sbatch':>8} {'status queries':>15} "
              f"{'poll rounds':>12}")
        for row in slurm:
            print(f"{row['mode']:8} {row['wall_s']:8.1f} {row['sbatch_calls']:8d} "
                  f"{row['status_queries']:15d} {row['poll_rounds']:12d}")
        array, naive = slurm
        print(f"naive/array: wall x{naive['wall_s'] / array['wall_s']:.2f}, sbatch "
              f"x{naive['sbatch_calls'] / max(1, array['sbatch_calls']):.0f}, status queries "
              f"x{naive['status_queries'] / max(1, array['status_queries']):.1f}")


if __name__ == "__main__":
    main()
