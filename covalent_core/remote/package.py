"""The task package and its outcome: the one format every remote backend ships.

A package is three parts: a magic line, a JSON header (format, Python and cloudpickle
versions, metadata, the binding to one node's attempt, an HMAC-SHA256 tag) and a
cloudpickle payload. The header is checked before anything is unpickled, so a corrupt,
forged, swapped or incompatible file fails with a message saying what did not match
instead of running whatever it holds. The keys are :mod:`covalent_core.remote.signing`'s.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import cloudpickle

from covalent_core.errors import TaskPackageError
from covalent_core.remote.signing import (
    KEY_ENV,
    Binding,
    installation_key,
    shared_key,
    tag,
    verify,
)
from covalent_core.remote.sources import SourceMap, capture, format_exception, installed_roots

# 2: outcomes carry task records (extras); 3: tasks carry source lines, every file is
# bound to one attempt of one node and signed with HMAC-SHA256 only.
FORMAT_VERSION = 3
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
    ``metadata`` names the node (``dispatch_id``, ``node_id``, ``attempt``); the package
    is bound to it, and so is the outcome the runner signs with the package's task key.
    A package read by :meth:`from_bytes` keeps its ``binding`` and ``key`` for that.
    """

    function: Any
    args: list[Any]
    kwargs: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    sources: SourceMap = field(default_factory=SourceMap)
    binding: Binding = field(default=None)  # type: ignore[assignment]  # set in __post_init__
    key: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if self.binding is None:
            self.binding = binding_for(self.metadata)

    @property
    def job_name(self) -> str:
        """A name for this submission's job, unique and safe as a file or job name.

        Plugins that name their jobs with it can find a job again by name after a crash
        (``RemoteExecutor.find_job``).
        """
        dispatch = re.sub(r"[^A-Za-z0-9_.-]", "_", self.binding.dispatch_id)[:36]
        return f"{dispatch}-{self.binding.node_id}-{self.binding.nonce[:12]}"

    def to_bytes(self) -> bytes:
        ship_by_value(self.function)
        payload = {"function": self.function, "args": self.args, "kwargs": self.kwargs,
                   "sources": self.sources if self.sources.codes else capture(self.function)}
        binding = self.binding
        task_key = binding.key(installation_key())
        extra = {} if shared_key() is not None else {"task_key": task_key.hex()}
        return _seal("task", payload, self.metadata, binding, task_key, extra)

    @classmethod
    def from_bytes(cls, data: bytes) -> TaskPackage:
        """Open a package on the far side; refuse one this user's key did not sign."""
        return SignedTask.verify(data).load()


@dataclass(frozen=True)
class SignedTask:
    """A task package whose signature checked out, not yet unpickled.

    The runner keeps the binding and key even when unpickling then fails (a module
    missing on this side), so that failure still reaches the dispatcher as a signed
    outcome.
    """

    header: dict[str, Any]
    body: bytes
    binding: Binding
    key: bytes

    @classmethod
    def verify(cls, data: bytes) -> SignedTask:
        header, body = _read_checked("task", data)
        binding = Binding.from_header(header.get("binding"), "this task package")
        shared = shared_key()
        if shared is not None:
            key = binding.key(shared)
        elif "task_key" in header:
            try:
                key = bytes.fromhex(str(header["task_key"]))
            except ValueError:
                raise TaskPackageError("this task package has a damaged header (its task key "
                                       "is not hex); it was not unpickled") from None
        else:
            raise TaskPackageError(
                f"this task package carries no task key: it was signed with a shared {KEY_ENV}, "
                "but that variable is not set here (set the same value on both sides), or "
                "its header is damaged; it was not unpickled"
            )
        verify(key, header, body, "this task package")
        check_versions(header, "task")  # signed: a mismatch is real, not damage
        return cls(header, body, binding, key)

    def load(self) -> TaskPackage:
        payload = cloudpickle.loads(self.body)
        return TaskPackage(payload["function"], payload["args"], payload["kwargs"],
                           self.header["metadata"], payload["sources"], self.binding, self.key)


def binding_for(metadata: dict[str, Any]) -> Binding:
    """A fresh binding for one submission of the node ``metadata`` names."""
    return Binding.new(str(metadata.get("dispatch_id", "")), int(metadata.get("node_id", 0)),
                       int(metadata.get("attempt", 1)))


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
        if not os.path.realpath(file).startswith(installed_roots()):
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

    def to_bytes(self, binding: Binding, key: bytes) -> bytes:
        """Seal with the task key of the package this outcome answers."""
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
            ).to_bytes(binding, key)
        payload = {**self.__dict__, "exception": exc, "value": None, "value_bytes": value_bytes}
        return _seal("outcome", payload, {"ok": self.ok}, binding, key)

    @classmethod
    def from_bytes(cls, data: bytes, expect: Binding | None = None) -> Outcome:
        """Open an outcome; refuse one not signed for the node being fetched.

        ``expect`` is the exact binding of the submission (in-process executors know
        it); without it, the task running in this context (dispatch, node, attempt)
        is what the outcome must name: an earlier attempt of the same node is accepted
        (a job reattached after a restart), anything else is refused.
        """
        header, body = _read_checked("outcome", data)
        binding = Binding.from_header(header.get("binding"), "this outcome")
        _check_binding(binding, expect)
        verify(binding.key(installation_key()), header, body,
               f"the outcome for {binding.describe()}")
        check_versions(header, "outcome")
        payload = cloudpickle.loads(body)
        payload["value"] = cloudpickle.loads(payload.pop("value_bytes"))
        return cls(**payload)


def _check_binding(binding: Binding, expect: Binding | None) -> None:
    from covalent_core.executor.context import current_task

    if expect is not None:
        if binding != expect:
            raise TaskPackageError(
                f"the outcome is for {binding.describe()} (submission {binding.nonce}) but "
                f"{expect.describe()} (submission {expect.nonce}) is fetching it: it was "
                "swapped or replayed; it was not unpickled"
            )
        return
    task = current_task()
    if task is None:
        return
    if (binding.dispatch_id, binding.node_id) != (task.dispatch_id, task.node_id) or (
        binding.attempt > task.attempt
    ):
        raise TaskPackageError(
            f"the outcome is for {binding.describe()} but node {task.node_id} of dispatch "
            f"{task.dispatch_id} (attempt {task.attempt}) is fetching it: it was swapped in "
            "from another task; it was not unpickled"
        )


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


def _seal(kind: str, payload: Any, metadata: dict[str, Any], binding: Binding, key: bytes,
          extra: dict[str, Any] | None = None) -> bytes:
    body = cloudpickle.dumps(payload)
    header = {**versions(), "kind": kind, "metadata": metadata,
              "binding": binding.to_header(), **(extra or {})}
    header["tag"] = tag(key, header, body)
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
    try:
        header = json.loads(head)
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise TaskPackageError(f"covalent-core {kind} has a damaged header (not a JSON object); "
                               "the file was altered or cut short; it was not unpickled")
    return header, body


_REQUIRED = ("format", "python", "cloudpickle", "kind", "metadata", "binding", "tag")


def _read_checked(kind: str, data: bytes) -> tuple[dict[str, Any], bytes]:
    """The header and body, once the header is whole and of this format.

    The Python and cloudpickle versions are checked after the signature, so a damaged
    header is reported as damage rather than as a version mismatch.
    """
    header, body = read_header(kind, data)
    if header.get("format") != FORMAT_VERSION and "format" in header:
        check_versions(header, kind)  # names both formats
    missing = [k for k in _REQUIRED if k not in header]
    if missing or header.get("kind") != kind:
        what = f"no {', '.join(missing)}" if missing else f"kind {header.get('kind')!r}"
        raise TaskPackageError(f"covalent-core {kind} has a damaged header ({what}); the file "
                               "was altered or cut short; it was not unpickled")
    return header, body


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
