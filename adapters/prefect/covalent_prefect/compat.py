"""Which Prefect versions the adapter works with, checked without importing Prefect."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet

from covalent_prefect.errors import PrefectVersionError

SUPPORTED = SpecifierSet(">=3.4,<4")


def check_prefect_version(found: str) -> None:
    """Refuse a Prefect outside SUPPORTED: its task-runner and engine internals differ."""
    if not SUPPORTED.contains(found, prereleases=True):
        raise PrefectVersionError(
            f"covalent-prefect works with Prefect {SUPPORTED}, but Prefect {found} is "
            f"installed. Install a supported release: pip install 'prefect{SUPPORTED}'"
        )


def check_installed_prefect() -> None:
    try:
        found = version("prefect")
    except PackageNotFoundError:
        raise PrefectVersionError(
            f"covalent-prefect needs Prefect {SUPPORTED}, which is not installed: "
            f"pip install 'prefect{SUPPORTED}'"
        ) from None
    check_prefect_version(found)
