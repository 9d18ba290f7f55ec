# Static checks: ruff on the whole repository, mypy on covalent_core, and every
# distribution's wheel built and checked for its LICENSE and py.typed.
PACKAGES=("$ROOT[dev]")

suite_run() {
  local venv="$1" rc=0
  (cd "$ROOT" && "$venv/bin/ruff" check --no-cache .) || rc=1
  (cd "$ROOT" && "$venv/bin/mypy") || rc=1
  "$venv/bin/python" "$ROOT/scripts/check_wheels.py" --uv "$UV" "$ROOT" || rc=1
  return $rc
}
