"""Executor defaults from the [qelectron] config, and where secrets may (not) go."""

from __future__ import annotations

import pickle

import cloudpickle
import pytest
from covalent_quantum import IBMQExecutor, QiskitExecutor, Simulator
from pydantic import ValidationError


def test_documented_defaults():
    executor = QiskitExecutor()
    assert (executor.device, executor.backend, executor.shots) == (
        "local_sampler", "ibmq_qasm_simulator", 1024)
    assert (executor.hub, executor.group, executor.project) == ("ibm-q", "open", "main")
    assert executor.options == {"optimization_level": 3}
    assert (executor.single_job, executor.local_transpile, executor.max_time) == (
        False, False, None)
    sim = Simulator()
    assert (sim.device, sim.parallel, sim.workers, sim.shots) == ("default.qubit", "thread", 10, 0)
    assert IBMQExecutor().max_jobs == 20


def test_config_file_and_environment(config_file, monkeypatch):
    config_file("""
[qelectron]
ibmqx_token = "shared-token"

[qelectron.QiskitExecutor]
backend = "ibm_brisbane"
shots = 2048
""")
    executor = QiskitExecutor()
    assert (executor.backend, executor.shots) == ("ibm_brisbane", 2048)
    assert executor.ibmqx_token.get_secret_value() == "shared-token"
    assert IBMQExecutor().ibmqx_token.get_secret_value() == "shared-token"
    assert QiskitExecutor(backend="ibm_kyiv").backend == "ibm_kyiv"  # code wins

    from covalent_core import config

    monkeypatch.setenv("COVALENT_CORE_QELECTRON__QISKITEXECUTOR__SHOTS", "4096")
    config.reload()
    assert QiskitExecutor().shots == 4096


def test_broken_config_is_named(config_file):
    config_file('[qelectron.QiskitExecutor]\nbakend = "x"\n')
    # pydantic wraps the ConfigError; both are ValueErrors carrying the message.
    with pytest.raises(ValueError, match=r"qelectron.QiskitExecutor: unknown option.*bakend"):
        QiskitExecutor()
    config_file('[qelectron.QiskitExecutor]\nshots = "many"\n')
    with pytest.raises(ValidationError, match=r"shots"):
        QiskitExecutor()


def test_tokens_never_leave_the_process(config_file):
    executor = QiskitExecutor(ibmqx_token="s3cr3t-token", device="sampler")
    assert "s3cr3t" not in repr(executor)
    assert "s3cr3t" not in str(executor.describe())
    assert "ibmqx_token" not in executor.describe()
    for dumps in (pickle.dumps, cloudpickle.dumps):
        data = dumps(executor)
        assert b"s3cr3t" not in data
        copy = pickle.loads(data)
        assert copy.device == "sampler"
        assert copy.ibmqx_token.get_secret_value() == ""  # this host configures no token

    config_file('[qelectron.QiskitExecutor]\nibmqx_token = "host-token"\n')
    assert pickle.loads(pickle.dumps(executor)).ibmqx_token.get_secret_value() == "host-token"


def test_a_mistyped_token_is_not_echoed():
    with pytest.raises(ValidationError) as info:
        QiskitExecutor(ibmqx_token=123456789)
    assert "123456789" not in str(info.value)
