"""Nothing is unpickled that this installation did not sign, for the node that reads it.

Each attack below plants a pickle whose unpickling would create a marker file (code
running as the user). The attacker is a test executor that writes into the job
directory before the dispatcher fetches it, as anyone with write access to a shared
scratch directory, bucket or blob container could: the tasks really run in other
processes through the runner, and the dispatch really fetches and checks the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import cloudpickle
import pytest
from support.process_executor import ProcessExecutor

import covalent_core as ct
from covalent_core.errors import TaskPackageError
from covalent_core.remote.package import Outcome, TaskPackage
from covalent_core.remote.signing import KEY_ENV, Binding, installation_key
from covalent_core.store import artifacts

MAGIC = b"covalent-core outcome\n"


class Evil:
    """Runs a shell command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _header_of(job: Path, name: str) -> dict:
    return json.loads((job / name).read_bytes().split(b"\n")[1])


def _forged(job: Path, marker: Path, how: str) -> bytes:
    """An outcome made by someone who can read and write the job directory."""
    task = _header_of(job, "task.pkg")
    body = cloudpickle.dumps({"ok": True, "value_bytes": cloudpickle.dumps(Evil(marker))})
    header = {k: task[k] for k in ("format", "python", "cloudpickle")}
    header.update(kind="outcome", metadata={"ok": True}, binding=task["binding"])
    if how == "plain-sha256":  # the old format's "alg": chosen by the file
        header["tag"] = {"alg": "sha256", "value": hashlib.sha256(body).hexdigest()}
    else:  # a well-formed tag, under a key the attacker made up
        signed = json.dumps(header, sort_keys=True).encode() + b"\n" + body
        header["tag"] = hmac.new(b"attacker's key" * 3, signed, hashlib.sha256).hexdigest()
    return MAGIC + json.dumps(header).encode() + b"\n" + body


class ForgingExecutor(ProcessExecutor):
    """Replaces the job's outcome with a forged one just before the dispatcher reads it."""

    def __init__(self, workdir: str, marker: str, how: str, **kwargs) -> None:
        super().__init__(workdir, **kwargs)
        self.marker, self.how = marker, how

    async def fetch(self, handle):
        job = Path(handle["dir"])
        (job / "outcome.pkg").write_bytes(_forged(job, Path(self.marker), self.how))
        return await super().fetch(handle)


def _one_task_on(executor) -> ct.Result:
    @ct.electron(executor=executor)
    def honest(x):
        return x + 1

    @ct.lattice
    def workflow(x):
        return honest(x)

    return ct.dispatch_sync(workflow)(1)


@pytest.mark.parametrize("how", ["plain-sha256", "attacker-key"])
def test_a_forged_outcome_is_refused_and_never_unpickled(tmp_path, how):
    marker = tmp_path / "pwned"
    result = _one_task_on(ForgingExecutor(str(tmp_path / "jobs"), str(marker), how))
    assert result.status == "FAILED"
    assert "failed its signature check" in result.get_node_result(0)["error"]
    assert "not unpickled" in result.get_node_result(0)["error"]
    assert not marker.exists()


def test_with_a_shared_key_the_package_holds_no_key_and_outcomes_cannot_be_forged(
    tmp_path, monkeypatch
):
    """A reader of the job directory learns nothing that signs an outcome."""
    monkeypatch.setenv(KEY_ENV, "deployment-wide secret")
    marker = tmp_path / "pwned"
    result = _one_task_on(ForgingExecutor(str(tmp_path / "jobs"), str(marker), "attacker-key"))
    (job,) = (tmp_path / "jobs").iterdir()
    assert "task_key" not in _header_of(job, "task.pkg")
    assert result.status == "FAILED" and not marker.exists()


class SwappingExecutor(ProcessExecutor):
    """Hands node A the outcome of node B's job: a swap in a shared scratch directory."""

    async def fetch(self, handle):
        jobs = Path(self.workdir)
        mine = Path(handle["dir"])
        deadline = time.monotonic() + 60
        real = mine / "outcome.real"
        if not real.exists():
            real.write_bytes((mine / "outcome.pkg").read_bytes())
        while time.monotonic() < deadline:
            others = [j for j in jobs.iterdir() if j != mine and (j / "exit_code").exists()]
            if others:
                other = others[0]
                stolen = other / "outcome.real"
                if not stolen.exists():
                    stolen.write_bytes((other / "outcome.pkg").read_bytes())
                (mine / "outcome.pkg").write_bytes(stolen.read_bytes())
                break
            await asyncio.sleep(0.05)
        return await super().fetch(handle)


def test_swapped_outcomes_are_refused_naming_both_tasks(tmp_path):
    remote = SwappingExecutor(str(tmp_path / "jobs"))

    @ct.electron(executor=remote)
    def scale(x):
        return x * 10

    @ct.lattice
    def workflow():
        return [scale(1), scale(2)]

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    errors = [n["error"] for n in result.get_all_node_results() if n["node_name"] == "scale"]
    assert errors and all("swapped in from another task" in e for e in errors), errors


def test_the_runner_refuses_a_package_the_shared_key_did_not_sign(tmp_path):
    marker = tmp_path / "pwned"
    env = {**os.environ, KEY_ENV: "the real key"}
    os.environ[KEY_ENV] = "an attacker's key"  # the package is made under another key
    try:
        package = TaskPackage(os.system, [f"touch {marker}"], {}).to_bytes()
    finally:
        del os.environ[KEY_ENV]
    (tmp_path / "task.pkg").write_bytes(package)
    proc = subprocess.run(
        [sys.executable, "-m", "covalent_core.remote", "run", "task.pkg", "outcome.pkg",
         "--stderr", "err.txt"], cwd=tmp_path, env=env, timeout=60,
    )
    assert proc.returncode == 3
    assert "failed its signature check" in (tmp_path / "err.txt").read_text()
    assert not marker.exists() and not (tmp_path / "outcome.pkg").exists()


def test_an_outcome_bound_to_another_submission_is_refused():
    """In-process executors know the exact submission they wait for."""
    sent = Binding.new("d", 1, 1)
    data = Outcome(True, value=42).to_bytes(sent, sent.key(installation_key()))
    assert Outcome.from_bytes(data, sent).value == 42
    with pytest.raises(TaskPackageError, match="swapped or replayed"):
        Outcome.from_bytes(data, Binding.new("d", 1, 1))


def _completed(tmp_path):
    @ct.electron(executor="local")
    def value(x):
        return x

    @ct.lattice
    def workflow():
        return [value(1), value(2)]

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED"
    ids = [n["node_id"] for n in result.get_all_node_results() if n["node_name"] == "value"]
    return result.dispatch_id, Path(result.results_dir), ids


def test_a_planted_output_file_is_refused_naming_it(tmp_path):
    dispatch_id, results, (first, _) = _completed(tmp_path)
    marker = tmp_path / "pwned"
    planted = results / artifacts.node_output_name(first)
    planted.write_bytes(cloudpickle.dumps(Evil(marker)))
    with pytest.raises(TaskPackageError, match=f"{planted} is not a covalent-core data file"):
        ct.get_result(dispatch_id).get_node_result(first)
    assert not marker.exists()


def test_an_output_moved_from_another_node_is_refused(tmp_path):
    dispatch_id, results, (first, second) = _completed(tmp_path)
    target = results / artifacts.node_output_name(first)
    target.write_bytes((results / artifacts.node_output_name(second)).read_bytes())
    with pytest.raises(TaskPackageError, match="moved here from another node"):
        ct.get_result(dispatch_id).get_node_result(first)


def test_every_flipped_header_byte_is_refused_with_a_message_about_the_file():
    package = TaskPackage(shout_for_flips, ["x"], {}).to_bytes()
    start = package.index(b"\n") + 1
    for i in range(start, package.index(b"\n", start)):
        flipped = bytearray(package)
        flipped[i] ^= 0x01
        with pytest.raises(TaskPackageError) as refused:
            TaskPackage.from_bytes(bytes(flipped))
        assert "None" not in str(refused.value), (i, str(refused.value))


def shout_for_flips(word):
    return word.upper()
