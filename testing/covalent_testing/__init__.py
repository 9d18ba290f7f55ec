"""Real peers for the test suites, one module per peer, each started and stopped by PID.

Suites of different distributions (the SSH and Slurm executors, the Prefect and Airflow
adapters, the cloud executors) share these instead of each starting servers its own way.
"""
