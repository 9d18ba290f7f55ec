"""Two Airflow DAGs that use covalent-airflow: drop this file into your DAG folder.

``example_covalent_taskflow`` is an ordinary TaskFlow DAG in which one step runs on a
covalent_core executor with ``@task.covalent``; ``example_covalent_lattice`` is a
covalent lattice turned into a DAG with ``to_dag``. Both use the Local executor unless
``COVALENT_EXAMPLE_EXECUTOR`` names another one: with covalent-slurm installed and an
Airflow connection ``hpc`` of type ``covalent`` holding its options and secrets,

    COVALENT_EXAMPLE_EXECUTOR=slurm COVALENT_EXAMPLE_CONN=hpc

sends the heavy steps to Slurm, and those tasks wait deferred, without a worker slot.

To try it without an Airflow deployment (a throwaway AIRFLOW_HOME on SQLite):

    pip install covalent-airflow        # or: bash scripts/test.sh airflow, then
    python examples/airflow_pipeline.py # .venvs/airflow/bin/python examples/...
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

if __name__ == "__main__":  # a throwaway Airflow, configured before Airflow is imported
    _HOME = Path(tempfile.mkdtemp(prefix="covalent-airflow-example-"))
    os.environ.update({
        "AIRFLOW_HOME": str(_HOME / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_HOME / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "COVALENT_CORE_DISPATCHER__DATA_DIR": str(_HOME / "covalent"),
        "COVALENT_CORE_DISPATCHER__NO_CLUSTER": "true",
    })

from airflow.sdk import dag, task
from covalent_airflow import to_dag

import covalent_core as ct

EXECUTOR = os.environ.get("COVALENT_EXAMPLE_EXECUTOR", "local")
CONN = os.environ.get("COVALENT_EXAMPLE_CONN") or None


# -- An existing TaskFlow DAG; one step moves to a covalent executor --------------------
@dag(dag_id="example_covalent_taskflow", schedule=None, start_date=datetime(2026, 1, 1),
     tags=["covalent"])
def taskflow():
    @task
    def extract() -> list[float]:
        return [0.5, 1.5, 2.5, 3.5]

    @task.covalent(executor=EXECUTOR, conn_id=CONN, retries=2)
    def simulate(temperatures: list[float], steps: int) -> dict:
        """The expensive step: runs where the executor runs it (a Slurm job, a VM...)."""
        import math

        energies = [sum(math.exp(-t * k / steps) for k in range(steps)) for t in temperatures]
        print(f"simulated {len(temperatures)} temperatures x {steps} steps")
        return {"temperatures": temperatures, "energies": energies}

    @task
    def load(result: dict) -> str:
        best = min(zip(result["energies"], result["temperatures"], strict=True))
        return f"lowest energy {best[0]:.3f} at T={best[1]}"

    load(simulate(extract(), steps=1000))


taskflow_dag = taskflow()


# -- A covalent lattice as a DAG: one task per electron ---------------------------------
@ct.electron(executor=EXECUTOR)
def energy(temperature: float, steps: int) -> float:
    import math

    return sum(math.exp(-temperature * k / steps) for k in range(steps))


@ct.electron
def lowest(energies: list[float], temperatures: list[float]) -> tuple[float, float]:
    return min(zip(energies, temperatures, strict=True))


@ct.lattice(executor="local")
def sweep(temperatures: list[float], steps: int) -> tuple[float, float]:
    """An energy per temperature, in parallel, then the minimum."""
    return lowest([energy(t, steps) for t in temperatures], temperatures)


lattice_dag = to_dag(
    sweep, "example_covalent_lattice",
    lattice_args=([0.5, 1.5, 2.5, 3.5], 1000),
    conn_ids={EXECUTOR: CONN} if CONN else None,
    start_date=datetime(2026, 1, 1), tags=["covalent"],
)


def _try_it() -> None:
    """``dag.test()`` both DAGs; it runs only DAGs in the DAG folder, so copy this file there."""
    import shutil
    import subprocess

    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    dags.mkdir(parents=True)
    shutil.copy(__file__, dags / "covalent_example_dags.py")
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True)
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    try:
        from airflow.sdk.serde import deserialize
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serde import deserialize

    for one in (taskflow_dag, lattice_dag):
        run = one.test()
        with create_session() as session:
            rows = session.query(XComModel).filter_by(
                dag_id=one.dag_id, run_id=run.run_id, key="return_value")
            values = {r.task_id: deserialize(XComModel.deserialize_value(r)) for r in rows}
        (final,) = [t for t in one.task_dict.values() if not t.downstream_task_ids]
        print(f"{one.dag_id}: {run.state} ({len(one.task_dict)} tasks); {final.task_id} "
              f"returned {values.get(final.task_id)!r}")
    shutil.rmtree(os.environ["AIRFLOW_HOME"], ignore_errors=True)


if __name__ == "__main__":
    _try_it()
