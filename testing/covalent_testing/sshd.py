"""A real OpenSSH server on 127.0.0.1, with its own keys and config, started and stopped by PID.

Everything lives in one temporary directory (host key, client key, authorized_keys,
known_hosts, config, log), so it runs next to a system sshd, as root or not, without
touching ~/.ssh. ``restart()`` drops every open connection the way a rebooted login node
does, which is what the reconnect tests need.

Use ``with sshd(tmp_dir) as server:`` or the ``sshd_server`` fixture (import it into a
conftest). ``server.executor_options()`` gives the keyword arguments an SSH executor needs.
"""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from covalent_testing._proc import children, free_port, kill_pid, port_open, stop, wait_until

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL)


@dataclass
class SSHServer:
    directory: Path
    env: dict[str, str] = field(default_factory=dict)
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    username: str = field(default_factory=getpass.getuser)
    _proc: subprocess.Popen[bytes] | None = None

    @property
    def client_key(self) -> Path:
        return self.directory / "client_key"

    @property
    def known_hosts(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def config(self) -> Path:
        return self.directory / "sshd_config"

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def executor_options(self) -> dict[str, object]:
        """Connection keywords shared by SSHExecutor and SlurmExecutor (as ``hostname``)."""
        return {
            "username": self.username,
            "hostname": self.host,
            "port": self.port,
            "ssh_key_file": str(self.client_key),
            "known_hosts": str(self.known_hosts),
        }

    def prepare(self) -> None:
        if not Path(SSHD).exists():
            raise RuntimeError("sshd not found: apt-get install openssh-server openssh-client")
        self.directory.mkdir(parents=True, exist_ok=True)
        PRIVSEP_DIR.mkdir(parents=True, exist_ok=True)
        _keygen(self.directory / "host_key")
        _keygen(self.client_key)
        (self.directory / "authorized_keys").write_text(
            (self.directory / "client_key.pub").read_text())
        host_pub = (self.directory / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        lines = [
            f"ListenAddress {self.host}",
            f"Port {self.port}",
            f"HostKey {self.directory / 'host_key'}",
            f"AuthorizedKeysFile {self.directory / 'authorized_keys'}",
            f"PidFile {self.directory / 'sshd.pid'}",
            "StrictModes no",
            "UsePAM no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "Subsystem sftp internal-sftp",
            "MaxStartups 10:30:100",
            "LogLevel VERBOSE",
        ]
        if self.env:
            lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in self.env.items()))
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        log = self.log.open("ab")
        self._proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)], stdout=log, stderr=log,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(lambda: port_open(self.port), 10, f"sshd on port {self.port}", self._proc,
                   self.log)

    def connections(self) -> list[int]:
        """PIDs of the per-connection sshd processes (children of the listener)."""
        return children(self._proc.pid) if self._proc is not None else []

    def stop(self) -> None:
        """Stop the listener and drop every open connection (their processes, by PID)."""
        if self._proc is None:
            return
        sessions = self.connections()
        stop(self._proc)
        for pid in sessions:
            kill_pid(pid)
        self._proc = None

    def restart(self) -> None:
        self.stop()
        wait_until(lambda: not port_open(self.port), 10, "old sshd still listening")
        self.start()


@contextmanager
def sshd(directory: Path, env: dict[str, str] | None = None) -> Iterator[SSHServer]:
    """A running sshd on 127.0.0.1 whose sessions see ``env`` (sshd's SetEnv)."""
    server = SSHServer(Path(directory), env=dict(env or {}))
    server.prepare()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    with sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server

