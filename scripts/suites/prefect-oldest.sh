# The Prefect adapter on the oldest Prefect 3 it supports (adapters/prefect/pyproject.toml:
# prefect>=3.4), same tests as prefect.sh.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/adapters/prefect" "$ROOT/executors/ssh")
# fastapi<0.132: Prefect 3.4 allows any fastapi<1.0, but on fastapi 0.132 and newer every
# request to its server fails with 500 ("'PrefectRouter' object has no attribute
# 'routes'": fastapi 0.132 changed how included routers are matched); from 0.155 its
# server does not even start (Body(min_items=...) was removed). Checked by hand with
# this suite: 0.131.0 passes, 0.132.1 fails. A user of Prefect 3.4 needs the same pin
# (adapters/prefect/README.md); Prefect 3.9 declares its own fastapi range.
REQUIREMENTS=("prefect>=3.4,<3.5" "fastapi<0.132")
TESTS=("$ROOT/adapters/prefect/tests")
