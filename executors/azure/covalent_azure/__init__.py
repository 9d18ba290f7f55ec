"""Azure Batch executor for covalent_core (``executor="azurebatch"``).

The executor is imported on first use, so the container entrypoint stays light.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AzureBatchExecutor"]


def __getattr__(name: str) -> Any:
    if name == "AzureBatchExecutor":
        from covalent_azure.executor import AzureBatchExecutor

        return AzureBatchExecutor
    raise AttributeError(name)
