"""``ct.dispatch``, ``get_result``, ``cancel``, ``redispatch``: the standalone front end."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any, Literal, overload

from covalent_core.dispatcher import prepare as prep
from covalent_core.dispatcher.runtime import current_runtime, runtime
from covalent_core.errors import DispatchActiveError, NodeNotFoundError, WorkflowDefinitionError
from covalent_core.processes import is_running
from covalent_core.store import get_store
from covalent_core.store.result import Result
from covalent_core.store.status import Status


def _start(prepared: prep.Prepared) -> str:
    rt = runtime()
    run = prepared.make_run(get_store())
    rt.submit(prepared.dispatch_id, run, run.run())
    return prepared.dispatch_id


def dispatch(
    lattice: Any, dispatcher_addr: str | None = None, *, disable_run: bool = False
) -> Callable[..., str]:
    """Returns a function that records the dispatch, starts it, and returns its id at once."""
    lat = prep.as_lattice(lattice)

    def wrapper(*args: Any, **kwargs: Any) -> str:
        prepared = prep.prepare(lat, args, kwargs)
        return prepared.dispatch_id if disable_run else _start(prepared)

    return wrapper


def dispatch_sync(lattice: Any, dispatcher_addr: str | None = None) -> Callable[..., Result]:
    lat = prep.as_lattice(lattice, "dispatch_sync")

    def wrapper(*args: Any, **kwargs: Any) -> Result:
        return get_result(dispatch(lat)(*args, **kwargs), wait=True)

    return wrapper


@overload
def get_result(
    dispatch_id: str, wait: bool = ..., *, status_only: Literal[False] = ...,
    timeout: float | None = ...,
) -> Result: ...


@overload
def get_result(
    dispatch_id: str, wait: bool = ..., *, status_only: Literal[True],
    timeout: float | None = ...,
) -> dict[str, Any]: ...


def get_result(
    dispatch_id: str, wait: bool = False, *, status_only: bool = False,
    timeout: float | None = None,
) -> Result | dict[str, Any]:
    """The dispatch's Result; with ``wait`` blocks until it ends, from any process."""
    store = get_store()
    record = store.get_dispatch(dispatch_id)
    if wait:
        record = _wait(dispatch_id, record, timeout)
    if status_only:
        return {"dispatch_id": dispatch_id, "status": record["status"]}
    return Result(record, store.get_nodes(dispatch_id))


def _wait(dispatch_id: str, record: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    rt = current_runtime()
    deadline = None if timeout is None else time.monotonic() + timeout
    if rt is not None and dispatch_id in rt.futures:
        rt.futures[dispatch_id].exception(timeout=timeout)
        return get_store().get_dispatch(dispatch_id)
    delay = 0.05
    while not Status(record["status"]).is_terminal:
        if _owner_dead(record):
            raise DispatchActiveError(
                f"dispatch {dispatch_id} is {record['status']} but its process "
                f"(pid {record['owner_pid']}) has died; resume it with "
                f"ct.redispatch({dispatch_id!r})() or `covalent-core resume {dispatch_id}`"
            )
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"dispatch {dispatch_id} still {record['status']} after {timeout}s")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
        record = get_store().get_dispatch(dispatch_id)
    return record


def _owner_dead(record: dict[str, Any]) -> bool:
    pid = record.get("owner_pid")
    if not pid or record.get("owner_host") != socket.gethostname():
        return False
    if pid == os.getpid():
        rt = current_runtime()
        return rt is None or record["dispatch_id"] not in rt.runs
    return not is_running(pid)


def cancel(dispatch_id: str, task_ids: list[int] | int | None = None) -> str:
    """Stop pending nodes and cancel running ones on their backends.

    ``task_ids`` limits the cancellation to those nodes (and what depends on them);
    an id the dispatch does not have is an error, and so nothing is requested.
    """
    if isinstance(task_ids, int):
        task_ids = [task_ids]
    store = get_store()
    status = Status(store.get_dispatch(dispatch_id)["status"])
    if task_ids:
        known = {n["node_id"] for n in store.get_nodes(dispatch_id)}
        unknown = sorted(set(task_ids) - known)
        if unknown:
            raise NodeNotFoundError(
                f"dispatch {dispatch_id} has no task {', '.join(map(str, unknown))}; its task "
                f"ids are 0 to {max(known, default=0)} (see covalent-core show {dispatch_id})"
            )
    if status.is_terminal:
        return f"Dispatch {dispatch_id} already ended {status.value}; nothing to cancel."
    store.request_cancel(dispatch_id, task_ids or None)
    rt = current_runtime()
    run = rt.runs.get(dispatch_id) if rt else None
    if rt is not None and run is not None:
        rt.loop.call_soon_threadsafe(run.poke)
    if task_ids:
        return f"Cancelled tasks {task_ids} in dispatch {dispatch_id}."
    return f"Dispatch {dispatch_id} cancelled."


def resume(dispatch_id: str) -> str:
    """Run an interrupted, failed or cancelled dispatch again in place.

    Completed nodes keep their outputs; nodes with a saved job handle reattach to
    their backend job instead of submitting it again.
    """
    store = get_store()
    record = store.get_dispatch(dispatch_id)
    if record["parent_dispatch_id"]:
        raise WorkflowDefinitionError(
            f"{dispatch_id} is a sublattice of {record['parent_dispatch_id']}; resume the parent"
        )
    rt = current_runtime()
    if (rt is not None and dispatch_id in rt.runs) or (
        not Status(record["status"]).is_terminal
        and record["owner_pid"]
        and record["owner_pid"] != os.getpid()
        and not _owner_dead(record)
    ):
        raise DispatchActiveError(
            f"dispatch {dispatch_id} is still running in process {record['owner_pid']} on "
            f"{record['owner_host']}; cancel it or wait for it to end before resuming"
        )
    if record["status"] == Status.COMPLETED.value:
        return dispatch_id
    store.clear_cancel_requests(dispatch_id)
    return _start(prep.load(dispatch_id))


def redispatch(
    dispatch_id: str,
    dispatcher_addr: str | None = None,
    replace_electrons: dict[str, Callable[..., Any]] | None = None,
    reuse_previous_results: bool = False,
) -> Callable[..., str]:
    """Run a dispatch again: in place if it never finished, else as a new dispatch.

    Called with no new arguments and no replacements, an unfinished dispatch resumes
    (same id, completed nodes kept). Otherwise a new dispatch is made from the stored
    lattice, with the old inputs unless new ones are given; ``reuse_previous_results``
    copies outputs of nodes whose function and inputs are unchanged.
    """

    def wrapper(*args: Any, **kwargs: Any) -> str:
        store = get_store()
        record = store.get_dispatch(dispatch_id)
        fresh_inputs = bool(args or kwargs)
        if not fresh_inputs and not replace_electrons and record["status"] != "COMPLETED":
            return resume(dispatch_id)
        result = Result(record, [])
        lattice = result.lattice
        if lattice is None:
            raise WorkflowDefinitionError(
                f"dispatch {dispatch_id} stored no lattice (it could not be pickled), so it "
                "cannot be run with new arguments; dispatch the lattice again instead"
            )
        if not fresh_inputs:
            inputs = result.inputs
            args, kwargs = tuple(inputs["args"]), inputs["kwargs"]
        prepared = prep.prepare(
            lattice, args, kwargs, replace_electrons=replace_electrons,
            reuse_from=dispatch_id if reuse_previous_results else None,
        )
        return _start(prepared)

    return wrapper
