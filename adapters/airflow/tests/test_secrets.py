"""Executor secrets come from an Airflow connection or the environment, and end up
nowhere else: not in trigger kwargs, XCom, rendered fields, task packages or logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_dag
from covalent_airflow import CovalentOperator
from covalent_airflow.hooks.covalent import build_executor, executor_spec
from token_executor import TokenProcessExecutor

from covalent_core import config
from covalent_core.errors import ExecutorConfigError, ExecutorNotFoundError

CONN_TOKEN = "conn-token-7f3a9c"
ENV_TOKEN = "env-token-52d1e8"


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection carries one token, the environment the other; the backend takes both."""
    monkeypatch.setenv("AIRFLOW_CONN_COVALENT_TOKEN", json.dumps(
        {"conn_type": "covalent", "extra": {"api_token": CONN_TOKEN}}))
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__TOKEN_EXECUTOR__API_TOKEN", ENV_TOKEN)
    config.reload()
    yield
    monkeypatch.delenv("COVALENT_CORE_EXECUTORS__TOKEN_EXECUTOR__API_TOKEN")
    config.reload()


def test_secrets_reach_worker_and_trigger_and_nothing_else(
    backend: None, jobs: Path, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # The backend accepts one token at a time; run each source against its own.
    monkeypatch.setenv("TOKEN_BACKEND_EXPECTS", CONN_TOKEN)
    _, tis = run_dag("secret_sources")
    assert tis["via_connection"].state == "success"
    assert tis["via_environment"].state == "failed"  # the env token is not this backend's
    monkeypatch.setenv("TOKEN_BACKEND_EXPECTS", ENV_TOKEN)
    _, tis2 = run_dag("secret_sources")
    assert tis2["via_environment"].state == "success"
    log = capfd.readouterr().out
    assert "backend refused the call" in log
    for secret in (CONN_TOKEN, ENV_TOKEN):
        assert secret not in log
        for path in jobs.rglob("*"):
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        assert secret not in _database_dump(), "a secret reached Airflow's database"


def _database_dump() -> str:
    """Trigger kwargs (decrypted), XComs, rendered fields and serialized DAGs as text."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.serialized_dag import SerializedDagModel
    from airflow.models.trigger import Trigger
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        triggers = session.query(Trigger).all()
        assert triggers, "no trigger was stored: the remote tasks did not defer"
        parts = [repr(t.kwargs) for t in triggers]
        parts += [repr(x.value) for x in session.query(XComModel).all()]
        parts += [repr(r.rendered_fields) for r in session.query(RenderedTaskInstanceFields)]
        parts += [repr(s.data) for s in session.query(SerializedDagModel)]
    return "\n".join(parts)


def test_secret_in_dag_code_is_refused(jobs: Path) -> None:
    with pytest.raises(ValueError, match=r"executor\.api_token is set in DAG code") as err:
        CovalentOperator(task_id="leaky", python_callable=print,
                         executor=TokenProcessExecutor(workdir=str(jobs), api_token="oops"))
    assert "COVALENT_CORE_EXECUTORS__TOKEN_EXECUTOR__API_TOKEN" in str(err.value)


@pytest.mark.parametrize("executor", ["local", "instance"])
def test_unknown_connection_option_names_the_connection(jobs: Path, executor: str) -> None:
    spec = executor_spec(TokenProcessExecutor(workdir=str(jobs)) if executor == "instance"
                         else executor)
    with pytest.raises(ExecutorConfigError, match=r"connection 'hpc'.*api_tokn.*extra"):
        build_executor(spec, {"api_tokn": "typo"}, "hpc")


def test_unknown_executor_name_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(ExecutorNotFoundError, match="no executor named 'slurmm'"):
        CovalentOperator(task_id="typo", python_callable=print, executor="slurmm")


def test_rebuilt_executor_keeps_its_settings_and_takes_the_secret(jobs: Path) -> None:
    spec = executor_spec(TokenProcessExecutor(workdir=str(jobs), poll_freq=0.3))
    executor = build_executor(spec, {"api_token": CONN_TOKEN}, "c")
    assert (executor.workdir, executor.poll_freq, executor.api_token) == (
        str(jobs), 0.3, CONN_TOKEN)
    assert CONN_TOKEN not in json.dumps(executor.to_dict())
