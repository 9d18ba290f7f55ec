"""A real Airflow 3 on SQLite for the session: a temporary AIRFLOW_HOME, ``airflow db
migrate``, and this folder's ``dags/`` as the DAG folder (``dag.test()`` runs only DAGs
it can find there). Remote tasks run on the core's reference ProcessExecutor: real
detached processes running ``python -m covalent_core.remote``.

Airflow reads its configuration when first imported, so the environment is set here,
before any test module imports it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["covalent_testing.sshd"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DAGS = HERE / "dags"

_home = Path(tempfile.mkdtemp(prefix="covalent-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_home / "airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_home}/airflow/airflow.db",
    "AIRFLOW__COVALENT__RESULTS_PATH": f"file://{_home}/results",
    "COVALENT_CORE_CONFIG": str(_home / "covalent_core.toml"),
    "COVALENT_CORE_DISPATCHER__DATA_DIR": str(_home / "covalent"),
    "COVALENT_CORE_DISPATCHER__NO_CLUSTER": "true",
    "COVALENT_CORE_DISPATCHER__LOCAL_WORKERS": "2",
    # Read by the DAG files: where ProcessExecutor jobs live.
    "COVALENT_AIRFLOW_TEST_JOBS": str(_home / "jobs"),
})
(_home / "airflow").mkdir()
sys.path.insert(0, str(REPO / "tests"))  # support.process_executor
sys.path.insert(0, str(HERE))  # token_executor
sys.path.insert(0, str(DAGS))


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True,
                   capture_output=True, text=True)
    yield _home
    shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture
def jobs() -> Path:
    """The ProcessExecutor's job folders: one per submission."""
    path = Path(os.environ["COVALENT_AIRFLOW_TEST_JOBS"])
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def load_dag(module: str, name: str = "dag") -> Any:
    """A DAG object of ``dags/<module>.py`` (the same file Airflow's DAG bag parses)."""
    return getattr(importlib.import_module(module), name)


def run_dag(module: str, name: str = "dag") -> tuple[Any, dict[str, Any]]:
    """``dag.test()`` a DAG of dags/: the run and its task instances by task id."""
    dr = load_dag(module, name).test()
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = {ti.task_id: ti for ti in dr.get_task_instances(session=session)}
        for ti in tis.values():
            session.expunge(ti)
    return dr, tis


def xcom(dr: Any, task_id: str, key: str = "return_value") -> Any:
    """A task's XCom as stored (result references stay references)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    try:
        from airflow.sdk.serde import deserialize
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serde import deserialize

    with create_session() as session:
        row = session.query(XComModel).filter_by(
            dag_id=dr.dag_id, run_id=dr.run_id, task_id=task_id, key=key
        ).one()
        return deserialize(XComModel.deserialize_value(row))
