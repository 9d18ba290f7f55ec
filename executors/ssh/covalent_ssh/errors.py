"""Errors a user can act on: each names the host, the setting at fault and the fix."""

from __future__ import annotations

from covalent_core.errors import CovalentError


class SSHConnectError(CovalentError, ConnectionError):
    """The host could not be reached or refused us after every allowed attempt."""


class RemoteEnvironmentError(CovalentError, RuntimeError):
    """The far side's interpreter is missing, lacks covalent-core, or cannot read our packages."""


class RemoteJobError(CovalentError, RuntimeError):
    """A remote job ended without writing an outcome (the runner itself could not run)."""
