"""SQLite (WAL) persistence of every dispatch and node state change.

WAL lets ``get_result`` and the CLI read from other processes while the
dispatcher writes; each thread gets its own connection because sqlite3
connections are not shareable across threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from covalent_core.errors import DispatchNotFoundError

SCHEMA = """
CREATE TABLE IF NOT EXISTS dispatches (
    dispatch_id TEXT PRIMARY KEY,
    root_dispatch_id TEXT NOT NULL,
    parent_dispatch_id TEXT,
    parent_node_id INTEGER,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    results_dir TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    owner_pid INTEGER,
    owner_host TEXT,
    num_nodes INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS nodes (
    dispatch_id TEXT NOT NULL,
    node_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    executor TEXT,
    started_at REAL,
    ended_at REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    traceback TEXT,
    stdout TEXT,
    stderr TEXT,
    job_handle TEXT,
    has_output INTEGER NOT NULL DEFAULT 0,
    sub_dispatch_id TEXT,
    extras TEXT,
    PRIMARY KEY (dispatch_id, node_id)
);
CREATE TABLE IF NOT EXISTS cancel_requests (
    dispatch_id TEXT NOT NULL,
    node_id INTEGER,
    requested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS dispatches_created ON dispatches(created_at);
CREATE INDEX IF NOT EXISTS cancel_dispatch ON cancel_requests(dispatch_id);
"""

NODE_FIELDS = frozenset(
    {
        "status", "started_at", "ended_at", "attempts", "error", "traceback", "stdout",
        "stderr", "job_handle", "has_output", "sub_dispatch_id", "executor", "extras",
    }
)
DISPATCH_FIELDS = frozenset(
    {"status", "error", "started_at", "ended_at", "owner_pid", "owner_host", "num_nodes"}
)


class Store:
    """One SQLite file holding every dispatch this data dir has seen."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / "dispatches.sqlite"
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(nodes)")}
            if "extras" not in columns:  # stores made before task records existed
                conn.execute("ALTER TABLE nodes ADD COLUMN extras TEXT")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    # -- writes ---------------------------------------------------------------
    def create_dispatch(self, record: dict[str, Any], nodes: Sequence[dict[str, Any]]) -> None:
        conn = self._conn()
        cols = ", ".join(record)
        marks = ", ".join("?" for _ in record)
        with _transaction(conn):
            conn.execute(
                f"INSERT INTO dispatches ({cols}) VALUES ({marks})", tuple(record.values())
            )
            conn.executemany(
                "INSERT INTO nodes (dispatch_id, node_id, name, kind, status, executor, has_output,"
                " ended_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        record["dispatch_id"], n["node_id"], n["name"], n["kind"], n["status"],
                        n.get("executor"), n.get("has_output", 0), n.get("ended_at"),
                    )
                    for n in nodes
                ],
            )

    def update_dispatch(self, dispatch_id: str, **fields: Any) -> None:
        _check(fields, DISPATCH_FIELDS)
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._conn().execute(
            f"UPDATE dispatches SET {sets} WHERE dispatch_id = ?", (*fields.values(), dispatch_id)
        )

    def update_node(self, dispatch_id: str, node_id: int, **fields: Any) -> None:
        _check(fields, NODE_FIELDS)
        if "job_handle" in fields and fields["job_handle"] is not None:
            fields["job_handle"] = encode_handle(fields["job_handle"])
        sets = ", ".join(f"{k} = ?" for k in fields)
        self._conn().execute(
            f"UPDATE nodes SET {sets} WHERE dispatch_id = ? AND node_id = ?",
            (*fields.values(), dispatch_id, node_id),
        )

    def update_many(self, dispatch_id: str, changes: dict[int, dict[str, Any]]) -> None:
        """Apply many nodes' changes in one transaction (one fsync instead of hundreds)."""
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for node_id, fields in changes.items():
            _check(fields, NODE_FIELDS)
            if fields.get("job_handle") is not None:
                fields = {**fields, "job_handle": encode_handle(fields["job_handle"])}
            cols = tuple(sorted(fields))
            groups.setdefault(cols, []).append(
                (*(fields[c] for c in cols), dispatch_id, node_id)
            )
        conn = self._conn()
        with _transaction(conn):
            for cols, rows in groups.items():
                sets = ", ".join(f"{c} = ?" for c in cols)
                conn.executemany(
                    f"UPDATE nodes SET {sets} WHERE dispatch_id = ? AND node_id = ?", rows
                )

    def update_nodes(self, dispatch_id: str, node_ids: Iterable[int], **fields: Any) -> None:
        _check(fields, NODE_FIELDS)
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn = self._conn()
        with _transaction(conn):
            conn.executemany(
                f"UPDATE nodes SET {sets} WHERE dispatch_id = ? AND node_id = ?",
                [(*fields.values(), dispatch_id, nid) for nid in node_ids],
            )

    def request_cancel(self, dispatch_id: str, node_ids: Sequence[int] | None) -> None:
        self.get_dispatch(dispatch_id)
        rows = [(dispatch_id, n, time.time()) for n in node_ids] if node_ids else [
            (dispatch_id, None, time.time())
        ]
        self._conn().executemany(
            "INSERT INTO cancel_requests (dispatch_id, node_id, requested_at) VALUES (?, ?, ?)",
            rows,
        )

    # -- reads ----------------------------------------------------------------
    def get_dispatch(self, dispatch_id: str) -> dict[str, Any]:
        row = self._conn().execute(
            "SELECT * FROM dispatches WHERE dispatch_id = ?", (dispatch_id,)
        ).fetchone()
        if row is None:
            raise DispatchNotFoundError(
                f"no dispatch {dispatch_id!r} in {self.path}; `covalent-core list` shows the ids "
                "(check COVALENT_CORE_DISPATCHER__DATA_DIR if you expected another store)"
            )
        return dict(row)

    def get_nodes(self, dispatch_id: str) -> list[dict[str, Any]]:
        rows = self._conn().execute(
            "SELECT * FROM nodes WHERE dispatch_id = ? ORDER BY node_id", (dispatch_id,)
        ).fetchall()
        out = []
        for row in rows:
            rec = dict(row)
            if rec["job_handle"]:
                rec["job_handle"] = json.loads(rec["job_handle"])
            rec["extras"] = json.loads(rec["extras"]) if rec.get("extras") else {}
            out.append(rec)
        return out

    def list_dispatches(self, limit: int = 50, roots_only: bool = True) -> list[dict[str, Any]]:
        where = "WHERE parent_dispatch_id IS NULL" if roots_only else ""
        rows = self._conn().execute(
            f"SELECT * FROM dispatches {where} ORDER BY created_at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [dict(r) for r in rows]

    def cancel_requests(self, dispatch_id: str) -> list[int | None]:
        rows = self._conn().execute(
            "SELECT node_id FROM cancel_requests WHERE dispatch_id = ?", (dispatch_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def clear_cancel_requests(self, dispatch_id: str) -> None:
        self._conn().execute("DELETE FROM cancel_requests WHERE dispatch_id = ?", (dispatch_id,))


def encode_handle(handle: Any) -> str:
    """A job handle as the store keeps it: JSON text.

    Raises TypeError (or ValueError, for a circular one) when JSON cannot hold it; the
    dispatcher checks every handle with this before it queues the write.
    """
    return json.dumps(handle)


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def _check(fields: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"unknown column(s) {sorted(unknown)}")
