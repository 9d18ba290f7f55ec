"""Fan-out of trivial tasks plus a sum in Airflow: native TaskFlow vs ``to_dag(lattice)``.

Both DAGs run under ``dag.test()`` (tasks one after another in this process, Airflow 3 on
SQLite in a temporary AIRFLOW_HOME), interleaved and repeated in one run:
  native   @task square(i) for i in range(N), then @task total(values): task bodies
           run in the task's own process
  lattice  the same as a @ct.lattice on covalent_core's Local executor, via to_dag:
           each task body ships to covalent_core's worker pool and back
Prints medians and the ratio. Target: lattice within 1.2x of native.

    python bench/airflow_fanout.py [--tasks 100] [--repeat 5]

``dag.test()`` only runs DAGs found in the DAG folder, so this file copies itself there;
imported under another name, it only defines the two DAGs.
"""

from __future__ import annotations

import os
from datetime import datetime

TASKS = int(os.environ.get("AIRFLOW_FANOUT_TASKS", "100"))


def square(i: int) -> int:
    return i * i


def total(values: list[int]) -> int:
    return sum(values)


def build_dags() -> tuple[object, object]:
    from airflow.sdk import dag, task
    from covalent_airflow import to_dag

    import covalent_core as ct

    @dag(dag_id="fanout_native", schedule=None, start_date=datetime(2026, 1, 1))
    def native():
        task(total)([task(square)(i) for i in range(TASKS)])

    local = ct.executor.LocalExecutor()
    e_square = ct.electron(square, executor=local)
    e_total = ct.electron(total, executor=local)

    @ct.lattice
    def fanout():
        return e_total([e_square(i) for i in range(TASKS)])

    return native(), to_dag(fanout, "fanout_lattice", start_date=datetime(2026, 1, 1))


def main() -> None:
    import argparse
    import importlib
    import shutil
    import statistics
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=TASKS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="airflow-bench-"))
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(__file__, dags / "fanout_dags.py")
    os.environ.update({
        "AIRFLOW_FANOUT_TASKS": str(args.tasks),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW__COVALENT__RESULTS_PATH": f"file://{home}/results",
        "COVALENT_CORE_CONFIG": str(home / "covalent_core.toml"),
        "COVALENT_CORE_DISPATCHER__DATA_DIR": str(home / "covalent"),
        "COVALENT_CORE_DISPATCHER__NO_CLUSTER": "true",
    })
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True)
    sys.path.insert(0, str(dags))
    module = importlib.import_module("fanout_dags")
    runs = {"native": module.native_dag, "lattice": module.lattice_dag}
    expected = sum(i * i for i in range(args.tasks))

    def once(name: str) -> float:
        started = time.perf_counter()
        dr = runs[name].test()
        elapsed = time.perf_counter() - started
        if dr.state != "success":
            raise SystemExit(f"{name} run ended {dr.state}")
        return elapsed

    for name in runs:  # warm-up: the in-process API server, the worker pool
        once(name)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeat):
        for name in runs:
            times[name].append(once(name))
    _check_result(runs["lattice"], expected)

    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"\nfan-out of {args.tasks} tasks + sum under dag.test(), {args.repeat} runs each "
          f"(after one warm-up), Airflow {_airflow_version()}:")
    for name, values in times.items():
        print(f"  {name:8s} median {med[name]:6.2f} s  "
              f"({1000 * med[name] / (args.tasks + 1):5.1f} ms/task)  "
              f"runs: {', '.join(f'{v:.2f}' for v in values)}")
    print(f"  ratio lattice/native: {med['lattice'] / med['native']:.3f}  (target <= 1.2)")
    shutil.rmtree(home, ignore_errors=True)


def _check_result(dag: object, expected: int) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (session.query(XComModel)
               .filter_by(dag_id=dag.dag_id, key="return_value")
               .filter(XComModel.task_id.like("total_%"))
               .order_by(XComModel.timestamp.desc()).first())
        value = XComModel.deserialize_value(row)
    if value != expected:
        raise SystemExit(f"the lattice DAG computed {value}, expected {expected}")


def _airflow_version() -> str:
    import airflow

    return airflow.__version__


if __name__ == "__main__":
    main()
else:
    native_dag, lattice_dag = build_dags()
