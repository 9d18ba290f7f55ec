"""Connections to IBM Quantum, shared by the Qiskit executors of one process.

Authenticating and opening a runtime session take seconds and count against the
account, so one ``QiskitRuntimeService`` per account and one ``Session`` per account,
backend and time limit are kept for the life of the process (sessions are closed at
exit). ``channel="local"`` is qiskit-ibm-runtime's local testing mode: the same
service, backend, session and primitive code, run on a fake backend on this machine.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from qiskit_ibm_runtime import QiskitRuntimeService, Session

from covalent_quantum.errors import QExecutionError, QExecutorConfigError, scrub

CHANNELS = ("ibm_quantum_platform", "ibm_cloud", "local")
OPEN_PLAN = ("ibm-q", "open", "main")

_lock = threading.Lock()
_services: dict[tuple[Any, ...], Any] = {}
_sessions: dict[tuple[Any, ...], tuple[Session, Any]] = {}


@dataclass(frozen=True)
class Account:
    """Who to connect as; ``owner`` names the executor in error messages."""

    owner: str
    channel: str
    token: SecretStr
    instance: str | None = None
    url: str | None = None

    @property
    def key(self) -> tuple[Any, ...]:
        digest = hashlib.sha256(self.token.get_secret_value().encode()).hexdigest()
        return (self.channel, digest, self.instance, self.url)


def instance_of(instance: str, hub: str, group: str, project: str) -> str | None:
    """Covalent's hub/group/project, as the one ``instance`` IBM's API takes now.

    The open-plan defaults name no instance: IBM then uses any the token can reach.
    """
    if instance:
        return instance
    if (hub, group, project) != OPEN_PLAN:
        return f"{hub}/{group}/{project}"
    return None


def service(account: Account) -> Any:
    if account.channel not in CHANNELS:
        raise QExecutorConfigError(
            f"{account.owner}.channel is {account.channel!r}; use one of {', '.join(CHANNELS)} "
            "(IBM retired the 'ibm_quantum' channel in 2025: accounts moved to "
            "'ibm_quantum_platform')"
        )
    token = account.token.get_secret_value()
    if account.channel != "local" and not token:
        raise QExecutorConfigError(
            f"{account.owner}.ibmqx_token is empty: pass it, or set ibmqx_token under "
            f"[qelectron.{account.owner}] in the covalent_core config (env "
            f"COVALENT_CORE_QELECTRON__{account.owner.upper()}__IBMQX_TOKEN) on the host that "
            "runs the electron; tokens never travel inside task packages. For local testing "
            "use channel='local' and a fake backend such as 'fake_manila'"
        )
    with _lock:
        if account.key not in _services:
            kwargs: dict[str, Any] = {"channel": account.channel}
            if account.channel != "local":
                kwargs.update(token=token, instance=account.instance, url=account.url)
            try:
                _services[account.key] = QiskitRuntimeService(
                    **{k: v for k, v in kwargs.items() if v is not None})
            except Exception as exc:
                raise QExecutionError(
                    f"{account.owner}: IBM Quantum refused the account (channel="
                    f"{account.channel}, instance={account.instance}): "
                    f"{scrub(str(exc), token)}. Check ibmqx_token and instance"
                ) from None
        return _services[account.key]


def backend(account: Account, name: str) -> Any:
    svc = service(account)
    try:
        return svc.backend(name)
    except Exception as exc:
        try:
            known = ", ".join(sorted(b.name for b in svc.backends()))
        except Exception:
            known = "(could not list them)"
        raise QExecutorConfigError(
            f"{account.owner}.backend {name!r} is not available on channel "
            f"{account.channel!r} ({type(exc).__name__}). Backends this account can use: "
            f"{known}. IBM retired its cloud simulators such as 'ibmq_qasm_simulator' in 2024"
        ) from None


def session(
    account: Account, backend_name: str, max_time: int | str | None
) -> tuple[Session, Any]:
    """The runtime session for this account and backend (opened on first use), and the
    backend, whose instruction set circuits must be transpiled to."""
    key = (*account.key, backend_name, max_time)
    with _lock:
        opened = _sessions.get(key)
    if opened is not None:
        return opened
    target = backend(account, backend_name)
    with _lock:
        if key not in _sessions:
            _sessions[key] = (Session(backend=target, max_time=max_time), target)
        return _sessions[key]


@atexit.register
def _close_sessions() -> None:
    with _lock:
        opened = list(_sessions.values())
        _sessions.clear()
    for item, _ in opened:
        try:
            item.close()
        except Exception:
            pass  # best effort at exit: IBM closes idle sessions itself
