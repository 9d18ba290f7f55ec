"""A real single-node Slurm cluster (munged, slurmctld, slurmd) on 127.0.0.1, stopped by PID.

It needs Debian's ``slurmctld slurmd slurm-client munge``. Each cluster has its own
directory (munge key and socket, slurm.conf, spool and state dirs, logs) and free
ports, so several can run side by side and none touches /etc. Clients find it through
``SLURM_CONF``: ``cluster.env()`` gives that variable, and ``slurm_login_node`` is an
sshd whose sessions get it (sshd's SetEnv), i.e. a login node in front of the cluster.

The scheduler settings make jobs start in well under a second (``batch_sched_delay=0``,
``sched_min_interval=0``); without accounting storage ``squeue``/``scontrol`` answer
for jobs until ``MinJobAge`` seconds after they end.
"""

from __future__ import annotations

import getpass
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from covalent_testing._proc import free_port, stop, wait_until
from covalent_testing.sshd import SSHServer, sshd

MUNGED = "/usr/sbin/munged"
SLURMCTLD = "/usr/sbin/slurmctld"
SLURMD = "/usr/sbin/slurmd"


@dataclass
class SlurmCluster:
    directory: Path
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    min_job_age: int = 600
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.directory / "slurm.conf"

    @property
    def munge_socket(self) -> Path:
        return self.directory / "munge" / "munge.socket"

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def prepare(self) -> None:
        for tool in (MUNGED, SLURMCTLD, SLURMD):
            if not Path(tool).exists():
                raise RuntimeError(
                    f"{tool} not found: apt-get install slurmctld slurmd slurm-client munge")
        munge = self.directory / "munge"
        for sub in ("munge", "state", "spool", "log"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        # munged refuses a socket directory others cannot traverse.
        munge.chmod(0o755)
        self.directory.chmod(0o755)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        d = self.directory
        self.conf.write_text("\n".join([
            "ClusterName=covalenttest",
            "SlurmctldHost=localhost",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            f"SlurmUser={getpass.getuser()}",
            f"SlurmdUser={getpass.getuser()}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={d / 'state'}",
            f"SlurmdSpoolDir={d / 'spool'}",
            f"SlurmctldPidFile={d / 'slurmctld.pid'}",
            f"SlurmdPidFile={d / 'slurmd.pid'}",
            f"SlurmctldLogFile={d / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={d / 'log' / 'slurmd.log'}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            "MailProg=/bin/true",
            "ReturnToService=2",
            "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0",
            f"MinJobAge={self.min_job_age}",
            "MaxArraySize=1001",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} State=UNKNOWN",
            "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
        ]) + "\n")

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        log = (self.directory / "log" / f"{name}.out").open("ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                env={**os.environ, **self.env()})
        log.close()
        self._procs[name] = proc
        return proc

    def start(self) -> None:
        munge = self.directory / "munge"
        munged = self._spawn("munged", [
            MUNGED, "--foreground", "--force", f"--socket={self.munge_socket}",
            f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
            f"--seed-file={munge / 'munged.seed'}",
            f"--log-file={self.directory / 'log' / 'munged.log'}",
        ])
        wait_until(self.munge_socket.exists, 10, "munged", munged,
                   self.directory / "log" / "munged.log")
        ctld = self._spawn("slurmctld", [SLURMCTLD, "-D", "-i", "-f", str(self.conf)])
        wait_until(lambda: self._scontrol_ping(), 30, "slurmctld", ctld,
                   self.directory / "log" / "slurmctld.log")
        slurmd = self._spawn("slurmd", [SLURMD, "-D", "-N", "localhost", "-f", str(self.conf)])
        wait_until(self._node_idle, 30, "slurmd (node idle)", slurmd,
                   self.directory / "log" / "slurmd.log")

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster."""
        return subprocess.run(list(argv), capture_output=True, text=True, check=check,
                              timeout=60, env={**os.environ, **self.env()})

    def _scontrol_ping(self) -> bool:
        out = self.run("scontrol", "ping", check=False).stdout
        return "is UP" in out

    def _node_state(self) -> str:
        return self.run("sinfo", "-h", "-N", "-o", "%T", check=False).stdout.strip()

    def _node_idle(self) -> bool:
        return self._node_state() in ("idle", "mixed", "allocated")

    def node_down(self, reason: str = "covalent test") -> None:
        """Mark the node DOWN: its running jobs end NODE_FAIL (or are requeued)."""
        self.run("scontrol", "update", "nodename=localhost", "state=down", f"reason={reason}")

    def node_resume(self) -> None:
        """Bring the node back (asking again while it still shows DOWN) and wait until idle."""
        def resumed() -> bool:
            state = self._node_state()
            if state.startswith("down") or "drain" in state:
                self.run("scontrol", "update", "nodename=localhost", "state=resume", check=False)
                return False
            return state in ("idle", "mixed", "allocated")

        wait_until(resumed, 60, "node resume")

    def job_states(self, job_ids: list[str]) -> dict[str, str]:
        """``{"<id>_<index>": state}`` of array jobs, as squeue reports them."""
        out = self.run("squeue", "-h", "-r", "--states=all", "-o", "%i|%T", "-j",
                       ",".join(job_ids), check=False).stdout
        return dict(line.split("|", 1) for line in out.splitlines() if "|" in line)

    def stop(self) -> None:
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is not None:
                stop(proc)


@contextmanager
def slurm_cluster(directory: Path, cpus: int | None = None) -> Iterator[SlurmCluster]:
    cluster = SlurmCluster(Path(directory), cpus=cpus or os.cpu_count() or 1)
    cluster.prepare()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    """A running single-node cluster; set ``SLURM_CONF`` from ``slurm.env()`` to use it."""
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def slurm_login_node(slurm: SlurmCluster,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    """An sshd in front of ``slurm``: its sessions have ``SLURM_CONF`` set, as on a login node."""
    with sshd(tmp_path_factory.mktemp("login"), env=slurm.env()) as server:
        yield server
