# The Airflow provider on the oldest Airflow 3 it supports (adapters/airflow/pyproject.toml:
# apache-airflow>=3.1), same tests as airflow.sh.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/ssh" "$ROOT/adapters/airflow")
REQUIREMENTS=("apache-airflow>=3.1,<3.2")
TESTS=("$ROOT/adapters/airflow/tests")
