"""Quantum executor defaults from the ``[qelectron]`` section of covalent_core's config.

As in Covalent, each executor class has its own table, and tokens usually live there
rather than in code::

    [qelectron.QiskitExecutor]
    ibmqx_token = "..."
    backend = "ibm_brisbane"

Keys directly under ``[qelectron]`` apply to every executor that has such a field
(one ``ibmqx_token`` for both IBM executors). The environment overrides the file:
``COVALENT_CORE_QELECTRON__QISKITEXECUTOR__IBMQX_TOKEN=...``; pydantic-settings lowers
such names, so class tables are matched without regard to case.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from covalent_core.errors import ConfigError


def _section() -> dict[str, Any]:
    from covalent_core.config import settings

    return settings().qelectron


def defaults_for(class_name: str, fields: Collection[str]) -> dict[str, Any]:
    """Configured values for the named executor's fields: shared keys, then its table."""
    section = _section()
    merged = {k: v for k, v in section.items() if not isinstance(v, dict) and k in fields}
    for key, table in section.items():
        if key.lower() != class_name.lower():
            continue
        if not isinstance(table, dict):
            raise ConfigError(
                f"qelectron.{key} must be a table of {class_name} options, got {table!r}; "
                f"write it as [qelectron.{class_name}] in the config file"
            )
        unknown = sorted(k for k in table if k.lower() not in fields)
        if unknown:
            raise ConfigError(
                f"qelectron.{class_name}: unknown option(s) {', '.join(unknown)}; "
                f"{class_name} accepts {', '.join(sorted(fields))}. Fix the config file or "
                f"the COVALENT_CORE_QELECTRON__{class_name.upper()}__<KEY> variable"
            )
        merged.update({k.lower(): v for k, v in table.items()})
    return merged
