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


def read(path: Path) -> Any:
    return cloudpickle.loads(path.read_bytes())
