"""Dependencies and hooks an electron asks its executor to run around it (Covalent's Deps*)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DepsCall:
    """A call made before or after the task; ``retval_keyword`` passes its return value to it."""

    func: Callable[..., Any]
    args: Sequence[Any] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    retval_keyword: str = ""

    def __call__(self) -> Any:
        return self.func(*self.args, **self.kwargs)


@dataclass
class DepsPip:
    """Python packages the task needs, installed with pip where the task runs."""

    packages: list[str] = field(default_factory=list)
    reqs_path: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.packages, str):
            self.packages = [self.packages]
        if self.reqs_path:
            lines = Path(self.reqs_path).read_text().splitlines()
            self.packages += [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]

    def __call__(self) -> None:
        if self.packages:
            _run([sys.executable, "-m", "pip", "install", "--quiet", *self.packages])


@dataclass
class DepsBash:
    """Shell commands run where the task runs, before it."""

    commands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.commands, str):
            self.commands = [self.commands]

    def __call__(self) -> None:
        for cmd in self.commands:
            _run(cmd, shell=True)


def _run(cmd: str | list[str], shell: bool = False) -> None:
    """Run a dependency step so its output lands in the task's captured streams."""
    proc = subprocess.run(cmd, shell=shell, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"dependency step {cmd!r} exited with {proc.returncode}: {proc.stderr}")
