"""Failures of the dispatcher itself end the dispatch FAILED with their cause, never RUNNING.

Each test makes a real fault (a job handle JSON cannot hold, a full disk, a store that
refuses a write) and checks that the dispatch ends FAILED naming it, that waiting for
it returns, and that what was computed before the fault is kept for a resume.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import covalent_core as ct
from covalent_core import config
from covalent_core.executor import AsyncBaseExecutor, BaseExecutor
from covalent_core.store import get_store

WAIT = 120  # seconds: generous, only there so that a regression fails instead of hanging


class SetHandleExecutor(BaseExecutor):
    """Sets a job handle holding a set, from the worker thread a sync executor runs on."""

    def run(self, function, args, kwargs, task_metadata):
        self.set_job_handle({"job_ids": {1, 2}})
        return function(*args, **kwargs)


class AsyncSetHandleExecutor(AsyncBaseExecutor):
    """Sets a job handle holding a set, on the dispatcher's event loop."""

    async def run(self, function, args, kwargs, task_metadata):
        await self.set_job_handle({"job_ids": {1, 2}})
        return function(*args, **kwargs)


def _runs(marks: Path, name: str) -> int:
    path = marks / name
    return len(path.read_text().splitlines()) if path.exists() else 0


@pytest.mark.parametrize("executor_class", [SetHandleExecutor, AsyncSetHandleExecutor])
def test_a_job_handle_that_is_not_json_fails_its_node(executor_class):
    @ct.electron
    def first():
        return 1

    @ct.electron(executor=executor_class())
    def second(x):
        return x + 1

    @ct.lattice
    def workflow():
        return second(first())

    result = ct.get_result(ct.dispatch(workflow)(), wait=True, timeout=WAIT)
    assert result.status == "FAILED"
    assert f"executor {executor_class.__name__} set a job handle" in result.error
    assert "set is not JSON serializable" in result.error
    assert "job handles must be JSON: str, int, float, bool or None" in result.error
    node = result.get_node_result(1)
    assert node["status"] == "FAILED"
    assert executor_class.__name__ in node["error"]
    assert node["job_handle"] is None
    assert result.get_node_result(0)["status"] == "COMPLETED"
    assert result.get_node_result(0)["output"] == 1


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 1 MiB tmpfs as the results dir: a real full disk (needs mount privileges)."""
    mount_point = tmp_path / "small_disk"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("a full disk is made with a small tmpfs, and there is no mount command")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip("a full disk is made with a small tmpfs, and mounting one is not "
                    f"permitted here: {mounted.stderr.strip()}")
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__RESULTS_DIR", str(mount_point))
    config.reload()
    yield mount_point
    subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


def test_a_full_disk_fails_the_node_and_names_the_disk(small_disk, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()

    @ct.electron
    def small():
        with open(marks / "small", "a") as fh:
            fh.write("run\n")
        return 1

    @ct.electron
    def big(x):
        return bytes(2_000_000)  # twice what the disk holds

    @ct.lattice
    def workflow():
        return big(small())

    dispatch_id = ct.dispatch(workflow)()
    result = ct.get_result(dispatch_id, wait=True, timeout=WAIT)
    assert result.status == "FAILED"
    output_path = small_disk / dispatch_id / "node_1.pkl"
    expected = (f"no space left on device writing {output_path}: free space on that disk or "
                "set dispatcher.data_dir")
    assert expected in result.error
    assert "big(1)" in result.error
    node = result.get_node_result(1)
    assert node["status"] == "FAILED"
    assert expected in node["error"]
    assert not output_path.exists()  # the partial file is gone, and its space with it
    assert result.get_node_result(0)["status"] == "COMPLETED"
    assert result.get_node_result(0)["output"] == 1

    # Once there is room, a resume finishes the dispatch without running `small` again.
    subprocess.run(["mount", "-o", "remount,size=8m", str(small_disk)], check=True)
    assert ct.redispatch(dispatch_id)() == dispatch_id
    resumed = ct.get_result(dispatch_id, wait=True, timeout=WAIT)
    assert resumed.status == "COMPLETED", resumed.error
    assert resumed.result == bytes(2_000_000)
    assert _runs(marks, "small") == 1


@pytest.mark.parametrize(
    ("trigger", "cause"),
    [
        pytest.param(
            "BEFORE UPDATE ON nodes WHEN NEW.name = 'second' AND NEW.status = 'COMPLETED'",
            "storing node states in {store} failed: IntegrityError: injected store fault",
            id="node-commit",
        ),
        pytest.param(
            "BEFORE UPDATE ON dispatches WHEN NEW.status = 'COMPLETED'",
            "the dispatcher failed: IntegrityError: injected store fault",
            id="final-commit",
        ),
    ],
)
def test_a_store_write_that_fails_ends_the_dispatch_failed(tmp_path, trigger, cause):
    """The fault is a real SQLite error, raised by a trigger on the store's own tables.

    ``node-commit`` fails the writer thread's commit of a node's completion (as a full
    disk or an I/O error would); ``final-commit`` fails the dispatch's last write.
    """
    marks = tmp_path / "marks"
    marks.mkdir()
    store = get_store()
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"CREATE TRIGGER fault {trigger} "
                     "BEGIN SELECT RAISE(ABORT, 'injected store fault'); END")

    @ct.electron
    def first():
        with open(marks / "first", "a") as fh:
            fh.write("run\n")
        return 1

    @ct.electron
    def second(x):
        with open(marks / "second", "a") as fh:
            fh.write("run\n")
        return x + 1

    @ct.lattice
    def workflow():
        return second(first())

    dispatch_id = ct.dispatch(workflow)()
    result = ct.get_result(dispatch_id, wait=True, timeout=WAIT)
    assert result.status == "FAILED"
    assert cause.format(store=store.path) in result.error
    assert result.get_node_result(0)["status"] == "COMPLETED"
    assert result.get_node_result(0)["output"] == 1

    # Nothing computed is lost: the resume runs neither node again.
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP TRIGGER fault")
    assert ct.redispatch(dispatch_id)() == dispatch_id
    resumed = ct.get_result(dispatch_id, wait=True, timeout=WAIT)
    assert resumed.status == "COMPLETED", resumed.error
    assert resumed.result == 2
    assert (_runs(marks, "first"), _runs(marks, "second")) == (1, 1)
