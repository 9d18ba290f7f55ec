# Helpers shared by scripts/test.sh and scripts/quickstart.sh.
# A suite file (scripts/suites/NAME.sh) sets:
#   APT_PACKAGES   Debian packages it needs (installed once, if missing)
#   PACKAGES       local distributions installed editable (paths)
#   REQUIREMENTS   extra pip requirements
#   TESTS          pytest paths
#   PYTEST_ARGS    extra pytest arguments (optional)
#   OVERRIDES      uv override files, for pins a dependency gets wrong (optional)

OVERRIDES=()

ensure_uv() {
  if ! command -v uv >/dev/null 2>&1; then
    python3 -m pip install --quiet uv
  fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -ne 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

make_env() {  # make_env NAME PACKAGES... -- REQUIREMENTS...
  local name="$1"; shift
  local venv="$ROOT/.venvs/$name"
  local editables=() reqs=() seen_sep=0
  for arg in "$@"; do
    if [ "$arg" = "--" ]; then seen_sep=1; continue; fi
    if [ $seen_sep -eq 0 ]; then editables+=(-e "$arg"); else reqs+=("$arg"); fi
  done
  local overrides=()
  for file in "${OVERRIDES[@]}"; do overrides+=(--override "$file"); done
  [ -x "$venv/bin/python" ] || uv venv --quiet --python python3 "$venv"
  uv pip install --quiet --python "$venv/bin/python" "${overrides[@]}" "${editables[@]}" \
    "${reqs[@]}"
  echo "$venv"
}

run_suite() {
  local suite="$1"
  APT_PACKAGES=(); PACKAGES=(); REQUIREMENTS=(); TESTS=(); PYTEST_ARGS=(); OVERRIDES=()
  # shellcheck disable=SC1090
  source "$ROOT/scripts/suites/$suite.sh"
  echo "=== suite $suite ==="
  [ ${#APT_PACKAGES[@]} -eq 0 ] || apt_install "${APT_PACKAGES[@]}"
  local venv
  venv="$(make_env "$suite" "${PACKAGES[@]}" -- "${REQUIREMENTS[@]}")"
  local rc=0
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]}" "${TESTS[@]}" || rc=$?
  # pytest exits 5 when it collected nothing; that is a failure of the suite here.
  return $rc
}
