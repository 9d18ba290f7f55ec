"""The provider as Airflow sees it: its info, connection type, decorator and trigger."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
from airflow.sdk.module_loading import import_string
from covalent_airflow import CovalentTrigger
from covalent_airflow.get_provider_info import get_provider_info
from covalent_airflow.hooks.covalent import executor_spec
from support.process_executor import ProcessExecutor


def test_provider_info_matches_airflows_schema() -> None:
    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json")
                        .read_text())
    jsonschema.validate(get_provider_info(), schema)


def _providers_manager():
    """Where the worker side looks providers up: the task SDK's manager from Airflow 3.2."""
    try:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime
    except ImportError:  # Airflow 3.1
        from airflow.providers_manager import ProvidersManager

        return ProvidersManager()
    return ProvidersManagerTaskRuntime()


def test_airflow_discovers_hook_connection_type_and_decorator() -> None:
    manager = _providers_manager()
    assert manager.providers["covalent-airflow"].version == "0.1.0"
    assert manager.hooks["covalent"].hook_class_name == (
        "covalent_airflow.hooks.covalent.CovalentHook")
    assert "covalent" in manager.taskflow_decorators
    for entry in get_provider_info()["triggers"]:
        for module in entry["python-modules"]:
            import_string(f"{module}.CovalentTrigger")


def test_trigger_round_trips_through_its_serialized_form(tmp_path: Path) -> None:
    spec = executor_spec(ProcessExecutor(workdir=str(tmp_path)))
    trigger = CovalentTrigger(spec, {"dir": "/x", "pid": 1}, "conn")
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # stored in Airflow's database as JSON
    again = import_string(classpath)(**kwargs)
    assert again.serialize() == (classpath, kwargs)
    assert set(kwargs) == {"executor", "handle", "conn_id"}
