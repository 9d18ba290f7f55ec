"""Result persistence: the SQLite store, artifact files, and the Result/Status types."""

from __future__ import annotations

import threading
from pathlib import Path

from covalent_core.store.database import Store
from covalent_core.store.status import Status

_stores: dict[Path, Store] = {}
_lock = threading.Lock()


def get_store() -> Store:
    """The store of the configured data dir (one per dir per process)."""
    from covalent_core.config import settings

    data_dir = settings().dispatcher.data_dir.expanduser().resolve()
    with _lock:
        if data_dir not in _stores:
            _stores[data_dir] = Store(data_dir)
        return _stores[data_dir]


__all__ = ["Status", "Store", "get_store"]
