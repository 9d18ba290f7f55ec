"""covalent-airflow: an Airflow 3 provider for covalent_core.

``CovalentOperator`` and ``@task.covalent`` run a task's body on any covalent_core
executor (deferring while a remote job runs); ``to_dag`` turns a lattice into a DAG;
``resolve`` reads a result that was too large for XCom. Names load lazily so that
Airflow's provider discovery imports nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "CovalentOperator": "covalent_airflow.operators.covalent",
    "CovalentTaskError": "covalent_airflow.operators.covalent",
    "CovalentTrigger": "covalent_airflow.triggers.covalent",
    "CovalentHook": "covalent_airflow.hooks.covalent",
    "to_dag": "covalent_airflow.lattice",
    "resolve": "covalent_airflow.results",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'covalent_airflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
