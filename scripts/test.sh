#!/usr/bin/env bash
# Runs every test suite from a fresh machine: installs what each suite needs
# (Debian packages, a virtual environment per suite) and runs its tests.
# Usage: scripts/test.sh [suite ...]   (default: every suite in scripts/suites/)
# Prefect and Airflow cannot share one environment, so each suite gets its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_uv
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  for f in scripts/suites/*.sh; do suites+=("$(basename "$f" .sh)"); done
fi

failed=()
for suite in "${suites[@]}"; do
  if ! run_suite "$suite"; then failed+=("$suite"); fi
done

if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED suites: ${failed[*]}" >&2
  exit 1
fi
echo "all suites passed: ${suites[*]}"
