#!/usr/bin/env bash
# Runs every test suite from a fresh machine: installs what each suite needs (Debian
# packages, a virtual environment per suite synced to its lock in scripts/locks/) and
# runs its tests. Prefect and Airflow cannot share one environment, so each suite has its own.
#
# Usage: scripts/test.sh [--latest] [suite ...]   (default: every suite in scripts/suites/)
#   --latest   resolve the newest releases of everything instead of the locks, into
#              .venvs/SUITE-latest, and print how they differ from the lock
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ "${1:-}" = "--latest" ]; then export LATEST=1; shift; fi
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_uv
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  for f in scripts/suites/*.sh; do suites+=("$(basename "$f" .sh)"); done
fi

started=$SECONDS
failed=()
for suite in "${suites[@]}"; do
  if ! run_suite "$suite"; then failed+=("$suite"); fi
done

echo "=== $(( ${#suites[@]} - ${#failed[@]} )) of ${#suites[@]} suites passed in $((SECONDS - started)) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "FAILED suites: ${failed[*]}" >&2
  exit 1
fi
echo "all suites passed: ${suites[*]}"
