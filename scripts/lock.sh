#!/usr/bin/env bash
# Writes scripts/locks/SUITE.txt: the exact versions a suite's environment installs.
# Existing pins are kept where they still satisfy the suite's requirements; pass
# --upgrade to move every pin to the newest release (then run scripts/test.sh).
#
# Usage: scripts/lock.sh [--upgrade] [suite ...]   (default: every suite and scripts/envs/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
flags=()
if [ "${1:-}" = "--upgrade" ]; then flags+=(--upgrade); shift; fi
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ensure_uv
suites=("$@")
if [ ${#suites[@]} -eq 0 ]; then
  for f in scripts/suites/*.sh scripts/envs/*.sh; do suites+=("$(basename "$f" .sh)"); done
fi
mkdir -p "$LOCKS"
for suite in "${suites[@]}"; do
  load_suite "$suite"
  compile_lock "$suite" "scripts/locks/$suite.txt" "${flags[@]}"
  echo "locked $suite: $(grep -cE '^[a-z0-9]' "$LOCKS/$suite.txt") packages"
done
