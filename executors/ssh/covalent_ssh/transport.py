"""One pooled SSH connection per host, shared by every task of every executor using it.

Covalent's plugin opened a connection per task, so a workflow fanning out to a few
hundred electrons hit sshd's ``MaxStartups`` and failed at random. Here all tasks of an
event loop share one connection per (host, port, user): commands run on channels of it
(at most ``max_sessions`` at once, under sshd's ``MaxSessions``), files move over one
SFTP session on it. A dropped connection is reopened on next use, with the retry
settings of the executor, and the command is sent again: every command we send is
idempotent, so repeating one is safe.

``Shell`` is the small interface the executors program against; ``covalent_slurm``
provides a local implementation of it for clusters reached without SSH.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import asyncssh
from pydantic import SecretStr

from covalent_ssh.errors import SSHConnectError

log = logging.getLogger(__name__)
T = TypeVar("T")
_DROPPED = (asyncssh.ConnectionLost, asyncssh.DisconnectError, asyncssh.SFTPConnectionLost,
            ConnectionError, EOFError)


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class Shell(Protocol):
    """Where job commands run and job files live: a remote host, or this one."""

    description: str

    async def run(self, command: str, input: str | None = None) -> CommandResult: ...

    async def write(self, path: str, data: bytes) -> None: ...

    async def read(self, path: str) -> bytes: ...

    async def mkdir(self, path: str) -> None: ...

    async def rmtree(self, path: str) -> None: ...


@dataclass(frozen=True)
class SSHTarget:
    """How to reach and authenticate to one host.

    The pool key is (host, port, username), the host-key settings and every credential:
    the key and certificate files by path and content (a key replaced in place is another
    key) and the passphrase. So an executor never borrows a connection made with
    credentials or checks it did not ask for: a wrong passphrase fails, naming the host,
    even while a connection opened with the right one is up.
    """

    host: str
    port: int = 22
    username: str = ""
    key_file: str = ""
    cert_file: str = ""
    known_hosts: str = "~/.ssh/known_hosts"
    verify_host_key: bool = True
    passphrase: SecretStr | None = field(default=None, repr=False, compare=False)
    retry_connect: bool = True
    max_connection_attempts: int = 5
    retry_wait_time: float = 5.0
    max_sessions: int = 8

    @property
    def key(self) -> tuple[object, ...]:
        """Which pooled connection this target may use (the passphrase stays a SecretStr)."""
        return (self.host, self.port, self.username, self.key_file, _content_id(self.key_file),
                self.cert_file, _content_id(self.cert_file), self.passphrase, self.known_hosts,
                self.verify_host_key)

    @property
    def description(self) -> str:
        return f"{self.username}@{self.host}:{self.port}"

    def connect_options(self) -> dict[str, object]:
        options: dict[str, object] = {
            "host": self.host, "port": self.port, "username": self.username or None,
            "keepalive_interval": 15, "keepalive_count_max": 4, "connect_timeout": 30,
        }
        if self.key_file:
            key = os.path.expanduser(self.key_file)
            if not os.path.exists(key):
                raise SSHConnectError(
                    f"ssh_key_file {key} does not exist; point ssh_key_file at the private key "
                    f"authorized on {self.description}"
                )
            cert = os.path.expanduser(self.cert_file) if self.cert_file else None
            if cert and not os.path.exists(cert):
                raise SSHConnectError(f"cert_file {cert} does not exist; fix cert_file or unset it")
            options["client_keys"] = [(key, cert)] if cert else [key]
        if self.passphrase is not None:
            options["passphrase"] = self.passphrase.get_secret_value()
        if self.verify_host_key:
            known = os.path.expanduser(self.known_hosts or "~/.ssh/known_hosts")
            if not os.path.exists(known):
                raise SSHConnectError(
                    f"known_hosts file {known} does not exist, so the host key of "
                    f"{self.description} cannot be verified; add it with `ssh-keyscan -p "
                    f"{self.port} {self.host} >> {known}` (after checking the fingerprint) or "
                    "set known_hosts to the file that has it"
                )
            options["known_hosts"] = known
        else:
            options["known_hosts"] = None
        return options


def _content_id(path: str) -> str | None:
    """A digest of the file at ``path`` (``None`` if unset or missing: connecting says so)."""
    if not path:
        return None
    try:
        with open(os.path.expanduser(path), "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


class SSHConnection:
    """A lazily (re)opened connection plus its SFTP session; implements ``Shell``."""

    def __init__(self, target: SSHTarget) -> None:
        self.target = target
        self.description = target.description
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._sftp_conn: asyncssh.SSHClientConnection | None = None
        self._lock = asyncio.Lock()
        self._sessions = asyncio.Semaphore(max(1, target.max_sessions))

    async def _connection(self) -> asyncssh.SSHClientConnection:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                self._conn = await self._open()
                self._sftp = None
            return self._conn

    async def _open(self) -> asyncssh.SSHClientConnection:
        target = self.target
        options = target.connect_options()
        if not target.verify_host_key:
            log.warning("host key checking is OFF for %s (verify_host_key=False): the "
                        "connection can be intercepted", target.description)
        attempts = max(1, target.max_connection_attempts) if target.retry_connect else 1
        last: BaseException | None = None
        for attempt in range(1, attempts + 1):
            try:
                conn = await asyncssh.connect(**options)  # type: ignore[arg-type]
            except asyncssh.HostKeyNotVerifiable as exc:
                raise SSHConnectError(
                    f"the host key of {target.description} is not in {options['known_hosts']} "
                    f"({exc.reason}); add the right key there, or set verify_host_key=False "
                    "only on a network you trust"
                ) from None
            except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
                raise SSHConnectError(
                    f"cannot load ssh_key_file {target.key_file} for {target.description}: "
                    f"{exc}; check the file and its passphrase"
                ) from None
            except asyncssh.PermissionDenied as exc:
                raise SSHConnectError(
                    f"{target.description} refused our key ({exc.reason}); check username and "
                    "ssh_key_file (and passphrase), and that the public key is in the "
                    "remote ~/.ssh/authorized_keys"
                ) from None
            except (OSError, asyncssh.Error, asyncio.TimeoutError) as exc:
                last = exc
                if attempt < attempts:
                    log.info("connecting to %s failed (%s); attempt %d/%d in %.1fs",
                             target.description, exc, attempt, attempts, target.retry_wait_time)
                    await asyncio.sleep(target.retry_wait_time)
                continue
            log.debug("opened an SSH connection to %s", target.description)
            return conn
        raise SSHConnectError(
            f"could not connect to {target.description} after {attempts} attempt(s): "
            f"{type(last).__name__}: {last}. Check hostname and port, that sshd runs there, "
            "or raise max_connection_attempts / retry_wait_time"
        )

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        conn = await self._connection()
        async with self._lock:
            if self._sftp is None or self._sftp_conn is not conn:
                self._sftp = await conn.start_sftp_client()
                self._sftp_conn = conn
            return self._sftp

    async def _retrying(self, operation: Callable[[], Awaitable[T]], what: str) -> T:
        """Run ``operation`` again on a fresh connection if the old one dropped under it."""
        for attempt in range(3):
            conn = self._conn
            try:
                return await operation()
            except SSHConnectError:
                raise
            except (OSError, asyncssh.Error) as exc:
                current = self._conn or conn
                dropped = isinstance(exc, _DROPPED) or (current is not None and current.is_closed())
                if not dropped:
                    raise
                log.warning("connection to %s dropped during %s (%s); reconnecting",
                            self.description, what, exc)
                await self._drop(current)
                if attempt == 2:
                    raise SSHConnectError(
                        f"connection to {self.description} kept dropping during {what}: {exc}"
                    ) from exc
        raise AssertionError("unreachable")

    async def _drop(self, conn: asyncssh.SSHClientConnection | None) -> None:
        async with self._lock:
            if conn is not None and conn is self._conn:
                self._conn = None
                self._sftp = None
                conn.abort()

    async def run(self, command: str, input: str | None = None) -> CommandResult:
        async def go() -> CommandResult:
            conn = await self._connection()
            async with self._sessions:
                done = await conn.run(command, input=input, check=False, timeout=300)
            return CommandResult(
                done.exit_status if done.exit_status is not None else -1,
                str(done.stdout or ""), str(done.stderr or ""),
            )

        return await self._retrying(go, f"`{command.splitlines()[0][:60]}`")

    async def write(self, path: str, data: bytes) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            async with sftp.open(path, "wb") as fh:
                await fh.write(data)

        await self._retrying(go, f"upload of {path}")

    async def read(self, path: str) -> bytes:
        async def go() -> bytes:
            sftp = await self._sftp_client()
            try:
                async with sftp.open(path, "rb") as fh:
                    return await fh.read()
            except asyncssh.SFTPNoSuchFile:
                raise FileNotFoundError(f"{self.description}:{path}") from None

        return await self._retrying(go, f"download of {path}")

    async def mkdir(self, path: str) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            try:
                await sftp.mkdir(path)
            except asyncssh.SFTPFailure:
                if not await sftp.isdir(path):  # else made by an attempt whose reply was lost
                    raise

        await self._retrying(go, f"mkdir {path}")

    async def rmtree(self, path: str) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            await sftp.rmtree(path, ignore_errors=True)

        await self._retrying(go, f"removal of {path}")

    async def close(self) -> None:
        await self._drop(self._conn)


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[object, ...],
                                                                  SSHConnection]]
_pools = weakref.WeakKeyDictionary()


def connection(target: SSHTarget) -> SSHConnection:
    """The shared connection to ``target`` for the running event loop."""
    pool = _pools.setdefault(asyncio.get_running_loop(), {})
    if target.key not in pool:
        pool[target.key] = SSHConnection(target)
    return pool[target.key]


async def once(shell: Shell, key: str, factory: Callable[[], Awaitable[T]]) -> T:
    """``factory()`` run once per shell and key, however many tasks ask at the same time.

    Facts about a host (its interpreter, the absolute path of a work dir) are learned
    with one command per connection, not one per task; a failure is not remembered.
    """
    cache: dict[str, asyncio.Future[T]] = shell.__dict__.setdefault("_once", {})
    future = cache.get(key)
    if future is None or (future.done() and future.exception() is not None):
        future = cache[key] = asyncio.ensure_future(factory())
    return await asyncio.shield(future)

