"""The task package format and the runner that executes one anywhere."""
