"""Errors a QElectron raises on purpose; each names the field at fault and the fix."""

from __future__ import annotations

from covalent_core.errors import ConfigError, CovalentError


class QExecutorConfigError(ConfigError):
    """A quantum executor's options cannot work (missing token, unknown backend...)."""


class QExecutionError(CovalentError, RuntimeError):
    """A backend refused or failed a circuit; the message says which executor and why."""


def scrub(text: str, *secrets: str) -> str:
    """Remove secret values from a backend's error text before it reaches a log or result."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
