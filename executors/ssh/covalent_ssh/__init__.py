"""covalent-ssh: run covalent_core tasks on remote hosts over one pooled SSH connection per host."""

from covalent_ssh.errors import RemoteEnvironmentError, RemoteJobError, SSHConnectError
from covalent_ssh.ssh import SSHExecutor
from covalent_ssh.transport import CommandResult, Shell, SSHConnection, SSHTarget, connection

__all__ = [
    "CommandResult",
    "RemoteEnvironmentError",
    "RemoteJobError",
    "SSHConnectError",
    "SSHConnection",
    "SSHExecutor",
    "SSHTarget",
    "Shell",
    "connection",
]
