"""Workflow scenarios every cloud batch executor must pass, against its emulator and fake.

A user's promises do not depend on the cloud: a workflow configured by name runs, a
raising task brings its traceback home, cancel and time limits stop the remote job,
throttling is retried, bad settings are named before anything is submitted, and a
killed dispatcher resumes without submitting again. Only how the backend's fake shows
what happened differs (routes, statuses, job keys), so each backend's test module
describes that in a ``CloudBackend`` and subclasses ``CloudWorkflows`` as ``Test...``.

The scenarios use the suite's ``options`` fixture (executor keywords pointing at the
peers) and ``batch`` fixture (the backend's ``FakeProcess``), and need covalent_core
installed beside this package. Suites register this module for pytest's assertion
rewriting in their conftest, so its failures explain themselves.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

import covalent_core as ct
from covalent_core import config
from covalent_testing.fake_server import FakeProcess
from covalent_testing.killed_dispatch import killed_dispatch

Handle = dict[str, Any]


@dataclass(frozen=True)
class CloudBackend:
    """The few facts that differ per backend, so one body of scenarios serves every cloud."""

    #: The executor class; the resumed dispatcher process imports it from its module.
    executor: type[Any]
    #: Its entry-point name, also its section of the config (``COVALENT_CORE_EXECUTORS__...``).
    name: str
    #: The route ending of both the submit (POST) and the one-per-round list (GET) call.
    collection: str
    #: The status the fake answers a successful submission with.
    created: int
    #: Whether the executor deletes each job once its outcome is read.
    deletes_finished: bool
    #: The key of a job handle's local process in ``batch.jobs()``.
    local_key: Callable[[Handle], str]
    #: The request that stops a job handle's job on the backend: (method, path, status).
    stop_request: Callable[[Handle], tuple[str, str, int]]
    #: (option, bad value, what the task's error must say) for settings that must fail.
    bad_settings: tuple[tuple[str, str, str], ...]
    #: Options a resumed dispatcher reads from the config: the saved executor spec lacks them.
    config_only: tuple[str, ...] = ()

    def configure(self, monkeypatch: pytest.MonkeyPatch, options: dict[str, Any]) -> None:
        """Put ``options`` in this executor's config section, as a user's environment would."""
        for key, value in options.items():
            monkeypatch.setenv(f"COVALENT_CORE_EXECUTORS__{self.name.upper()}__{key.upper()}",
                               str(value))
        config.reload()

    def submissions(self, batch: FakeProcess, since: int) -> list[dict[str, Any]]:
        return [r for r in batch.requests()[since:]
                if r["method"] == "POST" and r["path"].endswith(self.collection)]

    def local_state(self, batch: FakeProcess, handle: Handle) -> str | None:
        return batch.jobs().get(self.local_key(handle), {}).get("state")


def _node(dispatch_id: str, name: str) -> dict[str, Any]:
    nodes = ct.get_result(dispatch_id).get_all_node_results()
    return next(n for n in nodes if n["node_name"] == name)


def _wait_for(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def _returning(name: str, value: int) -> Callable[[], int]:
    """A task named ``name``, so its node can be found in the result."""
    def task() -> int:
        return value

    task.__name__ = task.__qualname__ = name
    return task


_RESUME_SCRIPT = textwrap.dedent("""
    import time
    import covalent_core as ct
    from {module} import {cls}

    executor = {cls}(**{options!r})

    @ct.electron(executor=executor)
    def remote_slow(x):
        import time
        time.sleep(5)
        return x * 10

    @ct.lattice
    def workflow(x):
        return remote_slow(x)

    print(ct.dispatch(workflow)(4), flush=True)
    time.sleep(120)
""")


class CloudWorkflows:
    """The shared scenarios; a subclass named ``Test...`` sets ``backend`` to run them."""

    backend: ClassVar[CloudBackend]

    def test_workflow_by_name_runs_each_task_as_a_batch_job(
        self, options: dict[str, Any], batch: FakeProcess, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        backend = self.backend
        backend.configure(monkeypatch, options)
        before = len(batch.requests())

        @ct.electron(executor=backend.name)
        def square(x):
            print(f"squaring {x}")
            return x * x

        @ct.electron(executor=backend.name)
        def total(values):
            return sum(values)

        @ct.lattice
        def workflow(n):
            return total([square(i) for i in range(n)])

        result = ct.dispatch_sync(workflow)(3)
        assert result.status == "COMPLETED", result.error
        assert result.result == 0 + 1 + 4
        printed = sorted(n["stdout"] for n in result.get_all_node_results()
                         if n["node_name"] == "square")
        assert printed == [f"squaring {i}\n" for i in range(3)]
        seen = batch.requests()[before:]
        assert len(backend.submissions(batch, before)) == 4
        lists = [r for r in seen if r["method"] == "GET" and r["path"].endswith(backend.collection)]
        gets = [r for r in seen if r["method"] == "GET" and f"{backend.collection}/" in r["path"]]
        assert lists, f"status should come from the list call (GET ...{backend.collection})"
        assert not gets, "every job was found by the one list call of its round"
        deletes = [r for r in seen if r["method"] == "DELETE"]
        if backend.deletes_finished:
            assert len(deletes) == 4, "each job is deleted once its outcome is read"
        else:
            assert not deletes, "finished jobs are left to the backend"

    def test_raising_task_reports_the_remote_traceback(self, options: dict[str, Any]) -> None:
        @ct.electron(executor=self.backend.executor(**options))
        def explode(x):
            print("about to fail")
            raise ValueError(f"bad value {x}")

        @ct.lattice
        def workflow(x):
            return explode(x)

        result = ct.dispatch_sync(workflow)(7)
        assert result.status == "FAILED"
        node = _node(result.dispatch_id, "explode")
        assert "ValueError: bad value 7" in node["error"]
        assert "in explode" in node["traceback"] and "raise ValueError" in node["traceback"]
        assert "about to fail" in node["stdout"]

    def test_cancel_stops_the_running_job(
        self, options: dict[str, Any], batch: FakeProcess
    ) -> None:
        backend = self.backend

        @ct.electron(executor=backend.executor(**options))
        def slow():
            import time

            time.sleep(120)
            return "finished"

        @ct.lattice
        def workflow():
            return slow()

        dispatch_id = ct.dispatch(workflow)()
        handle = _wait_for(lambda: _node(dispatch_id, "slow")["job_handle"], "the job handle")
        _wait_for(lambda: backend.local_state(batch, handle) == "RUNNING", "the job to run")
        ct.cancel(dispatch_id)
        result = ct.get_result(dispatch_id, wait=True, timeout=60)
        assert result.status == "CANCELLED"
        method, path, status = backend.stop_request(handle)
        stops = [r for r in batch.requests() if (r["method"], r["path"]) == (method, path)]
        assert stops, f"the job was not stopped on the backend ({method} {path})"
        assert stops[0]["status"] == status
        assert _wait_for(lambda: backend.local_state(batch, handle) == "KILLED", "the kill")

    def test_time_limit_stops_the_job(self, options: dict[str, Any], batch: FakeProcess) -> None:
        @ct.electron(executor=self.backend.executor(**options), time_limit=3)
        def too_slow():
            import time

            time.sleep(120)

        @ct.lattice
        def workflow():
            return too_slow()

        result = ct.dispatch_sync(workflow)()
        assert result.status == "FAILED"
        node = _node(result.dispatch_id, "too_slow")
        assert "time_limit of 3s" in node["error"]
        assert _wait_for(lambda: self.backend.local_state(batch, node["job_handle"]) == "KILLED",
                         "the job to be killed")

    def test_transient_errors_are_retried(
        self, options: dict[str, Any], batch: FakeProcess
    ) -> None:
        """One 503 on the submission and one 429 on the list call are injected into the fake."""
        backend = self.backend
        batch.inject_failure("POST", backend.collection, 503)
        batch.inject_failure("GET", backend.collection, 429)
        before = len(batch.requests())

        @ct.electron(executor=backend.executor(**options))
        def one():
            return 1

        @ct.lattice
        def workflow():
            return one()

        result = ct.dispatch_sync(workflow)()
        assert result.status == "COMPLETED", result.error
        assert result.result == 1
        assert [r["status"] for r in backend.submissions(batch, before)] == [503, backend.created]
        assert any(r["status"] == 429 for r in batch.requests()[before:])

    def test_bad_settings_are_named_and_nothing_is_submitted(
        self, options: dict[str, Any], batch: FakeProcess
    ) -> None:
        backend = self.backend
        before = len(batch.requests())
        tasks = [
            ct.electron(_returning(f"bad_{option}", index),
                        executor=backend.executor(**{**options, option: value}))
            for index, (option, value, _) in enumerate(backend.bad_settings)
        ]

        @ct.lattice
        def workflow():
            return [task() for task in tasks]

        result = ct.dispatch_sync(workflow)()
        assert result.status == "FAILED"
        for option, _, named in backend.bad_settings:
            assert named in _node(result.dispatch_id, f"bad_{option}")["error"]
        assert not backend.submissions(batch, before), "nothing may be submitted with bad settings"

    def test_resumed_dispatch_reattaches_to_the_job(
        self, options: dict[str, Any], batch: FakeProcess, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        backend = self.backend
        # The resumed process rebuilds the executor from its saved spec; what that lacks
        # comes from the config, as it would on a real restart.
        backend.configure(monkeypatch, {key: options[key] for key in backend.config_only})
        script = tmp_path / "dispatcher.py"
        script.write_text(_RESUME_SCRIPT.format(module=backend.executor.__module__,
                                               cls=backend.executor.__name__, options=options))
        before = len(batch.requests())
        dispatch_id, _ = killed_dispatch(script, lambda d: _wait_for(
            lambda: _node(d, "remote_slow")["job_handle"], "the job handle"))

        assert ct.redispatch(dispatch_id)() == dispatch_id
        result = ct.get_result(dispatch_id, wait=True, timeout=90)
        assert result.status == "COMPLETED", result.error
        assert result.result == 40
        assert len(backend.submissions(batch, before)) == 1, "the job was submitted again"
