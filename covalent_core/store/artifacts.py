"""Pickled artifacts of a dispatch (graph, inputs, node outputs, result) as files.

Values live in files rather than SQLite rows so large outputs never bloat the
database and another process can read one output without loading the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cloudpickle

GRAPH = "graph.pkl"
INPUTS = "inputs.pkl"
RESULT = "result.pkl"


def node_output_name(node_id: int) -> str:
    return f"node_{node_id}.pkl"


def write(path: Path, value: Any) -> None:
    """Write atomically, so a crash never leaves a half-written output behind."""
    write_bytes(path, cloudpickle.dumps(value))


def write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_output(path: Path, data: bytes) -> None:
    """A node's output, written in place: half the file operations of ``write_bytes``.

    An output counts once its COMPLETED status is committed, which happens after this
    write. A file a crash left without that status is checked by ``readable`` on resume.
    """
    with open(path, "wb") as fh:
        fh.write(data)


def readable(path: Path) -> bool:
    """Whether an output file holds a whole pickle (a crash may have cut it short)."""
    try:
        read(path)
    except Exception:
        return False
    return True


def read(path: Path) -> Any:
    return cloudpickle.loads(path.read_bytes())
