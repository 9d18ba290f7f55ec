"""The executor contract, the plugin registry and the built-in executors.

``ct.executor.<ClassName>`` resolves lazily: built-ins and installed plugins are
imported only when first named.
"""

from __future__ import annotations

import importlib
from typing import Any

from covalent_core.executor.base import AsyncBaseExecutor, BaseExecutor, is_executor
from covalent_core.executor.remote import JobState, RemoteExecutor

__all__ = ["AsyncBaseExecutor", "BaseExecutor", "JobState", "RemoteExecutor", "is_executor"]


def __getattr__(name: str) -> Any:
    if not name[:1].isupper():  # submodules and dunders go through normal import
        raise AttributeError(name)
    registry = importlib.import_module("covalent_core.executor.registry")
    cls = registry.find_by_class_name(name)
    if cls is None:  # quantum executors (covalent-quantum) are not electron executors
        from importlib.metadata import entry_points

        found = [ep for ep in entry_points(group="covalent_core.qexecutors") if ep.name == name]
        cls = found[0].load() if found else None
    if cls is None:
        raise AttributeError(
            f"covalent_core.executor has no {name!r}; installed executors: "
            f"{', '.join(sorted(registry.available()))}"
        )
    globals()[name] = cls
    return cls
