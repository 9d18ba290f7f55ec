"""The hook covalent_core calls for electron calls made outside a lattice.

Registered in the entry-point group ``covalent_core.call_interceptors``. It loads in
every process that calls an electron outside a lattice, so it must not import Prefect:
when Prefect was never imported, no flow can be running.
"""

from __future__ import annotations

import sys
from typing import Any


def intercept(electron: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Inside a running Prefect flow the call becomes a task run; elsewhere we decline."""
    context = sys.modules.get("prefect.context")
    if context is None or context.FlowRunContext.get() is None:
        return NotImplemented
    from covalent_prefect.tasks import call_in_flow

    return call_in_flow(electron, args, kwargs)
