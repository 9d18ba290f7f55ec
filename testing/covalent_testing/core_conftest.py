"""The repository's per-test fixtures (tests/conftest.py), for the suites of its plugins.

A plugin's suite runs from its own tests/ folder, outside the repository's tests/, so
pytest never loads that conftest for it. Loading it by path keeps one definition of
the isolated data dir and config every suite's tests rely on.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def load(repo: Path) -> ModuleType:
    """The module of ``repo``/tests/conftest.py; a suite's conftest re-exports its fixtures."""
    spec = importlib.util.spec_from_file_location("covalent_core_tests_conftest",
                                                  repo / "tests" / "conftest.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module
