"""Each test gets its own covalent_core config and data dir, so configured tokens and
dispatches never leak between tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from covalent_core import config

    monkeypatch.setenv("COVALENT_CORE_CONFIG", str(tmp_path / "covalent_core.toml"))
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__NO_CLUSTER", "true")
    config.reload()
    yield tmp_path
    config.reload()


@pytest.fixture
def config_file(isolated: Path):
    """Write TOML to the test's config file and make covalent_core read it."""
    from covalent_core import config

    def write(text: str) -> Path:
        path = isolated / "covalent_core.toml"
        path.write_text(text)
        config.reload()
        return path

    return write
