# The environment of scripts/quickstart.sh: covalent-core alone, as a user installs it.
PACKAGES=("$ROOT")
