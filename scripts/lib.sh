# Helpers shared by scripts/test.sh, scripts/quickstart.sh and scripts/lock.sh.
#
# A suite file (scripts/suites/NAME.sh) sets:
#   APT_PACKAGES   Debian packages it needs (installed once, if missing)
#   PACKAGES       local distributions, installed editable (paths, extras allowed)
#   REQUIREMENTS   extra requirements (the suite's version range of its peers)
#   TESTS          pytest paths
#   PYTEST_ARGS    extra pytest arguments (optional)
#   OVERRIDES      uv override files, for pins a dependency gets wrong (optional)
#   LOCK_PYTHON    the oldest Python its lock must serve (default 3.10, as covalent-core)
# and may define suite_setup (runs before the tests: servers to install) and
# suite_run VENV (runs instead of pytest on TESTS).
#
# Every environment installs exactly what scripts/locks/NAME.txt pins (uv pip sync), so
# a green run stays green; LATEST=1 resolves the newest releases instead, into
# .venvs/NAME-latest, and prints how they differ from the lock.

UV_VERSION="0.13.9"
TOOLS="$ROOT/.venvs/tools"
LOCKS="$ROOT/scripts/locks"
LATEST="${LATEST:-0}"
export UV_PYTHON_DOWNLOADS=never   # use the machine's python3, never a downloaded one
export UV_NO_PROGRESS=1

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: this needs the Debian packages ${missing[*]}; as root run:" >&2
    echo "  apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# uv, pinned, in a virtual environment of its own: never in the system interpreter
# (Debian's python3 refuses that anyway, PEP 668).
ensure_uv() {
  if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 (3.10 or newer) is needed; on Debian: apt-get install python3" >&2
    return 1
  fi
  if [ ! -x "$TOOLS/bin/uv" ] || [ "$("$TOOLS/bin/uv" --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
      local pkg
      pkg="python$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')-venv"
      apt_install "$pkg" || return 1
    fi
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  UV="$TOOLS/bin/uv"
  export COVALENT_TESTING_UV="$UV"  # for tests that build environments of their own
}

# The requirements input of one suite: local distributions editable, then its peers.
suite_input() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do echo "-e ${pkg/#$ROOT/.}"; done
  printf '%s\n' "${REQUIREMENTS[@]}"
}

# compile_lock SUITE OUTPUT [uv pip compile flags...]: resolve the suite's input into OUTPUT.
compile_lock() {
  local suite="$1" out="$2"; shift 2
  local overrides=() file
  for file in "${OVERRIDES[@]}"; do overrides+=(--override "${file/#$ROOT/.}"); done
  (cd "$ROOT" && suite_input | "$UV" pip compile --quiet --universal --python-version "$LOCK_PYTHON" \
    --no-header --annotation-style line "${overrides[@]}" "$@" -o "$out" -)
}

# make_env NAME: the venv of suite NAME (already sourced), synced to its lock.
make_env() {
  local name="$1" venv lock
  if [ "$LATEST" = 1 ]; then
    venv="$ROOT/.venvs/$name-latest"
    lock="$venv.lock.txt"
    mkdir -p "$ROOT/.venvs"
    compile_lock "$name" "$lock" --upgrade --refresh >&2
    if [ -f "$LOCKS/$name.txt" ]; then
      echo "--- $name: newest releases that differ from scripts/locks/$name.txt" >&2
      diff <(grep -E '^[a-z0-9]' "$LOCKS/$name.txt" | cut -d' ' -f1 | sort) \
           <(grep -E '^[a-z0-9]' "$lock" | cut -d' ' -f1 | sort) | grep -E '^[<>]' >&2 || true
    fi
  else
    venv="$ROOT/.venvs/$name"
    lock="$LOCKS/$name.txt"
    if [ ! -f "$lock" ]; then
      echo "error: no lock for suite $name; make it with: bash scripts/lock.sh $name" >&2
      return 1
    fi
  fi
  [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python python3 "$venv" >&2
  (cd "$ROOT" && "$UV" pip sync --quiet --python "$venv/bin/python" "$lock") >&2
  echo "$venv"
}

load_suite() {
  APT_PACKAGES=(); PACKAGES=(); REQUIREMENTS=(); TESTS=(); PYTEST_ARGS=(); OVERRIDES=()
  LOCK_PYTHON=3.10
  unset -f suite_setup suite_run
  local file="$ROOT/scripts/suites/$1.sh"
  [ -f "$file" ] || file="$ROOT/scripts/envs/$1.sh"
  if [ ! -f "$file" ]; then
    echo "error: no suite '$1'; the suites are: $(cd "$ROOT/scripts/suites" && ls | sed 's/\.sh$//' | tr '\n' ' ')" >&2
    return 1
  fi
  # shellcheck disable=SC1090
  source "$file"
}

run_suite() {
  local suite="$1"
  load_suite "$suite" || return 1
  echo "=== suite $suite ==="
  local started=$SECONDS
  [ ${#APT_PACKAGES[@]} -eq 0 ] || apt_install "${APT_PACKAGES[@]}"
  if declare -F suite_setup >/dev/null; then suite_setup || return 1; fi
  local venv rc=0
  venv="$(make_env "$suite")" || return 1
  echo "--- $suite: environment ready in $((SECONDS - started)) s"
  if declare -F suite_run >/dev/null; then
    suite_run "$venv" || rc=$?
  else
    # pytest exits 5 when it collected nothing; that is a failure of the suite here.
    "$venv/bin/python" -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]}" "${TESTS[@]}" || rc=$?
  fi
  echo "--- $suite: $([ $rc -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
  return $rc
}
