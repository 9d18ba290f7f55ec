# The Prefect adapter (covalent-prefect) against a real Prefect 3 in its test-harness
# mode (a temporary server on 127.0.0.1 with SQLite), with the Local, Dask and SSH
# executors; the SSH tests start their own sshd (covalent_testing.sshd).
# Pins: prefect<3.9 because 3.9 needs a certifi newer than the package index serves;
# fastapi<0.155 because Prefect 3.8's server passes Body(min_items=...), which 0.155 removed.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/adapters/prefect" "$ROOT/executors/ssh")
REQUIREMENTS=("prefect>=3.4,<3.9" "fastapi<0.155")
TESTS=("$ROOT/adapters/prefect/tests")
