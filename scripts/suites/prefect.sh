# The Prefect adapter (covalent-prefect) against a real Prefect 3 in its test-harness
# mode (a temporary server on 127.0.0.1 with SQLite), with the Local, Dask and SSH
# executors; the SSH tests start their own sshd (covalent_testing.sshd).
# This suite is the newest Prefect 3 that covalent-prefect supports; prefect-oldest.sh
# is the oldest.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/adapters/prefect" "$ROOT/executors/ssh")
REQUIREMENTS=("prefect>=3.9,<4")
LOCK_PYTHON=3.11  # prefect 3.9 needs Python 3.11+
TESTS=("$ROOT/adapters/prefect/tests")
