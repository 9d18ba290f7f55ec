# The Prefect adapter on the oldest Prefect 3 it supports (adapters/prefect/pyproject.toml:
# prefect>=3.4), same tests as prefect.sh.
APT_PACKAGES=(openssh-server openssh-client)
PACKAGES=("$ROOT[dev]" "$ROOT/testing" "$ROOT/adapters/prefect" "$ROOT/executors/ssh")
# fastapi<0.151: Prefect 3.4 allows fastapi<1.0, but its server passes Body(min_items=...),
# which fastapi 0.155 removed (TypeError at server start), and its client sends
# limit/offset=null, which fastapi 0.151-0.154 answer with 422. Prefect 3.9 itself
# declares fastapi<0.151; a user of Prefect 3.4 needs the same pin (adapters/prefect/README.md).
REQUIREMENTS=("prefect>=3.4,<3.5" "fastapi<0.151")
TESTS=("$ROOT/adapters/prefect/tests")
