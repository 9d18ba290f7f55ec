"""A covalent lattice as an Airflow DAG: local and remote electrons, inline nodes
(collection, indexing, arithmetic), ct.wait and a sublattice."""

import os
from datetime import datetime

from covalent_airflow import to_dag
from support.process_executor import ProcessExecutor

import covalent_core as ct

LOCAL = ct.executor.LocalExecutor()
REMOTE = ProcessExecutor(workdir=os.environ["COVALENT_AIRFLOW_TEST_JOBS"])


@ct.electron(executor=LOCAL)
def add(a: int, b: int) -> int:
    return a + b


@ct.electron(executor=REMOTE)
def mul(a: int, b: int) -> int:
    print(f"multiplying {a} by {b} remotely")
    return a * b


@ct.electron
def split(x: int) -> tuple[int, int]:
    return x // 2, x - x // 2


@ct.electron(executor=LOCAL)
def total(values: list[int]) -> int:
    return sum(values)


@ct.lattice
def increment(x: int) -> int:
    return add(x, 1)


@ct.lattice(executor=LOCAL)
def workflow(n: int) -> dict:
    """Adds, multiplies remotely, splits and sums."""
    a = add(1, 2)
    b = mul(a, n + 1)
    low, high = split(b)
    marker = add(100, 0)
    s = total([low, high, a * 2])
    ct.wait(s, [marker])
    return {"sum": s, "sub": ct.electron(increment)(s), "low": low}


dag = to_dag(workflow, "covalent_lattice", lattice_args=(3,), start_date=datetime(2026, 1, 1))
