"""The ``Shell`` for a process that already runs where ``sbatch`` is (a login node, a job).

With ``local=True`` the executor runs Slurm's commands as subprocesses and writes job
files directly, instead of going through SSH. Relative paths are taken from the home
directory, as they are over SSH, so one config works both ways.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import weakref

from covalent_ssh.transport import CommandResult


class LocalShell:
    def __init__(self) -> None:
        self.description = f"{socket.gethostname()} (local)"
        self.home = os.path.expanduser("~")

    def _path(self, path: str) -> str:
        return os.path.join(self.home, os.path.expanduser(path))

    async def run(self, command: str, input: str | None = None) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            "bash", "-c", command, cwd=self.home,
            stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate(input.encode() if input is not None else None)
        return CommandResult(proc.returncode if proc.returncode is not None else -1,
                             out.decode(errors="replace"), err.decode(errors="replace"))

    async def write(self, path: str, data: bytes) -> None:
        def write() -> None:
            with open(self._path(path), "wb") as fh:
                fh.write(data)

        await asyncio.to_thread(write)

    async def read(self, path: str) -> bytes:
        def read() -> bytes:
            with open(self._path(path), "rb") as fh:
                return fh.read()

        return await asyncio.to_thread(read)

    async def mkdir(self, path: str) -> None:
        await asyncio.to_thread(os.makedirs, self._path(path), exist_ok=True)

    async def rmtree(self, path: str) -> None:
        await asyncio.to_thread(shutil.rmtree, self._path(path), True)


_shells: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LocalShell]
_shells = weakref.WeakKeyDictionary()


def local_shell() -> LocalShell:
    """One per event loop, like the SSH pool, so its per-shell caches are shared."""
    loop = asyncio.get_running_loop()
    if loop not in _shells:
        _shells[loop] = LocalShell()
    return _shells[loop]
