#!/usr/bin/env bash
# Sets up covalent-core in .venvs/quickstart (from scripts/locks/quickstart.txt) and runs
# examples/quickstart.py: a real workflow on the embedded default (standalone dispatcher,
# Dask and local executors, SQLite).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
ensure_uv
load_suite quickstart
venv="$(make_env quickstart)"
exec "$venv/bin/python" "$ROOT/examples/quickstart.py" "$@"
