"""covalent-prefect: covalent_core executors inside Prefect 3 flows.

* ``CovalentTaskRunner``: a Prefect task runner that sends each task's function to an
  executor (local processes, Dask, SSH, Slurm, cloud batch...), while Prefect's engine
  (states, retries, caching, hooks) stays in the flow's process.
* ``task(electron)``: the Prefect task of an ``@ct.electron``, for ``.submit()`` and
  ``.map()``; a plain call of an electron inside a flow becomes a task run by itself.
* ``to_flow(lattice)``: a ``@ct.lattice`` as a Prefect flow, one task run per electron.

Importing this package stays cheap (it does not import Prefect): covalent_core loads it
on the first electron call outside a lattice in every process, to ask whether a Prefect
flow is running.
"""

from __future__ import annotations

import importlib
from typing import Any

from covalent_prefect.compat import check_installed_prefect

__version__ = "0.1.0"

check_installed_prefect()

_EXPORTS = {
    "CovalentTaskRunner": "covalent_prefect.runner",
    "task": "covalent_prefect.tasks",
    "to_flow": "covalent_prefect.flows",
    "LatticeFailedError": "covalent_prefect.errors",
    "PrefectVersionError": "covalent_prefect.errors",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'covalent_prefect' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
