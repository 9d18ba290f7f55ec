"""Google Cloud Batch executor for covalent_core (``executor="gcpbatch"``).

The executor is imported on first use, so the container entrypoint stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["GCPBatchExecutor"]


def __getattr__(name: str) -> Any:
    if name == "GCPBatchExecutor":
        from covalent_gcp.executor import GCPBatchExecutor

        return GCPBatchExecutor
    raise AttributeError(name)
