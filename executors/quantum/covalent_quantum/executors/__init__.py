"""Quantum executors: where a QElectron's circuits run."""
