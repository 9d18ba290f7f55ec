# The SSH and Slurm executors against a real sshd and a real single-node Slurm on 127.0.0.1,
# started by the tests (covalent_testing.sshd / .slurm) and stopped by PID.
APT_PACKAGES=(openssh-server openssh-client slurmctld slurmd slurm-client munge)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/ssh" "$ROOT/executors/slurm")
TESTS=("$ROOT/executors/ssh/tests" "$ROOT/executors/slurm/tests")
