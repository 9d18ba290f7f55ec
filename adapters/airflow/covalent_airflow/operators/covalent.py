"""``CovalentOperator``: one Python callable run on a covalent_core executor.

With a remote executor (Slurm, SSH, a cloud batch service, quantum hardware) the task
submits a task package, records the job handle, and defers: the worker slot is free
while the job runs, a :class:`~covalent_airflow.triggers.covalent.CovalentTrigger`
waits for it, and the task resumes only to fetch the result. A retry or a restarted
worker finds the recorded handle and reattaches instead of submitting again. Any other
executor (local processes, Dask) runs the callable inline, as ``invoke_sync`` does.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, NoReturn

import cloudpickle
from airflow.sdk import BaseOperator

from covalent_airflow import results
from covalent_airflow.compat import AirflowException, AirflowFailException
from covalent_airflow.handles import HandleStore
from covalent_airflow.hooks.covalent import CovalentHook, executor_spec
from covalent_airflow.triggers.covalent import CovalentTrigger
from covalent_core.config import settings
from covalent_core.errors import TaskCancelledError, TaskFailure, UnpicklableInputError
from covalent_core.executor import invoke
from covalent_core.executor.remote import (
    CANCELLED,
    COMPLETED,
    FAILED,
    LOST,
    RemoteExecutor,
)
from covalent_core.remote.package import Outcome, TaskPackage


class CovalentTaskError(AirflowException):
    """The task's own code raised on its executor; the remote traceback is in the task log."""


class CovalentOperator(BaseOperator):
    """Run ``python_callable(*op_args, **op_kwargs)`` on a covalent_core executor.

    :param python_callable: the function to run; it is pickled (cloudpickle) for remote
        executors, so it must not hold locks, connections or open files.
    :param executor: a covalent_core executor instance without secrets, or a plugin name
        (``"slurm"``), which takes its options from covalent_core's config; default:
        covalent_core's default executor.
    :param op_args: positional arguments (templated); XComArgs and result references
        of upstream covalent tasks are resolved.
    :param op_kwargs: keyword arguments (templated).
    :param conn_id: an Airflow connection of type ``covalent`` whose extra holds the
        executor's options and secrets (tokens, keys), read by worker and triggerer.
    :param xcom_max_bytes: results whose JSON is larger go to ``[covalent] results_path``
        and XCom carries a reference; default ``[covalent] xcom_max_bytes``.
    :param airflow_executor: BaseOperator's own ``executor`` (which Airflow executor runs
        this task, when a deployment has several); ``executor`` here is covalent's.
    """

    template_fields = ("op_args", "op_kwargs")
    template_fields_renderers = {"op_args": "py", "op_kwargs": "py"}
    shallow_copy_attrs = ("python_callable",)
    ui_color = "#d8e7f5"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        executor: Any = None,
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        conn_id: str | None = None,
        xcom_max_bytes: int | None = None,
        airflow_executor: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(executor=airflow_executor, **kwargs)
        if not callable(python_callable):
            raise TypeError(
                f"python_callable of task {self.task_id!r} must be callable, got "
                f"{type(python_callable).__name__}"
            )
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.executor_spec = executor_spec(executor)
        self.conn_id = conn_id
        self.xcom_max_bytes = xcom_max_bytes
        #: The graph node this task runs, when it is part of a lattice (``to_dag``).
        self.covalent_node_id = -1
        # While this process holds a job or an inline run, on_kill needs to reach it.
        self._running: tuple[Any, Any] | None = None

    # -- what runs ---------------------------------------------------------------
    def task_call(self, context: Any) -> tuple[Callable[..., Any], list[Any], dict[str, Any]]:
        """The callable and its arguments, with references to stored results resolved."""
        return (
            self.python_callable,
            results.resolve(list(self.op_args)),
            results.resolve(dict(self.op_kwargs)),
        )

    def _metadata(self, context: Any) -> dict[str, Any]:
        ti = context["ti"]
        dispatch_id = re.sub(r"[^A-Za-z0-9_.-]", "_", f"airflow_{ti.dag_id}_{ti.run_id}")
        return {
            "dispatch_id": dispatch_id,
            "node_id": self.covalent_node_id,
            "node_name": ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]",
            "results_dir": str(settings().dispatcher.results_root),
        }

    # -- running -----------------------------------------------------------------
    def execute(self, context: Any) -> Any:
        executor = CovalentHook(self.conn_id).get_executor(self.executor_spec)
        if not isinstance(executor, RemoteExecutor):
            return self._run_inline(context, executor, *self.task_call(context))
        store = HandleStore(context)
        handle = store.get()
        if handle is not None:
            state = invoke.call(executor.poll([handle]))[0]
            if state.status == LOST or (state.status == FAILED and state.retryable):
                self.log.warning("job %s from an earlier try is gone (%s); submitting again",
                                 json.dumps(handle), state.reason or state.status)
                handle = None
            elif state.done:
                self.log.info("job %s from an earlier try ended %s; collecting it",
                              json.dumps(handle), state.status)
                return self._collect(context, executor, handle, state.status, state.reason)
            else:
                self.log.info("reattaching to job %s from an earlier try (%s)",
                              json.dumps(handle), state.status)
        if handle is None:
            handle = self._submit(context, executor, *self.task_call(context))
        self._defer(handle, 0)

    def execute_complete(self, context: Any, event: dict[str, Any], resubmits: int = 0) -> Any:
        """Back from the trigger: the job has ended; fetch its outcome in the worker."""
        executor = CovalentHook(self.conn_id).get_executor(self.executor_spec)
        handle, status, reason = event["handle"], event["status"], event.get("reason", "")
        store = HandleStore(context)
        if status == CANCELLED:
            store.clear()
            raise AirflowFailException(
                f"job {json.dumps(handle)} was cancelled on its backend: {reason or 'no detail'}"
            )
        if status == LOST or (status == FAILED and event.get("retryable")):
            store.clear()
            limit = int(getattr(executor, "resubmit_limit", 0))
            if resubmits >= limit:
                raise AirflowException(
                    f"job {json.dumps(handle)} ended {status} ({reason or 'no detail'}) and was "
                    f"already resubmitted {resubmits} time(s), the executor's resubmit_limit"
                )
            self.log.warning("job %s ended %s (%s); submitting again (%d/%d)",
                             json.dumps(handle), status, reason, resubmits + 1, limit)
            self._defer(self._submit(context, executor, *self.task_call(context)), resubmits + 1)
        return self._collect(context, executor, handle, status, reason)

    def _run_inline(
        self, context: Any, executor: Any, function: Callable[..., Any], args: list[Any],
        kwargs: dict[str, Any],
    ) -> Any:
        """``invoke_sync``, with a future that on_kill can cancel (which stops a local worker)."""
        meta = self._metadata(context)
        ctx = invoke.make_context(
            dispatch_id=meta["dispatch_id"], node_id=meta["node_id"],
            node_name=meta["node_name"], results_dir=meta["results_dir"],
        )
        future = invoke.submit(invoke.invoke(executor, function, args, kwargs, ctx))
        # Kept if execution_timeout or SIGTERM interrupts the wait: on_kill comes next.
        self._running = (executor, (ctx, future))
        try:
            done = future.result()
        except TaskFailure as exc:
            self._running = None
            self._report_streams(exc.stdout, exc.stderr)
            self._raise_task_error(str(exc), exc.remote_traceback, exc.exception)
        except (concurrent.futures.CancelledError, TaskCancelledError):
            self._running = None
            raise AirflowException(f"task {self.task_id!r} was killed while it ran") from None
        self._running = None
        self._report_streams(done.stdout, done.stderr)
        return self._to_xcom(done.value, context)

    def _submit(
        self, context: Any, executor: Any, function: Callable[..., Any], args: list[Any],
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        package = TaskPackage(function, args, kwargs, self._metadata(context))
        try:
            handle = invoke.call(executor.submit(package))
        except Exception as exc:
            _name_unpicklable(self.task_id, function, args, kwargs)
            raise AirflowException(
                f"{executor.short_name()} did not accept the job of task {self.task_id!r}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._running = (executor, handle)
        HandleStore(context).set(handle)
        self.log.info("submitted job %s to %s", json.dumps(handle), executor.short_name())
        return handle

    def _defer(self, handle: dict[str, Any], resubmits: int) -> NoReturn:
        self._running = None
        self.defer(
            trigger=CovalentTrigger(self.executor_spec, handle, self.conn_id),
            method_name="execute_complete",
            kwargs={"resubmits": resubmits},
        )

    def _collect(
        self, context: Any, executor: Any, handle: dict[str, Any], status: str, reason: str
    ) -> Any:
        store = HandleStore(context)
        self._running = (executor, handle)
        try:
            outcome: Outcome = invoke.call(executor.fetch(handle))
        except Exception as exc:
            if status == COMPLETED:
                raise  # the job is fine and keeps its handle: a retry fetches again
            store.clear()
            raise AirflowException(
                f"job {json.dumps(handle)} ended {status} ({reason or 'no detail'}) and left no "
                f"outcome to read ({type(exc).__name__}: {exc})"
            ) from exc
        finally:
            self._running = None
        self._report_streams(outcome.stdout, outcome.stderr)
        if not outcome.ok:
            store.clear()  # the task itself failed: a retry runs it again
            exc = outcome.exception
            message = f"{type(exc).__name__}: {exc}" if exc else "the task failed"
            self._raise_task_error(message, outcome.traceback, exc)
        value = self._to_xcom(outcome.value, context)
        store.clear()
        return value

    def _to_xcom(self, value: Any, context: Any) -> Any:
        if not self.do_xcom_push:
            return None  # nothing would read it: store nothing
        ti = context["ti"]
        if self.multiple_outputs is True and isinstance(value, dict):
            return {k: results.to_xcom(v, ti, limit=self.xcom_max_bytes, key=str(k))
                    for k, v in value.items()}
        return results.to_xcom(value, ti, limit=self.xcom_max_bytes)

    def _report_streams(self, stdout: str, stderr: str) -> None:
        if stdout:
            self.log.info("task stdout:\n%s", stdout.rstrip("\n"))
        if stderr:
            self.log.info("task stderr:\n%s", stderr.rstrip("\n"))

    def _raise_task_error(
        self, message: str, remote_traceback: str, cause: BaseException | None
    ) -> NoReturn:
        if remote_traceback:
            self.log.error("the task raised on its executor:\n%s", remote_traceback.rstrip("\n"))
        raise CovalentTaskError(message) from cause

    def on_kill(self) -> None:
        """Stop the job or inline run this process holds (a deferred job: see the trigger)."""
        if self._running is None:
            return
        executor, held = self._running
        if isinstance(held, dict):
            invoke.call(executor.cancel_job(held))
            self.log.info("cancelled job %s", json.dumps(held))
            return
        ctx, future = held
        try:
            invoke.call(invoke.cancel(executor, ctx))
        finally:
            future.cancel()


def _name_unpicklable(
    task_id: str, function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any]
) -> None:
    """After a failed submit, say which argument (if any) could not be pickled."""
    named = [("the callable", function)]
    named += [(f"op_args[{i}]", v) for i, v in enumerate(args)]
    named += [(f"op_kwargs[{k!r}]", v) for k, v in kwargs.items()]
    for name, value in named:
        try:
            cloudpickle.dumps(value)
        except Exception as exc:
            raise UnpicklableInputError(
                f"{name} of task {task_id!r} cannot be pickled ({type(exc).__name__}: {exc}), "
                "so it cannot be shipped to the executor. Pass plain data, or create the "
                "object inside the function."
            ) from None
