"""Running one transport graph: scheduling, retries, time limits, cancellation.

Nodes start the moment their last parent completes. Inline nodes (parameters,
collections, indexing, operators) are evaluated on the loop without a task; electrons
go to their executor, sync ones on a thread. Every state change is written to the
store before anything depends on it, so a crash loses at most the nodes in flight.
A failure of the dispatcher itself (a store write that fails, a bug) starts no more
nodes and ends the dispatch FAILED with its cause; it never leaves it RUNNING.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno
import functools
import json
import logging
import os
import socket
import time
import traceback
from collections import deque
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import cloudpickle

from covalent_core.config import settings
from covalent_core.errors import (
    TaskCancelledError,
    TaskFailure,
    TaskTimeoutError,
)
from covalent_core.executor.context import TaskContext
from covalent_core.executor.invoke import cancel as cancel_on_backend
from covalent_core.executor.invoke import invoke, make_context
from covalent_core.executor.spec import Resolver
from covalent_core.remote.call import wrap
from covalent_core.store import artifacts
from covalent_core.store.database import Store, encode_handle
from covalent_core.store.status import Status
from covalent_core.workflow import graph as g

log = logging.getLogger(__name__)
_WRITER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="covalent-store")


class DispatchRun:
    def __init__(
        self,
        *,
        dispatch_id: str,
        graph: g.TransportGraph,
        store: Store,
        results_dir: Path,
        results_root: Path,
        resolver: Resolver,
        prior: dict[int, dict[str, Any]] | None = None,
    ) -> None:
        self.dispatch_id = dispatch_id
        self.graph = graph
        self.store = store
        self.results_dir = results_dir
        self.results_root = results_root
        self.resolver = resolver
        self.prior = prior or {}
        self.status: dict[int, Status] = {}
        self.outputs: dict[int, Any] = {}
        self.waiting: dict[int, int] = {}
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.contexts: dict[int, TaskContext] = {}
        self.executors: dict[int, Any] = {}
        self.children_runs: dict[int, DispatchRun] = {}
        self.cancel_all = False
        self.cancelled_nodes: set[int] = set()
        self.failed: list[int] = []
        self.errors: dict[int, str] = {}
        self.crash: str | None = None  # why the dispatcher itself failed, if it did
        self.running = 0
        self._done: asyncio.Event | None = None
        self._poke: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writes: dict[int, dict[str, Any]] = {}
        self._files: list[tuple[int, Path, bytes]] = []
        self._cancellers: set[asyncio.Future[None]] = set()
        self._last_flush: concurrent.futures.Future[dict[int, str]] | None = None

    # -- the run ------------------------------------------------------------------
    async def run(self) -> Status:
        """Run the graph to its end and record how the dispatch ended.

        Whatever fails in the dispatcher, the dispatch ends FAILED with the cause as its
        error (as long as the store can still take that one write), never RUNNING.
        """
        try:
            return await self._run()
        except Exception as exc:
            log.exception("the dispatcher failed running %s", self.dispatch_id)
            return await asyncio.to_thread(
                self._end, Status.FAILED, f"the dispatcher failed: {type(exc).__name__}: {exc}"
            )

    async def _run(self) -> Status:
        self._done = asyncio.Event()
        self._poke = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        record = self.store.get_dispatch(self.dispatch_id)
        self.store.update_dispatch(
            self.dispatch_id, status=Status.RUNNING.value, error=None, ended_at=None,
            started_at=record["started_at"] or time.time(), owner_pid=os.getpid(),
            owner_host=socket.gethostname(),
        )
        for node in self.graph:
            done = node.kind == g.PARAMETER or (
                self.prior.get(node.node_id, {}).get("status") == Status.COMPLETED.value
            )
            self.status[node.node_id] = Status.COMPLETED if done else Status.NEW_OBJECT
            if node.kind == g.PARAMETER:
                self.outputs[node.node_id] = node.value
        for node in self.graph:
            self.waiting[node.node_id] = sum(
                1 for e in self.graph.parents(node.node_id)
                if self.status[e.source] is not Status.COMPLETED
            )
        self._reset_interrupted()
        watcher = asyncio.ensure_future(self._watch_cancel_requests())
        try:
            self._ready(
                n.node_id for n in self.graph
                if self.status[n.node_id] is not Status.COMPLETED and self.waiting[n.node_id] == 0
            )
            if self.running:
                await self._done.wait()
        finally:
            watcher.cancel()
            self._flush()
            if self._last_flush is not None:
                # _persisted has already seen the result: it was scheduled before this wakes.
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(self._last_flush)
        return await asyncio.to_thread(self._finalize)

    def _reset_interrupted(self) -> None:
        """Nodes a dead process left RUNNING go back to NEW_OBJECT before they start again."""
        stale = [nid for nid, rec in self.prior.items()
                 if rec.get("status") in (Status.RUNNING.value, Status.PENDING.value)]
        if stale:
            self.store.update_nodes(self.dispatch_id, stale, status=Status.NEW_OBJECT.value)

    def _ready(self, node_ids: Iterable[int]) -> None:
        queue = deque(node_ids)
        while queue:
            nid = queue.popleft()
            node = self.graph.nodes[nid]
            if self._is_cancelled(nid):
                self._set(nid, Status.CANCELLED, ended_at=time.time())
                continue
            if self.crash is not None:
                continue  # left NEW_OBJECT: a resume runs it
            if node.inline:
                try:
                    value = self._eval_inline(node)
                except Exception as exc:
                    self._fail(nid, f"{type(exc).__name__}: {exc}", traceback.format_exc())
                    continue
                if self._complete(nid, value):
                    queue.extend(self._release(nid))
            else:
                self.running += 1
                self.tasks[nid] = asyncio.ensure_future(self._run_node(nid))

    def _release(self, nid: int) -> list[int]:
        ready = []
        for child in self.graph.children(nid):
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                ready.append(child)
        return ready

    def _output(self, nid: int) -> Any:
        if nid not in self.outputs:
            self.outputs[nid] = artifacts.read(
                self.results_dir / artifacts.node_output_name(nid)
            )
        return self.outputs[nid]

    def _inputs(self, nid: int) -> tuple[list[Any], dict[str, Any]]:
        return g.gather_inputs(self.graph, nid, self._output)

    def _eval_inline(self, node: g.Node) -> Any:
        return g.evaluate_inline(self.graph, node, self._output)

    # -- state changes ----------------------------------------------------------
    def _set(self, nid: int, status: Status, **fields: Any) -> None:
        self.status[nid] = status
        self._write(nid, status=status.value, **fields)

    def _write(self, nid: int, **fields: Any) -> None:
        """Queue a node change; all changes of one loop iteration commit together.

        Outputs are written to their files before the change is queued, and ``load``
        counts a node whose output file is whole as completed, so a crash between the
        two loses nothing computed.
        """
        if not self._writes and self._loop is not None:
            self._loop.call_soon(self._flush)
        pending = self._writes.setdefault(nid, {})
        pending.update(fields)

    def _flush(self) -> None:
        if self._writes:
            loop = self._loop
            assert loop is not None
            writes, self._writes = self._writes, {}
            files, self._files = self._files, []
            # One writer thread keeps files and commits in order and off the event loop.
            self._last_flush = _WRITER.submit(self._persist, files, writes)
            self._last_flush.add_done_callback(
                lambda flush: loop.call_soon_threadsafe(self._persisted, flush)
            )

    def _persist(
        self, files: list[tuple[int, Path, bytes]], writes: dict[int, dict[str, Any]]
    ) -> dict[int, str]:
        """Write outputs, then commit the batch; returns the nodes whose output was lost.

        A node whose output cannot be written is committed FAILED instead of COMPLETED
        (and its partial file removed, which also gives a full disk its space back), so the
        rest of the batch still commits. A failed commit raises.
        """
        lost: dict[int, str] = {}
        for nid, path, data in files:
            try:
                artifacts.write_output(path, data)
            except Exception as exc:
                path.unlink(missing_ok=True)
                lost[nid] = _write_error(exc, path)
                writes[nid] = {**writes.get(nid, {}), "status": Status.FAILED.value,
                               "has_output": 0, "error": lost[nid], "traceback": ""}
        self.store.update_many(self.dispatch_id, writes)
        return lost

    def _persisted(self, flush: concurrent.futures.Future[dict[int, str]]) -> None:
        """On the loop after each writer job: a store write that failed fails the dispatch."""
        try:
            lost = flush.result()
        except Exception as exc:
            self._halt(f"storing node states in {self.store.path} failed: "
                       f"{type(exc).__name__}: {exc}")
            return
        for nid, error in lost.items():
            self.status[nid] = Status.FAILED
            self._note_failure(nid, error)
        if lost:
            self._halt("a node's output could not be stored")

    def _halt(self, error: str) -> None:
        """The dispatcher failed: start no more nodes; the dispatch ends FAILED with ``error``.

        Nodes already running finish, so what they compute is kept where the store allows.
        """
        if self.crash is None:
            self.crash = error
            log.error("dispatch %s stops starting nodes: %s", self.dispatch_id, error)

    def _record_handle(self, nid: int, handle: Any, now: bool = False
                       ) -> concurrent.futures.Future[dict[int, str]] | None:
        """Job handles arrive from executor code on the loop or on a worker thread.

        A handle JSON cannot hold raises to the executor, which fails its node.

        With ``now`` the handle is committed at once rather than with the loop's next
        batch, and the returned future completes when it is: a launch that waits for it
        cannot be lost to a crash (see ``RemoteExecutor.find_job``).
        """
        assert self._loop is not None
        try:
            encode_handle(handle)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"executor {type(self.executors.get(nid)).__name__} set a job handle that "
                f"cannot be stored ({exc}); job handles must be JSON: str, int, float, bool or "
                "None, and lists and dicts of them"
            ) from None
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if not on_loop:
            self.store.update_node(self.dispatch_id, nid, job_handle=handle)
            return None
        self._write(nid, job_handle=handle)
        if not now:
            return None
        self._flush()
        return self._last_flush

    def _complete(self, nid: int, value: Any, **fields: Any) -> bool:
        try:
            data = cloudpickle.dumps(value)
        except Exception as exc:
            self._fail(
                nid,
                f"the output of {self.graph.nodes[nid].name} cannot be pickled ({exc}); return "
                "plain data (numbers, arrays, dataclasses) instead of live objects",
                traceback.format_exc(), **fields,
            )
            return False
        self.outputs[nid] = value
        # The file is written before the status, in the same writer job (see _flush).
        self._files.append((nid, self.results_dir / artifacts.node_output_name(nid), data))
        self._set(nid, Status.COMPLETED, ended_at=time.time(), has_output=1, **fields)
        return True

    def _fail(self, nid: int, error: str, tb: str = "", **fields: Any) -> None:
        self._set(nid, Status.FAILED, ended_at=time.time(), error=error, traceback=tb, **fields)
        self._note_failure(nid, error)

    def _note_failure(self, nid: int, error: str) -> None:
        self.failed.append(nid)
        self.errors[nid] = error
        log.info("node %s(%d) of %s failed: %s", self.graph.nodes[nid].name, nid,
                 self.dispatch_id, error)

    def _is_cancelled(self, nid: int) -> bool:
        return self.cancel_all or nid in self.cancelled_nodes

    # -- electrons and sublattices -----------------------------------------------
    async def _run_node(self, nid: int) -> None:
        try:
            if self.graph.nodes[nid].kind == g.SUBLATTICE:
                await self._run_sublattice(nid)
            else:
                await self._run_electron(nid)
        except Exception as exc:  # a dispatcher bug must not hang the dispatch
            self._fail(nid, f"internal error: {exc}", traceback.format_exc())
        finally:
            self.running -= 1
            if self.status[nid] is Status.COMPLETED:
                self._ready(self._release(nid))
            if self.running == 0 and self._done is not None:
                self._done.set()

    async def _run_electron(self, nid: int) -> None:
        node = self.graph.nodes[nid]
        try:
            executor = self.resolver.resolve(node.executor)
        except Exception as exc:
            self._fail(nid, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        self.executors[nid] = executor
        opts = node.options
        retries = opts.get("retries")
        retries = int(getattr(executor, "retries", 0) or 0) if retries is None else retries
        limit = opts.get("time_limit")
        limit = getattr(executor, "time_limit", -1) if limit is None else limit
        limit = float(limit) if limit and float(limit) > 0 else None
        assert node.function is not None  # every electron node has one (graph.add_electron)
        function = wrap(node.function, opts.get("deps_pip"), opts.get("deps_bash"),
                        opts.get("call_before", []), opts.get("call_after", []))
        args, kwargs = self._inputs(nid)
        previous = self.prior.get(nid, {}).get("job_handle")
        attempts = int(self.prior.get(nid, {}).get("attempts") or 0)
        backoff = settings().dispatcher.retry_backoff
        for attempt in range(retries + 1):
            attempts += 1
            ctx = make_context(
                dispatch_id=self.dispatch_id, node_id=nid, node_name=node.name,
                results_dir=str(self.results_root),
                on_job_handle=functools.partial(self._record_handle, nid),
                on_job_handle_now=functools.partial(self._record_handle, nid, now=True),
                previous_handle=previous, attempt=attempts,
            )
            self.contexts[nid] = ctx
            self._set(nid, Status.RUNNING, started_at=time.time(), attempts=attempts,
                      executor=executor.short_name())
            outcome = await self._attempt(executor, function, args, kwargs, ctx, limit)
            previous = None
            if isinstance(outcome, _Success):
                self._complete(nid, outcome.value, stdout=outcome.stdout, stderr=outcome.stderr,
                               error=None, traceback=None,
                               extras=json.dumps(ctx.extras) if ctx.extras else None)
                return
            if isinstance(outcome, _Cancelled):
                self._set(nid, Status.CANCELLED, ended_at=time.time(),
                          stdout=outcome.stdout, stderr=outcome.stderr)
                return
            if attempt < retries and self.crash is None:
                delay = min(backoff * 2**attempt, settings().dispatcher.retry_backoff_max)
                log.info("node %s(%d) failed (%s); retry %d/%d in %.1fs", node.name, nid,
                         outcome.error, attempt + 1, retries, delay)
                self._write(nid, error=outcome.error, traceback=outcome.traceback)
                await asyncio.sleep(delay)
                if self._is_cancelled(nid):
                    self._set(nid, Status.CANCELLED, ended_at=time.time())
                    return
                continue
            self._fail(nid, outcome.error, outcome.traceback,
                       stdout=outcome.stdout, stderr=outcome.stderr,
                       extras=json.dumps(ctx.extras) if ctx.extras else None)

    async def _attempt(
        self, executor: Any, function: Any, args: list[Any], kwargs: dict[str, Any],
        ctx: TaskContext, limit: float | None,
    ) -> _Success | _Failure | _Cancelled:
        try:
            call = invoke(executor, function, args, kwargs, ctx)
            done = await (asyncio.wait_for(call, limit) if limit else call)
            return _Success(done.value, done.stdout, done.stderr)
        except (asyncio.TimeoutError, TimeoutError) as exc:
            if isinstance(exc, TaskTimeoutError) or limit is None:
                return _Failure.of(exc)
            await self._cancel_backend(executor, ctx)
            return _Failure(
                f"TaskTimeoutError: {ctx.node_name} exceeded its time_limit of {limit:g}s and "
                "was stopped; raise time_limit on the electron or its executor if it needs longer",
                "",
            )
        except asyncio.CancelledError:
            if not self._is_cancelled(ctx.node_id):
                raise
            return _Cancelled()
        except TaskCancelledError:
            return _Cancelled()
        except TaskFailure as exc:
            if self._is_cancelled(ctx.node_id):
                return _Cancelled(exc.stdout, exc.stderr)
            return _Failure(str(exc), exc.remote_traceback, exc.stdout, exc.stderr)
        except Exception as exc:
            return _Failure.of(exc)

    async def _cancel_backend(self, executor: Any, ctx: TaskContext) -> None:
        try:
            await cancel_on_backend(executor, ctx)
        except Exception:
            log.warning("cancelling %s(%d) on its backend failed", ctx.node_name, ctx.node_id,
                        exc_info=True)

    async def _run_sublattice(self, nid: int) -> None:
        from covalent_core.dispatcher import prepare

        node = self.graph.nodes[nid]
        args, kwargs = self._inputs(nid)
        self._set(nid, Status.RUNNING, started_at=time.time(), attempts=1)
        sub_id = self.prior.get(nid, {}).get("sub_dispatch_id")
        try:
            if sub_id:
                prepared = await asyncio.to_thread(prepare.load, sub_id)
            else:
                prepared = await asyncio.to_thread(
                    prepare.prepare, node.function, args, kwargs, parent=(self.dispatch_id, nid)
                )
                self._write(nid, sub_dispatch_id=prepared.dispatch_id)
        except Exception as exc:
            self._fail(nid, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        child = prepared.make_run(self.store)
        self.children_runs[nid] = child
        if self._is_cancelled(nid):
            child.cancel_all = True
        status = await child.run()
        record = self.store.get_dispatch(prepared.dispatch_id)
        if status is Status.COMPLETED:
            self._complete(nid, artifacts.read(prepared.results_dir / artifacts.RESULT))
        elif status is Status.CANCELLED:
            self._set(nid, Status.CANCELLED, ended_at=time.time())
        else:
            self._fail(nid, f"sublattice {node.name} ({prepared.dispatch_id}) failed: "
                            f"{record['error']}")

    # -- cancellation -----------------------------------------------------------
    def request_cancel(self, node_ids: list[int] | None) -> None:
        """Stop pending nodes from starting and ask running ones' backends to stop."""
        if not node_ids:
            self.cancel_all = True
            targets = list(self.tasks)
        else:
            self.cancelled_nodes.update(node_ids)
            targets = [n for n in node_ids if n in self.tasks]
        for nid in targets:
            task = self.tasks[nid]
            if task.done():
                continue
            if nid in self.children_runs:
                self.children_runs[nid].request_cancel(None)
                continue
            canceller = asyncio.ensure_future(self._cancel_running(nid, task))
            self._cancellers.add(canceller)
            canceller.add_done_callback(self._cancellers.discard)

    async def _cancel_running(self, nid: int, task: asyncio.Task[None]) -> None:
        ctx = self.contexts.get(nid)
        executor = self.executors.get(nid)
        if ctx is not None and executor is not None:
            await self._cancel_backend(executor, ctx)
        if not task.done():
            task.cancel()

    def poke(self) -> None:
        """Check for cancel requests now instead of at the next poll (same-process cancel)."""
        if self._poke is not None:
            self._poke.set()

    async def _watch_cancel_requests(self) -> None:
        """Pick up ``ct.cancel`` calls made from other processes."""
        seen = 0
        interval = settings().dispatcher.cancel_poll_interval
        assert self._poke is not None
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), interval)
            except asyncio.TimeoutError:
                pass
            self._poke.clear()
            requests = await asyncio.to_thread(self.store.cancel_requests, self.dispatch_id)
            if len(requests) > seen:
                new = requests[seen:]
                seen = len(requests)
                whole = any(r is None for r in new)
                self.request_cancel(None if whole else [r for r in new if r is not None])

    # -- the end ----------------------------------------------------------------
    def _finalize(self) -> Status:
        now = time.time()
        cancelled = self.cancel_all or any(s is Status.CANCELLED for s in self.status.values())
        if cancelled:
            leftover = [n for n, s in self.status.items() if not s.is_terminal]
            if leftover:
                self.store.update_nodes(self.dispatch_id, leftover,
                                        status=Status.CANCELLED.value, ended_at=now)
        self.store.clear_cancel_requests(self.dispatch_id)
        if self.failed or self.crash:
            names = "; ".join(
                f"{self.graph.nodes[n].name}({n}): {_first_line(self.errors.get(n, ''))}"
                for n in self.failed
            )
            failed = f"{len(self.failed)} node(s) failed: {names}" if self.failed else None
            return self._end(Status.FAILED, "; ".join(filter(None, [self.crash, failed])))
        if cancelled or any(s is not Status.COMPLETED for s in self.status.values()):
            return self._end(Status.CANCELLED, "cancelled on request")
        try:
            refs = g.template_refs(self.graph.output_template)
            value = g.from_template(self.graph.output_template,
                                    {r: self._output(r) for r in refs})
        except Exception as exc:
            return self._end(Status.FAILED, f"post-processing the lattice's return value failed:"
                                            f" {type(exc).__name__}: {exc}")
        path = self.results_dir / artifacts.RESULT
        try:
            artifacts.write(path, value)
        except Exception as exc:
            return self._end(Status.FAILED, f"the result could not be stored: "
                                            f"{_write_error(exc, path)}")
        return self._end(Status.COMPLETED, None)

    def _end(self, status: Status, error: str | None) -> Status:
        self.store.update_dispatch(self.dispatch_id, status=status.value, error=error,
                                   ended_at=time.time())
        return status


class _Success:
    def __init__(self, value: Any, stdout: str, stderr: str) -> None:
        self.value, self.stdout, self.stderr = value, stdout, stderr


class _Failure:
    def __init__(self, error: str, tb: str, stdout: str = "", stderr: str = "") -> None:
        self.error, self.traceback, self.stdout, self.stderr = error, tb, stdout, stderr

    @classmethod
    def of(cls, exc: BaseException) -> _Failure:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(f"{type(exc).__name__}: {exc}", tb)


class _Cancelled:
    def __init__(self, stdout: str = "", stderr: str = "") -> None:
        self.stdout, self.stderr = stdout, stderr


def _write_error(exc: Exception, path: Path) -> str:
    """What went wrong writing ``path``; a full disk is named as such, with the fix."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"no space left on device writing {path}: free space on that disk or set "
                "dispatcher.data_dir (or dispatcher.results_dir, for outputs) elsewhere")
    return f"writing {path} failed: {type(exc).__name__}: {exc}"


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""
