"""The per-task record scopes the core stores with a node's result."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
from covalent_quantum import records


def test_scopes_nest_and_keep_inner_records_for_the_outer():
    with records.recording() as outer:
        records.add({"call": 1})
        with records.recording() as inner:
            records.add({"call": 2})
            assert records.current_records() == [{"call": 2}]
        assert inner == [{"call": 2}]
    assert outer == [{"call": 1}, {"call": 2}]


def test_threads_started_with_a_copied_context_record_into_the_scope():
    import contextvars

    with records.recording() as scope:
        threads = [threading.Thread(target=contextvars.copy_context().run,
                                    args=(records.add, {"thread": i})) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(r["thread"] for r in scope) == list(range(8))


def test_jsonable_results():
    value = {"probs": np.array([0.5, 0.5]), 1: (np.float64(0.25), 1j), "x": None}
    assert records.jsonable(value) == {
        "probs": [0.5, 0.5], "1": [0.25, {"real": 0.0, "imag": 1.0}], "x": None}


def test_records_module_imports_no_pennylane():
    """The core's remote runner opens the scope before the task's imports happen."""
    code = ("import sys, covalent_quantum.records; "
            "print('pennylane' in sys.modules or 'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
