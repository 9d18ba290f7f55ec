"""Pickled artifacts of a dispatch (graph, inputs, node outputs, result) as files.

Values live in files rather than SQLite rows so large outputs never bloat the
database and another process can read one output without loading the rest.

Every file is sealed: a magic line, an HMAC-SHA256 tag with this installation's key
(:mod:`covalent_core.remote.signing`) over the file's place (``<dispatch id>/<name>``)
and its pickle, then the pickle. :func:`read` checks the tag before it unpickles, so a
file planted in the data dir, altered, or moved from another node or dispatch is
refused, naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cloudpickle

from covalent_core.remote.signing import seal_data, unseal_data

GRAPH = "graph.pkl"  # the TransportGraph, with the dispatch's inputs and parameter values
RESULT = "result.pkl"


def node_output_name(node_id: int) -> str:
    return f"node_{node_id}.pkl"


def _place(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def seal(path: Path, data: bytes) -> bytes:
    """``data`` (a pickle) as the sealed contents of the file at ``path``."""
    return seal_data(_place(path), data)


def write(path: Path, value: Any) -> None:
    """Pickle and seal ``value`` atomically, so a crash never leaves half a file."""
    write_bytes(path, seal(path, cloudpickle.dumps(value)))


def write_bytes(path: Path, data: bytes) -> None:
    """Write raw bytes atomically (a temporary file renamed into place)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk gets its space back
        raise


def write_output(path: Path, data: bytes) -> None:
    """A node's output (a pickle), sealed and written in place: half the file operations
    of ``write_bytes``.

    An output counts once its COMPLETED status is committed, which happens after this
    write. A file a crash left without that status is checked by ``readable`` on resume.
    """
    with open(path, "wb") as fh:
        fh.write(seal(path, data))


def copy(source: Path, target: Path) -> None:
    """Copy a sealed file to another place (another node or dispatch), sealed anew."""
    write_bytes(target, seal(target, unsealed(source)))


def unsealed(path: Path) -> bytes:
    """The pickle in a sealed file, once its tag checks out."""
    return unseal_data(_place(path), path.read_bytes(), str(path))


def readable(path: Path) -> bool:
    """Whether an output file holds a whole, sealed pickle (a crash may have cut it)."""
    try:
        read(path)
    except Exception:
        return False
    return True


def read(path: Path) -> Any:
    return cloudpickle.loads(unsealed(path))
