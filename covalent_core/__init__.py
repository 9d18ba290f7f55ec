"""covalent_core: write tasks and workflows once, run each task on the compute it needs.

``import covalent_core as ct`` gives Covalent's documented API. Names load lazily so
that the remote runner (``python -m covalent_core.remote``) imports only what it uses.
"""

from __future__ import annotations

import importlib
from typing import Any

from covalent_core import redact

__version__ = "0.1.0"

# SDK debug logs (botocore's headers, presigned URLs) lose their credentials; the module
# says why this happens here and not when an executor is built.
redact.install()

_EXPORTS = {
    "electron": "covalent_core.workflow.electron",
    "wait": "covalent_core.workflow.electron",
    "lattice": "covalent_core.workflow.lattice",
    "DepsBash": "covalent_core.workflow.deps",
    "DepsCall": "covalent_core.workflow.deps",
    "DepsPip": "covalent_core.workflow.deps",
    "dispatch": "covalent_core.dispatcher.api",
    "dispatch_sync": "covalent_core.dispatcher.api",
    "get_result": "covalent_core.dispatcher.api",
    "cancel": "covalent_core.dispatcher.api",
    "redispatch": "covalent_core.dispatcher.api",
    "resume": "covalent_core.dispatcher.api",
    "get_config": "covalent_core.config",
    "set_config": "covalent_core.config",
    "Result": "covalent_core.store.result",
    "Status": "covalent_core.store.status",
    "qelectron": "covalent_quantum.qelectrons",  # from the covalent-quantum distribution
}
_ALIASES = {"reload_config": ("covalent_core.config", "reload"),
            "status": ("covalent_core.store.status", "Status")}

__all__ = [*_EXPORTS, *_ALIASES, "executor"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        try:
            module = importlib.import_module(_EXPORTS[name])
        except ModuleNotFoundError as exc:
            if not _EXPORTS[name].startswith("covalent_quantum"):
                raise
            raise ImportError(
                f"ct.{name} comes from the covalent-quantum distribution: "
                "pip install covalent-quantum"
            ) from exc
        value = getattr(module, name)
    elif name in _ALIASES:
        module_name, attr = _ALIASES[name]
        value = getattr(importlib.import_module(module_name), attr)
    elif name == "executor":
        value = importlib.import_module("covalent_core.executor")
    else:
        raise AttributeError(f"module 'covalent_core' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
