# Azure Batch executor (covalent-azure): blobs on Azurite (npm, installed here into
# .venvs/azurite), Batch on the local fake of covalent_testing.azure_batch.
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/executors/azure")
TESTS=("$ROOT/executors/azure/tests")
export COVALENT_TESTING_AZURITE_DIR="$ROOT/.venvs/azurite"

suite_setup() {
  [ -x "$COVALENT_TESTING_AZURITE_DIR/node_modules/.bin/azurite-blob" ] && return 0
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  echo "installing Azurite into $COVALENT_TESTING_AZURITE_DIR"
  npm install --prefix "$COVALENT_TESTING_AZURITE_DIR" --no-audit --no-fund --loglevel=error \
    azurite@3.37.0 >/dev/null
}
