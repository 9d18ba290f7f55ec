# QElectrons and quantum executors: PennyLane simulators, Qiskit Runtime local testing
# mode (fake backends), Braket's local simulator and a stubbed Braket service.
PACKAGES=("$ROOT[dev]" "$ROOT/executors/quantum[all,dev]")
TESTS=("$ROOT/executors/quantum/tests")
# amazon-braket-sdk pins cloudpickle==2.2.1 (for its hybrid jobs, unused here) while
# covalent-core needs cloudpickle 3; uv's override settles it.
OVERRIDES=("$ROOT/executors/quantum/overrides.txt")
LOCK_PYTHON=3.11  # pennylane 0.44+ needs Python 3.11+
