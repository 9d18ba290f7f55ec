"""Errors of the Prefect adapter; each message names what is wrong and the fix."""

from __future__ import annotations

from covalent_core.errors import CovalentError


class PrefectVersionError(CovalentError, ImportError):
    """The installed Prefect is outside the range this adapter was built and tested for."""


class LatticeFailedError(CovalentError):
    """Some nodes of a lattice run as a Prefect flow did not complete."""
