# The Airflow provider (covalent-airflow) against a real Airflow 3 on SQLite, with remote
# tasks on the core's ProcessExecutor and on covalent-ssh behind a real sshd on 127.0.0.1.
# This suite is the newest Airflow 3 that covalent-airflow supports; airflow-oldest.sh is
# the oldest. uv resolves the rest from PyPI without Airflow's constraint files.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/ssh" "$ROOT/adapters/airflow")
REQUIREMENTS=("apache-airflow>=3.3,<4")
TESTS=("$ROOT/adapters/airflow/tests")
