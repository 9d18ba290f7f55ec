"""Bad input gets an error that names the field and the fix, before anything runs."""

from __future__ import annotations

import pytest

import covalent_core as ct
from covalent_core.errors import (
    ControlFlowError,
    ExecutorConfigError,
    NodeNotFoundError,
    UnpicklableInputError,
)


@pytest.mark.parametrize(("make", "typo", "meant"), [
    (lambda: ct.executor.LocalExecutor(retires=3), "retires", "retries"),
    (lambda: ct.executor.DaskExecutor(schedular_address="tcp://127.0.0.1:1"),
     "schedular_address", "scheduler_address"),
])
def test_a_typo_d_executor_option_is_refused_with_a_suggestion(make, typo, meant):
    with pytest.raises(ExecutorConfigError, match=f"unknown option '{typo}'") as raised:
        make()
    assert f"did you mean '{meant}'" in str(raised.value)


def test_a_typo_d_option_in_the_config_file_fails_the_dispatch_before_it_runs(isolated):
    (isolated / "covalent_core.toml").write_text("[executors.local]\nretires = 3\n")
    from covalent_core import config

    config.reload()
    ran = isolated / "ran"

    @ct.electron(executor="local")
    def touch():
        ran.touch()

    @ct.lattice
    def workflow():
        return touch()

    with pytest.raises(ExecutorConfigError, match="retires"):
        ct.dispatch(workflow)()
    assert not ran.exists()


@pytest.mark.parametrize("use", [
    lambda out: f"/data/run_{out}.csv",
    lambda out: f"/data/run_{out}.csv",
    lambda out: str(out),
])
def test_an_output_turned_into_text_in_a_lattice_is_explained(use):
    @ct.electron
    def node():
        return 3

    @ct.lattice
    def workflow():
        return use(node())

    with pytest.raises(ControlFlowError, match="exists only when the workflow runs"):
        ct.dispatch(workflow)()


@ct.electron
def _one():
    return 1


@ct.lattice
def _single():
    return _one()


def test_cancel_of_a_task_the_dispatch_lacks_is_an_error():
    dispatch_id = ct.dispatch(_single, disable_run=True)()
    with pytest.raises(NodeNotFoundError, match="has no task 999; its task ids are 0 to"):
        ct.cancel(dispatch_id, [999])


def test_cancel_of_an_ended_dispatch_says_so():
    result = ct.dispatch_sync(_single)()
    assert result.status == "COMPLETED"
    message = ct.cancel(result.dispatch_id)
    assert message == f"Dispatch {result.dispatch_id} already ended COMPLETED; nothing to cancel."


def test_a_task_that_crashes_its_worker_names_the_signal():
    @ct.electron(executor="local")
    def crash():
        import os
        import signal

        os.kill(os.getpid(), signal.SIGSEGV)

    @ct.lattice
    def workflow():
        return crash()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    error = result.get_node_result(0)["error"]
    assert "died from signal 11 (SIGSEGV: a crash in native code" in error, error


def test_a_lattice_calling_itself_as_a_sublattice_stops_with_a_clear_error():
    from covalent_core.dispatcher.prepare import MAX_SUBLATTICE_DEPTH
    from covalent_core.store import get_store

    @ct.lattice
    def forever(n):
        return ct.electron(forever)(n + 1)

    result = ct.dispatch_sync(forever)(0)
    assert result.status == "FAILED"
    deepest = get_store().list_dispatches(limit=1000, roots_only=False)
    assert len(deepest) == MAX_SUBLATTICE_DEPTH
    errors = [_node_errors(d["dispatch_id"]) for d in deepest]
    assert any("calls itself as a sublattice" in e and "never ends" in e for e in errors), errors


def _node_errors(dispatch_id):
    result = ct.get_result(dispatch_id)
    return " ".join(str(n["error"]) for n in result.get_all_node_results())


def test_a_lock_inside_a_list_argument_is_named():
    import threading

    lock = threading.Lock()

    @ct.electron
    def one():
        return 1

    @ct.electron
    def count(items):
        return len(items)

    @ct.lattice
    def workflow():
        return count([one(), lock])

    with pytest.raises(UnpicklableInputError,
                       match=r"an item of the list passed as argument 0 of count \(node \d+\) "
                             r"cannot be pickled \(TypeError: cannot pickle '_thread.lock'"):
        ct.dispatch(workflow)()

    @ct.lattice
    def returns_it():
        return {"n": one(), "lock": lock}

    with pytest.raises(UnpicklableInputError, match="the value lattice 'returns_it' returns"):
        ct.dispatch(returns_it)()


@pytest.mark.parametrize(("toml", "expected"), [
    ('time_limit = "soon"',
     r"executors\.local\.time_limit = 'soon': Input should be a valid number"),
    ("retries = 1.5", r"executors\.local\.retries = 1\.5: Input should be a valid integer"),
])
def test_a_config_value_of_the_wrong_type_fails_the_dispatch_naming_the_key(
    isolated, toml, expected
):
    (isolated / "covalent_core.toml").write_text(f"[executors.local]\n{toml}\n")
    from covalent_core import config

    config.reload()

    @ct.electron(executor="local")
    def node():
        return 1

    @ct.lattice
    def workflow():
        return node()

    with pytest.raises(ExecutorConfigError, match=expected):
        ct.dispatch(workflow)()


def test_a_config_value_from_the_environment_is_converted(isolated, monkeypatch):
    monkeypatch.setenv("COVALENT_CORE_EXECUTORS__LOCAL__TIME_LIMIT", "30")
    from covalent_core import config
    from covalent_core.executor import registry

    config.reload()
    assert registry.create("local").time_limit == 30.0
