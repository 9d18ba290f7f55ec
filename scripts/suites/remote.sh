# The SSH and Slurm executors against a real sshd and a real single-node Slurm on 127.0.0.1,
# started by the tests (covalent_testing.sshd / .slurm) and stopped by PID.
# This suite runs the oldest cloudpickle covalent-core allows (the other suites the newest),
# with the core's remote-traceback tests beside its own.
APT_PACKAGES=(openssh-server openssh-client slurmctld slurmd slurm-client munge)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/ssh" "$ROOT/executors/slurm")
REQUIREMENTS=("cloudpickle==3.0.0")
TESTS=("$ROOT/executors/ssh/tests" "$ROOT/executors/slurm/tests" "$ROOT/tests/test_tracebacks.py")
