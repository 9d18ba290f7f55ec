"""Clear errors: missing executors, arguments that cannot travel, unsupported Prefect."""

from __future__ import annotations

import threading
from importlib.metadata import version

import covalent_prefect as cp
import pytest
from covalent_prefect.compat import check_installed_prefect, check_prefect_version
from prefect import flow
from prefect_api import task_runs

import covalent_core as ct
from covalent_core.errors import (
    ExecutorNotFoundError,
    UnpicklableInputError,
    WorkflowDefinitionError,
)


@ct.electron(executor="local")
def size(value: object) -> int:
    return len(repr(value))


def test_a_runner_on_a_missing_executor_fails_at_definition() -> None:
    with pytest.raises(ExecutorNotFoundError) as info:
        cp.CovalentTaskRunner("slurmm")
    message = str(info.value)
    assert "CovalentTaskRunner(executor=...)" in message
    assert "'slurmm'" in message and "pip install covalent-slurmm" in message
    assert "local" in message  # what is installed


def test_an_electron_on_a_missing_executor_fails_where_it_is_used() -> None:
    @ct.electron(executor="nowhere")
    def lost() -> int:
        return 1

    with pytest.raises(ExecutorNotFoundError, match=r"electron lost.*'nowhere'"):
        cp.task(lost)

    @flow
    def uses_it() -> int:
        return lost()

    state = uses_it(return_state=True)
    with pytest.raises(ExecutorNotFoundError, match="electron lost"):
        state.result()
    assert task_runs(state.state_details.flow_run_id, 0) == []  # nothing was submitted


def test_an_argument_that_cannot_be_shipped_is_named() -> None:
    @flow
    def ships_a_lock() -> int:
        return size(threading.Lock())

    state = ships_a_lock(return_state=True)
    with pytest.raises(UnpicklableInputError) as info:
        state.result()
    message = str(info.value)
    assert "task size" in message and "argument 'value' (lock)" in message
    assert "local executor" in message and "create the object inside the task" in message
    [run] = task_runs(state.state_details.flow_run_id, 1)
    assert run.state.is_failed()


def test_a_lattice_parameter_that_cannot_be_shipped_fails_before_any_task() -> None:
    @ct.lattice
    def takes_a_lock(lock: object) -> int:
        return size(lock)

    state = cp.to_flow(takes_a_lock)(threading.Lock(), return_state=True)
    with pytest.raises(UnpicklableInputError, match=r"argument 0 of size \(node \d+\)"):
        state.result()
    assert task_runs(state.state_details.flow_run_id, 0) == []


def test_prefect_versions_outside_the_range_are_refused() -> None:
    check_installed_prefect()  # the one this suite runs
    check_prefect_version(version("prefect"))
    check_prefect_version("3.4.0")
    for unsupported in ("2.20.3", "3.3.9", "4.0.0", "4.1.0rc1"):
        with pytest.raises(cp.PrefectVersionError, match=f"Prefect {unsupported} is installed"):
            check_prefect_version(unsupported)
    with pytest.raises(ImportError, match=r"pip install 'prefect<4,>=3.4'"):
        check_prefect_version("2.20.3")


def test_misuse_is_explained() -> None:
    with pytest.raises(WorkflowDefinitionError, match=r"expects an @ct\.electron function"):
        cp.task(lambda: 1)

    @ct.lattice
    def sub(x: int) -> int:
        return size(x)

    with pytest.raises(WorkflowDefinitionError, match="to_flow"):
        cp.task(ct.electron(sub))
    with pytest.raises(TypeError, match=r"to_flow expects a @ct\.lattice"):
        cp.to_flow(size)
