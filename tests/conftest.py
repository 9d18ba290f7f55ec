"""Every test gets its own data dir and config file, so dispatches never mix."""

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
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__RETRY_BACKOFF", "0.05")
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__CANCEL_POLL_INTERVAL", "0.1")
    config.reload()
    yield tmp_path
    config.reload()


@pytest.fixture
def ct():
    import covalent_core

    return covalent_core
