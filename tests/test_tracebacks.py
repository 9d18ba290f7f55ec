"""Far-side tracebacks show the user's source lines, whichever cloudpickle is installed.

cloudpickle 3.1.3 renames the file of every code object it ships by value to
``<dynamic-code>``, and the far side of a remote executor never has the user's files.
These tests run with the newest cloudpickle in the core suite and with the oldest that
covalent-core allows in the remote suite (scripts/suites/remote.sh).
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import cloudpickle

from covalent_core.remote.package import Outcome, TaskPackage
from covalent_core.remote.sources import capture, format_exception

USER_MODULE = '''
def check(value):
    if value < 0:
        raise ValueError(f"negative: {value}")  # the failing line
    return value


def task(values):
    total = 0
    for v in values:
        total += check(v)  # calls the helper
    return total
'''


def _user_module(tmp_path, monkeypatch, name):
    """A module of the user's own project, imported from a folder that is not installed."""
    folder = tmp_path / "project"
    folder.mkdir()
    path = folder / f"{name}.py"
    path.write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(folder))
    return importlib.import_module(name), path


def test_runner_traceback_shows_lines_of_a_file_the_far_side_lacks(tmp_path, monkeypatch):
    module, path = _user_module(tmp_path, monkeypatch, "user_flow_remote")
    package = TaskPackage(module.task, [[1, -2]], {}).to_bytes()
    path.unlink()  # the far side has no copy of the user's project
    importlib.invalidate_caches()
    (tmp_path / "task.pkg").write_bytes(package)
    subprocess.run(
        [sys.executable, "-m", "covalent_core.remote", "run", "task.pkg", "outcome.pkg"],
        cwd=tmp_path, capture_output=True, timeout=60, check=True,
    )
    outcome = Outcome.from_bytes((tmp_path / "outcome.pkg").read_bytes())
    assert isinstance(outcome.exception, ValueError)
    tb = outcome.traceback
    assert f'File "{path}", line 4, in check' in tb, tb
    assert 'raise ValueError(f"negative: {value}")  # the failing line' in tb
    assert f'File "{path}", line 11, in task' in tb
    assert "total += check(v)  # calls the helper" in tb
    assert "<dynamic-code>" not in tb
    assert "covalent_core" not in tb  # the runner's own frames are left out


def test_source_map_renders_a_renamed_code_object(tmp_path, monkeypatch):
    """The far side of cloudpickle >= 3.1.3: every shipped frame's file is <dynamic-code>."""
    module, path = _user_module(tmp_path, monkeypatch, "user_flow_renamed")
    sources = capture(module.task)
    namespace: dict = {}
    exec(compile(USER_MODULE, "<dynamic-code>", "exec"), namespace)
    try:
        namespace["task"]([3, -1])
    except ValueError as exc:
        tb = format_exception(exc, sources)
    assert f'File "{path}", line 4, in check' in tb, tb
    assert "raise ValueError" in tb and "total += check(v)" in tb
    assert "<dynamic-code>" not in tb


def test_capture_leaves_out_installed_code():
    sources = capture(cloudpickle.dumps)
    assert sources.codes == ()


def test_local_executor_traceback_of_a_script_shows_its_lines(tmp_path):
    """A script run as __main__: its electrons ship by value to the worker processes."""
    script = tmp_path / "flow.py"
    script.write_text(textwrap.dedent('''
        import covalent_core as ct

        @ct.electron(executor="local")
        def divide(a, b):
            return a / b  # the failing division

        @ct.lattice
        def workflow():
            return divide(1, 0)

        result = ct.dispatch_sync(workflow)()
        print(result.get_node_result(0)["traceback"])
    '''))
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=True,
    )
    assert "ZeroDivisionError" in proc.stdout, proc.stdout + proc.stderr
    assert f'File "{script}", line 6, in divide' in proc.stdout
    assert "return a / b  # the failing division" in proc.stdout
    assert "<dynamic-code>" not in proc.stdout
