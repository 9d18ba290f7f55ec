"""Covalent's ``Result``: a dispatch as read back from the store, from any process.

Values are loaded from their files only when asked for, so listing a 10,000-node
dispatch does not unpickle 10,000 outputs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from covalent_core.store import artifacts
from covalent_core.store.status import Status


def _dt(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=timezone.utc) if ts else None


class Result:
    NEW_OBJ = Status.NEW_OBJECT
    PENDING = Status.PENDING
    RUNNING = Status.RUNNING
    POSTPROCESSING = Status.POSTPROCESSING
    COMPLETED = Status.COMPLETED
    FAILED = Status.FAILED
    CANCELLED = Status.CANCELLED

    def __init__(self, record: dict[str, Any], nodes: list[dict[str, Any]]) -> None:
        self._record = record
        self._nodes = {n["node_id"]: n for n in nodes}

    # -- the dispatch -----------------------------------------------------------
    @property
    def dispatch_id(self) -> str:
        return self._record["dispatch_id"]

    @property
    def root_dispatch_id(self) -> str:
        return self._record["root_dispatch_id"]

    @property
    def lattice_name(self) -> str:
        return self._record["name"]

    @property
    def status(self) -> Status:
        return Status(self._record["status"])

    @property
    def error(self) -> str | None:
        return self._record["error"]

    @property
    def start_time(self) -> datetime | None:
        return _dt(self._record["started_at"])

    @property
    def end_time(self) -> datetime | None:
        return _dt(self._record["ended_at"])

    @property
    def results_dir(self) -> str:
        return self._record["results_dir"]

    @property
    def _dir(self) -> Path:
        return Path(self.results_dir)

    @cached_property
    def result(self) -> Any:
        path = self._dir / artifacts.RESULT
        return artifacts.read(path) if self.status == Status.COMPLETED and path.exists() else None

    @cached_property
    def _graph(self) -> Any:
        """The stored graph; it also holds the inputs and the parameter values."""
        path = self._dir / artifacts.GRAPH
        return artifacts.read(path) if path.exists() else None

    @cached_property
    def inputs(self) -> dict[str, Any]:
        graph = self._graph
        return graph.inputs if graph is not None else {"args": [], "kwargs": {}}

    @cached_property
    def _parameters(self) -> dict[int, Any]:
        graph = self._graph
        return graph.parameters if graph is not None else {}

    @cached_property
    def lattice(self) -> Any:
        path = self._dir / "lattice.pkl"
        return artifacts.read(path) if path.exists() else None

    # -- nodes ------------------------------------------------------------------
    @property
    def node_ids(self) -> list[int]:
        return sorted(self._nodes)

    def _output(self, node: dict[str, Any]) -> Any:
        if node["kind"] == "parameter":
            return self._parameters.get(node["node_id"])
        if not node["has_output"]:
            return None
        path = self._dir / artifacts.node_output_name(node["node_id"])
        return artifacts.read(path) if path.exists() else None

    def get_node_result(self, node_id: int) -> dict[str, Any]:
        node = self._nodes[node_id]
        return {
            "node_id": node_id,
            "node_name": node["name"],
            "start_time": _dt(node["started_at"]),
            "end_time": _dt(node["ended_at"]),
            "status": Status(node["status"]),
            "output": self._output(node),
            "error": node["error"],
            "traceback": node["traceback"],
            "sublattice_result": self._sublattice(node),
            "stdout": node["stdout"] or "",
            "stderr": node["stderr"] or "",
            "attempts": node["attempts"],
            "job_handle": node["job_handle"],
            "executor": node["executor"],
            "extras": node.get("extras") or {},
            "qelectron": (node.get("extras") or {}).get("qelectron"),
            "qelectron_data_exists": bool((node.get("extras") or {}).get("qelectron")),
        }

    def _sublattice(self, node: dict[str, Any]) -> Result | None:
        if not node.get("sub_dispatch_id"):
            return None
        from covalent_core.store import get_store

        store = get_store()
        sub_id = node["sub_dispatch_id"]
        return Result(store.get_dispatch(sub_id), store.get_nodes(sub_id))

    def get_all_node_outputs(self) -> dict[str, Any]:
        return {f"{n['name']}({nid})": self._output(n) for nid, n in sorted(self._nodes.items())}

    def get_all_node_results(self) -> list[dict[str, Any]]:
        return [self.get_node_result(nid) for nid in self.node_ids]

    def node_statuses(self) -> dict[int, Status]:
        return {nid: Status(n["status"]) for nid, n in self._nodes.items()}

    def __repr__(self) -> str:
        return f"<Result {self.dispatch_id} {self.status}>"

    def __str__(self) -> str:
        inputs = self.inputs
        text = f"""
Lattice Result
==============
status: {self.status}
result: {self.result}
input args: {[repr(a) for a in inputs.get('args', [])]}
input kwargs: {({k: repr(v) for k, v in inputs.get('kwargs', {}).items()})}
error: {self.error}

start_time: {self.start_time}
end_time: {self.end_time}

results_dir: {self.results_dir}
dispatch_id: {self.dispatch_id}

Node Outputs
------------
"""
        for key, value in self.get_all_node_outputs().items():
            text += f"{key}: {value!r}\n"
        return text
