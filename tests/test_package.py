"""The task package format and the runner, exercised in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import covalent_core as ct
from covalent_core.errors import TaskPackageError
from covalent_core.remote.call import TaskCall
from covalent_core.remote.package import KEY_ENV, Outcome, TaskPackage, versions


def _run_runner(tmp_path, package: bytes, env=None):
    (tmp_path / "task.pkg").write_bytes(package)
    proc = subprocess.run(
        [sys.executable, "-m", "covalent_core.remote", "run", "task.pkg", "outcome.pkg",
         "--stdout", "out.txt", "--stderr", "err.txt"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    return proc, Outcome.from_bytes((tmp_path / "outcome.pkg").read_bytes())


def shout(word, times=1):
    import os
    import sys

    print("printing", word)
    os.system("echo from-a-subprocess")
    print("warning", file=sys.stderr)
    return word.upper() * times


def fails(x):
    raise KeyError(f"missing {x}")


def test_header_records_versions_and_metadata():
    pkg = TaskPackage(shout, ["a"], {}, {"dispatch_id": "d1", "node_id": 3}).to_bytes()
    head = json.loads(pkg.split(b"\n")[1])
    assert head["format"] == versions()["format"]
    assert head["python"] == versions()["python"]
    assert head["cloudpickle"] == versions()["cloudpickle"]
    assert head["metadata"] == {"dispatch_id": "d1", "node_id": 3}
    assert head["binding"]["dispatch_id"] == "d1" and head["binding"]["node_id"] == 3
    assert len(head["tag"]) == 64 and len(head["task_key"]) == 64


def test_runner_runs_the_task_and_captures_all_output(tmp_path):
    pkg = TaskPackage(shout, ["hi"], {"times": 2}, {"node_id": 0}).to_bytes()
    proc, outcome = _run_runner(tmp_path, pkg)
    assert proc.returncode == 0, proc.stderr
    assert outcome.ok and outcome.value == "HIHI"
    assert "printing hi" in outcome.stdout
    assert "from-a-subprocess" in outcome.stdout  # fd-level capture
    assert outcome.stderr.strip() == "warning"
    assert (tmp_path / "out.txt").read_text() == outcome.stdout


def test_runner_reports_remote_traceback(tmp_path):
    proc, outcome = _run_runner(tmp_path, TaskPackage(fails, [7], {}).to_bytes())
    assert proc.returncode == 0
    assert not outcome.ok
    assert isinstance(outcome.exception, KeyError)
    assert "in fails" in outcome.traceback and "missing 7" in outcome.traceback


def test_deps_and_hooks_run_on_the_far_side(tmp_path):
    marker = tmp_path / "marker"

    def before():
        return 100

    call = TaskCall(
        lambda x, offset=0: x + offset,
        deps_bash=ct.DepsBash([f"echo bash-ran > {marker}"]),
        call_before=[ct.DepsCall(before, retval_keyword="offset")],
    )
    _proc, outcome = _run_runner(tmp_path, TaskPackage(call, [1], {}).to_bytes())
    assert outcome.ok and outcome.value == 101
    assert marker.read_text().strip() == "bash-ran"


def test_tampered_package_is_refused_before_unpickling(tmp_path):
    pkg = bytearray(TaskPackage(shout, ["x"], {}).to_bytes())
    pkg[-5] ^= 0xFF
    (tmp_path / "task.pkg").write_bytes(bytes(pkg))
    proc = subprocess.run(
        [sys.executable, "-m", "covalent_core.remote", "run", "task.pkg", "outcome.pkg",
         "--stderr", "err.txt"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 3
    assert "failed its signature check" in (tmp_path / "err.txt").read_text()
    assert not (tmp_path / "outcome.pkg").exists()  # nothing to sign an answer with
    with pytest.raises(TaskPackageError, match="signature check"):
        TaskPackage.from_bytes(bytes(pkg))


def test_version_mismatch_names_both_versions():
    """A package signed on a side with other versions (a damaged one fails its signature)."""
    from covalent_core.remote.signing import tag

    pkg = TaskPackage(shout, ["x"], {}).to_bytes()
    magic, head, body = pkg.split(b"\n", 2)
    header = json.loads(head)
    header["python"] = "3.8"
    header["tag"] = tag(bytes.fromhex(header["task_key"]), header, body)
    forged = magic + b"\n" + json.dumps(header).encode() + b"\n" + body
    here = versions()["python"]
    with pytest.raises(TaskPackageError, match=rf"Python 3\.8 but this side runs Python {here}"):
        TaskPackage.from_bytes(forged)
    header["python"], header["format"] = here, 99
    forged = magic + b"\n" + json.dumps(header).encode() + b"\n" + body
    with pytest.raises(TaskPackageError, match="format 99"):
        TaskPackage.from_bytes(forged)


def test_hmac_key_signs_and_is_required(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv(KEY_ENV, "shared-secret")
    pkg = TaskPackage(shout, ["k"], {}).to_bytes()
    assert b"shared-secret" not in pkg
    assert "task_key" not in json.loads(pkg.split(b"\n")[1])  # nothing secret travels
    env = dict(os.environ)
    proc, outcome = _run_runner(tmp_path, pkg, env=env)
    assert outcome.ok and outcome.value == "K"
    env.pop(KEY_ENV)
    (tmp_path / "outcome.pkg").unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "covalent_core.remote", "run", "task.pkg", "outcome.pkg",
         "--stderr", "err2.txt"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 3
    assert "that variable is not set here" in (tmp_path / "err2.txt").read_text()


def test_unpicklable_return_value_becomes_a_clear_error(tmp_path):
    def make_lock():
        import threading

        return threading.Lock()

    _proc, outcome = _run_runner(tmp_path, TaskPackage(make_lock, [], {}).to_bytes())
    assert not outcome.ok
    assert "return value cannot be pickled" in str(outcome.exception)


def test_versions_command_prints_json():
    out = subprocess.run([sys.executable, "-m", "covalent_core.remote", "versions"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["python"] == versions()["python"]


def test_runner_imports_no_heavy_dependencies():
    code = ("import sys, covalent_core.remote.runner; "
            "print(sorted(m for m in ('pydantic','dask','distributed','rich','pebble') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
