"""The task package and its outcome: the one format every remote backend ships.

A package is three parts: a magic line, a JSON header (format, Python and cloudpickle
versions, metadata, integrity tag) and a cloudpickle payload. The header is checked
before anything is unpickled, so a corrupt, tampered or incompatible package fails
with a message naming both versions instead of an obscure unpickling error.

The integrity tag is a SHA-256 digest, or an HMAC-SHA256 when both sides share a key
in ``COVALENT_CORE_PACKAGE_KEY`` (the key travels in the environment, never in a package).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import sys
import sysconfig
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from covalent_core.errors import TaskPackageError
from covalent_core.remote.sources import SourceMap, capture, format_exception

FORMAT_VERSION = 3  # 2: outcomes carry task records (extras); 3: tasks carry source lines
KEY_ENV = "COVALENT_CORE_PACKAGE_KEY"
_MAGIC = {"task": b"covalent-core task\n", "outcome": b"covalent-core outcome\n"}


def versions() -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "cloudpickle": cloudpickle.__version__,
    }


@dataclass
class TaskPackage:
    """One task as it travels: the function, its arguments, metadata and source lines.

    ``sources`` is filled from the function when the package is written, so the far
    side's traceback can show the user's lines (see :mod:`covalent_core.remote.sources`).
    """

    function: Any
    args: list[Any]
    kwargs: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    sources: SourceMap = field(default_factory=SourceMap)

    def to_bytes(self) -> bytes:
        ship_by_value(self.function)
        payload = {"function": self.function, "args": self.args, "kwargs": self.kwargs,
                   "sources": self.sources if self.sources.codes else capture(self.function)}
        return _seal("task", payload, self.metadata)

    @classmethod
    def from_bytes(cls, data: bytes) -> TaskPackage:
        header, payload = _open("task", data)
        return cls(payload["function"], payload["args"], payload["kwargs"], header["metadata"],
                   payload["sources"])


def _installed_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(os.path.realpath(r) + os.sep for r in roots)


def ship_by_value(function: Any) -> None:
    """Make the user's own modules travel inside the package.

    A function from the user's project (a module next to their script, not an installed
    package) would otherwise be pickled by reference, and the far side, which has only
    the runner, could not import it.
    """
    targets = [function]
    inner = getattr(function, "function", None)
    if inner is not None:
        targets.append(inner)
    for target in targets:
        module = sys.modules.get(getattr(target, "__module__", "") or "")
        file = getattr(module, "__file__", None)
        if module is None or file is None or module.__name__ == "__main__":
            continue
        top = module.__name__.partition(".")[0]
        if top.startswith("covalent_") or top in _distributed_packages():
            continue  # installed (editable ones too): the far side installs it as well
        if not os.path.realpath(file).startswith(_installed_roots()):
            cloudpickle.register_pickle_by_value(module)


@functools.cache
def _distributed_packages() -> frozenset[str]:
    from importlib.metadata import packages_distributions

    return frozenset(packages_distributions())


class RemoteError(Exception):
    """Stands in for a task's exception that could not be pickled back."""


@dataclass
class Outcome:
    """What a task produced: its value, or its exception with the far side's traceback."""

    ok: bool
    value: Any = None
    exception: BaseException | None = None
    traceback: str = ""
    stdout: str = ""
    stderr: str = ""
    started_at: float = 0.0
    ended_at: float = 0.0
    extras: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        exc = self.exception
        if exc is not None:
            try:
                cloudpickle.dumps(exc)
            except Exception:
                exc = RemoteError(f"{type(exc).__name__}: {exc}")
        try:
            value_bytes = cloudpickle.dumps(self.value)
        except Exception as pickle_exc:
            return Outcome(
                ok=False,
                exception=RemoteError(f"the task's return value cannot be pickled: {pickle_exc}"),
                traceback=traceback.format_exc(), stdout=self.stdout, stderr=self.stderr,
                started_at=self.started_at, ended_at=self.ended_at,
            ).to_bytes()
        payload = {**self.__dict__, "exception": exc, "value": None, "value_bytes": value_bytes}
        return _seal("outcome", payload, {"ok": self.ok})

    @classmethod
    def from_bytes(cls, data: bytes) -> Outcome:
        _, payload = _open("outcome", data)
        payload["value"] = cloudpickle.loads(payload.pop("value_bytes"))
        return cls(**payload)


def run_captured(
    function: Any, args: list[Any], kwargs: dict[str, Any], sources: SourceMap | None = None
) -> Outcome:
    """Run a task in this process and turn whatever happens into an Outcome.

    ``sources`` renders the user's lines in the traceback of a task that raised, where
    the function's files are not on this side.
    """
    from covalent_core.remote.records import task_records

    started = time.time()
    with task_records() as collected:
        try:
            value = function(*args, **kwargs)
        except BaseException as exc:  # the task's own failure, reported not raised
            tb = format_exception(exc, sources)
            return Outcome(False, exception=exc, traceback=tb, started_at=started,
                           ended_at=time.time(), extras=collected())
    return Outcome(True, value=value, started_at=started, ended_at=time.time(),
                   extras=collected())


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV)
    return key.encode() if key else None


def _tag(payload: bytes) -> dict[str, str]:
    key = _key()
    if key:
        return {"alg": "hmac-sha256", "value": hmac.new(key, payload, hashlib.sha256).hexdigest()}
    return {"alg": "sha256", "value": hashlib.sha256(payload).hexdigest()}


def _seal(kind: str, payload: Any, metadata: dict[str, Any]) -> bytes:
    body = cloudpickle.dumps(payload)
    header = {**versions(), "kind": kind, "metadata": metadata, "tag": _tag(body)}
    return _MAGIC[kind] + json.dumps(header).encode() + b"\n" + body


def read_header(kind: str, data: bytes) -> tuple[dict[str, Any], bytes]:
    magic = _MAGIC[kind]
    if not data.startswith(magic):
        raise TaskPackageError(
            f"not a covalent-core {kind} (bad magic line); the file is truncated or something "
            "else was written in its place"
        )
    head, sep, body = data[len(magic):].partition(b"\n")
    if not sep:
        raise TaskPackageError(f"covalent-core {kind} has no header end; the file is truncated")
    return json.loads(head), body


def _open(kind: str, data: bytes) -> tuple[dict[str, Any], Any]:
    header, body = read_header(kind, data)
    check_versions(header, kind)
    expected = header["tag"]
    if expected["alg"] == "hmac-sha256":
        key = _key()
        if key is None:
            raise TaskPackageError(
                f"this {kind} is signed (hmac-sha256) but {KEY_ENV} is not set here; set the "
                "same key on both sides"
            )
        actual = hmac.new(key, body, hashlib.sha256).hexdigest()
    else:
        actual = hashlib.sha256(body).hexdigest()
    if not hmac.compare_digest(actual, expected["value"]):
        raise TaskPackageError(
            f"{kind} integrity check failed ({expected['alg']}): the payload was corrupted or "
            "altered in transit; it was not unpickled"
        )
    return header, cloudpickle.loads(body)


def check_versions(header: dict[str, Any], kind: str = "task") -> None:
    here = versions()
    if header.get("format") != FORMAT_VERSION:
        raise TaskPackageError(
            f"{kind} format {header.get('format')} cannot be read by this runner (format "
            f"{FORMAT_VERSION}); install the same covalent-core version on both sides"
        )
    if header.get("python") != here["python"]:
        raise TaskPackageError(
            f"{kind} was made by Python {header.get('python')} but this side runs Python "
            f"{here['python']} ({sys.executable}); pickled functions need the same minor "
            "version: point the executor's python_path at a matching interpreter"
        )
    theirs = str(header.get("cloudpickle", "")).split(".")[0]
    if theirs != here["cloudpickle"].split(".")[0]:
        raise TaskPackageError(
            f"{kind} was made with cloudpickle {header.get('cloudpickle')} but this side has "
            f"cloudpickle {here['cloudpickle']}; install the same major version on both sides"
        )
