"""QElectrons on the PennyLane simulator: results, clusters and selectors, futures,
gradients, pickling, and the errors users see."""

from __future__ import annotations

from concurrent.futures import Future

import cloudpickle
import numpy as np
import pennylane as qml
import pytest
from circuits import BELL, IQP_X, bell_qnode, iqp_exact, iqp_qnode, shot_tolerance
from covalent_quantum import QCluster, QElectron, Simulator, current_records, qelectron, recording
from covalent_quantum.errors import QExecutionError


@pytest.mark.parametrize("parallel", ["thread", "process", False])
def test_bell_state_on_each_kind_of_simulator(parallel):
    circuit = qelectron(bell_qnode(), executors=Simulator(parallel=parallel, workers=2))
    with recording() as records:
        np.testing.assert_allclose(circuit(), BELL, atol=1e-12)
    (record,) = records
    assert record["qelectron"] == "bell"
    assert record["description"].startswith("A Bell pair")
    assert record["qexecutor"]["parallel"] == parallel
    np.testing.assert_allclose(record["circuits"][0]["result"], BELL, atol=1e-12)
    assert record["duration"] >= record["execution_time"] > 0


def test_documented_iqp_example_within_shot_noise():
    """Covalent's docs print [0.0547, 0.4277, 0.4678, 0.0498] for 1024 shots."""
    exact = iqp_exact()
    documented = np.array([0.0546875, 0.42773438, 0.46777344, 0.04980468])
    assert np.abs(documented - exact).max() < shot_tolerance(1024)
    circuit = qelectron(iqp_qnode(shots=1024))
    sampled = circuit(IQP_X)
    assert sampled.sum() == pytest.approx(1.0)
    assert np.abs(sampled - exact).max() < shot_tolerance(1024)


def test_shots_override():
    analytic = qelectron(iqp_qnode(shots=1024), executors=Simulator(shots=None))
    np.testing.assert_allclose(analytic(IQP_X), iqp_exact(), atol=1e-12)
    sampled = qelectron(iqp_qnode(shots=None), executors=Simulator(shots=50))
    counts = sampled(IQP_X) * 50
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)


def test_cyclic_cluster_walks_the_executors_in_order():
    local, qasm, lima = (Simulator(workers=w) for w in (1, 2, 3))
    circuit = qelectron(bell_qnode(), executors=[local, qasm, lima])
    assert isinstance(circuit.executor, QCluster)
    with recording() as records:
        for _ in range(4):
            circuit()
    assert [r["qexecutor"]["workers"] for r in records] == [1, 2, 3, 1]


def test_run_later_keeps_the_call_order_of_the_cluster():
    circuit = qelectron(bell_qnode(shots=500),
                        executors=[Simulator(workers=1), Simulator(workers=2)])
    with recording() as records:
        futures = [circuit.run_later() for _ in range(6)]
        results = [future.result(timeout=120) for future in futures]
    for result in results:
        assert np.abs(result - BELL).max() < shot_tolerance(500)
    used = sorted((r["submitted_at"], r["qexecutor"]["workers"]) for r in records)
    assert [workers for _, workers in used].count(1) == 3
    assert len(records) == 6


def test_random_and_custom_selectors():
    small, large = Simulator(workers=1), Simulator(workers=7)
    picked = []

    def by_width(circuits, executors):
        picked.append(len(circuits[0].wires))
        return executors[1] if len(circuits[0].wires) > 1 else executors[0]

    circuit = qelectron(bell_qnode(), executors=[small, large], selector=by_width)
    with recording() as records:
        circuit()
    assert picked == [2] and records[0]["qexecutor"]["workers"] == 7

    circuit = qelectron(bell_qnode(), executors=[small, large], selector="random")
    with recording() as records:
        for _ in range(20):
            circuit()
    assert {r["qexecutor"]["workers"] for r in records} == {1, 7}


def test_gradients_flow_through_the_executor():
    @qelectron(executors=Simulator(parallel="thread"))
    @qml.qnode(qml.device("default.qubit", wires=1))
    def rotated(x):
        qml.RX(x, wires=0)
        return qml.expval(qml.PauliZ(0))

    x = qml.numpy.array(0.4, requires_grad=True)
    assert rotated(x) == pytest.approx(np.cos(0.4))
    assert qml.grad(rotated)(x) == pytest.approx(-np.sin(0.4), abs=1e-6)


def test_wire_labels_and_name_options():
    circuit = qelectron(bell_qnode(wires=("a", "b")), name="pair", description="labelled")
    with recording() as records:
        np.testing.assert_allclose(circuit(), BELL, atol=1e-12)
    assert (records[0]["qelectron"], records[0]["description"]) == ("pair", "labelled")
    assert circuit.__name__ == "bell"


def test_cloudpickled_qelectron_runs_elsewhere():
    circuit = qelectron(bell_qnode(), executors=[Simulator(), Simulator(parallel=False)])
    copy = cloudpickle.loads(cloudpickle.dumps(circuit))
    assert isinstance(copy, QElectron)
    np.testing.assert_allclose(copy(), BELL, atol=1e-12)


def test_records_outside_a_scope_go_to_the_process_list():
    circuit = qelectron(bell_qnode(), name="unscoped")
    circuit()
    assert current_records()[-1]["qelectron"] == "unscoped"


def test_bad_input_is_named():
    with pytest.raises(TypeError, match=r"wraps a PennyLane QNode"):
        qelectron(lambda: None)
    with pytest.raises(TypeError, match=r"takes quantum executors"):
        qelectron(bell_qnode(), executors=["local"])
    with pytest.raises(ValueError, match=r"Simulator.device must be one of"):
        Simulator(device="qiskit.remote")
    with pytest.raises(ValueError, match=r"selector 'round-robin' is unknown"):
        QCluster(executors=[Simulator()], selector="round-robin")
    with pytest.raises(ValueError, match=r"workers"):
        Simulator(workers=0)

    circuit = qelectron(bell_qnode(), executors=[Simulator(), Simulator()],
                        selector=lambda circuits, executors: "local")
    with pytest.raises(TypeError, match=r"selector returned 'local'"):
        circuit()


class Refusing(Simulator):
    """A Simulator whose backend refuses every second batch (no real backend refuses
    on cue, so this one is made to)."""

    def batch_submit(self, qscripts_list, info):
        futures = super().batch_submit(qscripts_list, info)
        if len(current_records()) % 2:
            futures[0] = Future()
            futures[0].set_exception(RuntimeError("job refused: queue full"))
        return futures


def test_a_refused_job_is_reported_and_recorded_without_losing_earlier_calls():
    circuit = qelectron(bell_qnode(), executors=Refusing(parallel=False), name="flaky")
    with recording() as records:
        np.testing.assert_allclose(circuit(), BELL, atol=1e-12)
        with pytest.raises(QExecutionError,
                           match=r"'flaky' could not run 1 circuit.*Refusing.*queue full"):
            circuit()
    assert records[0]["error"] is None
    assert "queue full" in records[1]["error"]
    assert records[1]["circuits"][0]["result"] is None


def test_concurrent_calls_build_every_circuit_whole():
    """run_later threads, the executor's threads and the caller build, sample and run
    circuits at once; PennyLane's queuing is process-global, so a race drops operations
    or breaks the queue (see covalent_quantum.guard)."""
    qnode = qml.QNode(_layers, qml.device("default.qubit", wires=4))
    shape = qml.StronglyEntanglingLayers.shape(n_layers=2, n_wires=4)
    inputs = [np.random.default_rng(seed).uniform(0, 3, shape) for seed in range(60)]
    expected = np.array([qnode(x) for x in inputs])
    sampled = qml.set_shots(qnode, shots=4000)
    circuit = qelectron(sampled, executors=[Simulator(workers=4), Simulator(parallel=False)])
    futures = [circuit.run_later(x) for x in inputs]
    direct = [circuit(x) for x in inputs[:20]]
    got = np.array([f.result(timeout=300) for f in futures])
    assert np.abs(got - expected).max() < 5 / np.sqrt(4000)
    assert np.abs(np.array(direct) - expected[:20]).max() < 5 / np.sqrt(4000)


def _layers(weights):
    qml.StronglyEntanglingLayers(weights, wires=range(4))
    return qml.expval(qml.PauliZ(0) @ qml.PauliZ(3))
