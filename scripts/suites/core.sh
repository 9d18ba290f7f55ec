# The core distribution: workflow model, executors, task package, dispatcher, store, CLI.
PACKAGES=("$ROOT[dev]")
TESTS=("$ROOT/tests")
