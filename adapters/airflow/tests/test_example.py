"""examples/airflow_pipeline.py runs as its docstring says, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO


def test_example_runs_both_dags() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "COVALENT_CORE_"))}
    proc = subprocess.run([sys.executable, str(REPO / "examples" / "airflow_pipeline.py")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert ("example_covalent_taskflow: success (3 tasks); load returned "
            "'lowest energy 277.572 at T=3.5'") in proc.stdout
    assert ("example_covalent_lattice: success (5 tasks); lowest_12 returned "
            "(277.5716460466649, 3.5)") in proc.stdout
