"""Exception types users can catch; each message names the field at fault and the fix."""

from __future__ import annotations


class CovalentError(Exception):
    """Root of every error covalent_core raises on purpose."""


class ConfigError(CovalentError, ValueError):
    """The config file or an environment override holds an invalid value."""


class WorkflowDefinitionError(CovalentError, TypeError):
    """A lattice cannot be turned into a graph as written."""


class ControlFlowError(WorkflowDefinitionError):
    """Python tried to branch or loop on a value that exists only once the workflow runs."""


class UnpicklableInputError(WorkflowDefinitionError):
    """An argument cannot be shipped to an executor."""


class ExecutorNotFoundError(CovalentError, LookupError):
    """An executor name matches no installed plugin."""


class ExecutorConfigError(ConfigError):
    """An executor was given options its constructor does not accept."""


class DispatchNotFoundError(CovalentError, LookupError):
    """No dispatch with this id exists in the store."""


class NodeNotFoundError(CovalentError, LookupError):
    """A task id names no node of the dispatch."""


class DispatchActiveError(CovalentError, RuntimeError):
    """The dispatch is still owned by a live process, so it cannot be resumed here."""


class TaskPackageError(CovalentError, ValueError):
    """A task package is corrupt, tampered with, or from an incompatible version."""


class TaskFailure(CovalentError):
    """A task raised on its executor; carries the far side's traceback and streams.

    Executors raise this so the dispatcher records where the error really happened,
    not where the executor noticed it.
    """

    def __init__(
        self,
        message: str,
        *,
        exception: BaseException | None = None,
        remote_traceback: str = "",
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        super().__init__(message)
        self.exception = exception
        self.remote_traceback = remote_traceback
        self.stdout = stdout
        self.stderr = stderr


class TaskTimeoutError(CovalentError, TimeoutError):
    """A task ran past its time_limit and was stopped."""


class TaskCancelledError(CovalentError):
    """A task was cancelled on request."""
