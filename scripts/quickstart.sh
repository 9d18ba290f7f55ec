#!/usr/bin/env bash
# Sets up covalent-core in .venvs/quickstart and runs examples/quickstart.py:
# a real workflow on the embedded default (standalone dispatcher, Dask/local, SQLite).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/scripts/lib.sh"
ensure_uv
venv="$(make_env quickstart "$ROOT" --)"
exec "$venv/bin/python" "$ROOT/examples/quickstart.py" "$@"
