"""Who may sign what: the keys behind every pickle this machine agrees to load.

Nothing is unpickled unless its HMAC-SHA256 tag checks out with a key the file cannot
choose. The algorithm is fixed; a file only says which task it claims to be for.

- The **installation key** is this user's secret: ``COVALENT_CORE_PACKAGE_KEY`` if set
  (set the same value on every host that dispatches or fetches, e.g. Airflow workers
  and triggerers), else 32 random bytes created on first use in
  ``<data_dir>/package.key`` (mode 0600). It never leaves this machine.
- A **task key** is derived from it for one submission of one node
  (:class:`Binding`: dispatch id, node id, attempt and a fresh nonce). The runner signs
  the task's outcome with it, so an outcome verifies only for the binding it names,
  and the dispatcher checks that binding against the node it is fetching: a result
  swapped in from another node or dispatch, or made up by someone without the key, is
  refused before it is unpickled.
- How the runner learns the task key: with ``COVALENT_CORE_PACKAGE_KEY`` set on the far
  side too, it derives it and the package carries no key at all (the runner then also
  refuses any package this user's key did not sign). Otherwise the package carries the
  task key, so only whoever can read that package could sign an outcome, and only
  for that one task.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covalent_core.errors import TaskPackageError

KEY_ENV = "COVALENT_CORE_PACKAGE_KEY"
KEY_FILE = "package.key"
_file_keys: dict[Path, bytes] = {}
_current: tuple[Any, bytes] | None = None  # (the loaded settings, their key): the hot path
_lock = threading.Lock()


@dataclass(frozen=True)
class Binding:
    """What one signed file is for: a node of a dispatch, one attempt, one submission."""

    dispatch_id: str
    node_id: int
    attempt: int
    nonce: str

    @classmethod
    def new(cls, dispatch_id: str, node_id: int, attempt: int) -> Binding:
        return cls(str(dispatch_id), int(node_id), int(attempt), secrets.token_hex(16))

    @classmethod
    def from_header(cls, value: Any, what: str) -> Binding:
        try:
            return cls(str(value["dispatch_id"]), int(value["node_id"]), int(value["attempt"]),
                       str(value["nonce"]))
        except (TypeError, KeyError, ValueError):
            raise TaskPackageError(f"{what} names no valid binding (dispatch, node, attempt); "
                                   "it was not unpickled") from None

    def to_header(self) -> dict[str, Any]:
        return {"dispatch_id": self.dispatch_id, "node_id": self.node_id,
                "attempt": self.attempt, "nonce": self.nonce}

    def key(self, root: bytes) -> bytes:
        """The task key of this binding under ``root`` (the installation key)."""
        text = json.dumps(self.to_header(), sort_keys=True).encode()
        return hmac.new(root, b"covalent-core task key\n" + text, hashlib.sha256).digest()

    def describe(self) -> str:
        return f"dispatch {self.dispatch_id}, node {self.node_id}, attempt {self.attempt}"


def shared_key() -> bytes | None:
    """The key set in the environment, shared by every host of a deployment."""
    value = os.environ.get(KEY_ENV)
    return value.encode() if value else None


def installation_key() -> bytes:
    """This user's signing key (see the module docstring); created on first use."""
    shared = shared_key()
    if shared is not None:
        return shared
    from covalent_core.config import settings

    global _current
    loaded = settings()  # the same object until the config is reloaded
    known = _current
    if known is not None and known[0] is loaded:
        return known[1]
    path = Path(loaded.dispatcher.data_dir) / KEY_FILE
    with _lock:
        key = _file_keys.get(path)
        if key is None:
            key = _file_keys[path] = _load_or_create(path)
        _current = (loaded, key)
    return key


def _load_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 32:
            raise TaskPackageError(
                f"the signing key {path} is damaged ({len(key)} bytes); delete it (results "
                "of running remote jobs will then be refused) or restore it"
            ) from None
        return key
    key = secrets.token_hex(32).encode()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key


def tag(key: bytes, header: dict[str, Any], body: bytes) -> str:
    """HMAC-SHA256 over the header (without its tag) and the body."""
    signed = json.dumps({k: v for k, v in header.items() if k != "tag"}, sort_keys=True)
    return hmac.new(key, signed.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def verify(key: bytes, header: dict[str, Any], body: bytes, what: str) -> None:
    if not hmac.compare_digest(tag(key, header, body), str(header.get("tag", ""))):
        raise TaskPackageError(
            f"{what} failed its signature check: it was not made with this installation's key "
            "for the task it names (forged, altered, swapped from another task, or signed "
            f"with another {KEY_ENV}); it was not unpickled"
        )


_DATA_MAGIC = b"covalent-core data 1\n"
_TAG_LEN = 64  # hex digits of a SHA-256 HMAC


def seal_data(place: str, data: bytes) -> bytes:
    """``data`` sealed for storage at ``place`` (a name that ties it to where it belongs)."""
    return _DATA_MAGIC + _data_tag(place, data) + b"\n" + data


def unseal_data(place: str, sealed: bytes, what: str) -> bytes:
    """The data in ``sealed`` once its tag for ``place`` checks out; ``what`` names it."""
    head = len(_DATA_MAGIC) + _TAG_LEN + 1
    if not sealed.startswith(_DATA_MAGIC) or len(sealed) < head:
        raise TaskPackageError(f"{what} is not a covalent-core data file (no seal); it was "
                               "not unpickled")
    body = sealed[head:]
    if not hmac.compare_digest(sealed[len(_DATA_MAGIC):head - 1], _data_tag(place, body)):
        raise TaskPackageError(
            f"{what} failed its signature check: it was altered, cut short, moved here from "
            "another node or dispatch, or written with another installation key; it was "
            "not unpickled"
        )
    return body


def _data_tag(place: str, data: bytes) -> bytes:
    signed = b"covalent-core data\n" + place.encode() + b"\n" + data
    return hmac.new(installation_key(), signed, hashlib.sha256).hexdigest().encode()
