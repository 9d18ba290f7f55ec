"""The callable that carries a task's function together with its deps and hooks.

Executors receive this instead of the bare function whenever an electron declares
deps or hooks, so every executor - in-process, a worker process, or the runner on a
remote host - runs them the same way without knowing they exist.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from covalent_core.workflow.deps import DepsBash, DepsCall, DepsPip


class TaskCall:
    def __init__(
        self,
        function: Callable[..., Any],
        *,
        deps_pip: DepsPip | None = None,
        deps_bash: DepsBash | None = None,
        call_before: Sequence[DepsCall] = (),
        call_after: Sequence[DepsCall] = (),
    ) -> None:
        self.function = function
        self.deps_pip = deps_pip
        self.deps_bash = deps_bash
        self.call_before = list(call_before)
        self.call_after = list(call_after)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.deps_bash:
            self.deps_bash()
        if self.deps_pip:
            self.deps_pip()
        injected: dict[str, list[Any]] = {}
        for hook in self.call_before:
            value = hook()
            if hook.retval_keyword:
                injected.setdefault(hook.retval_keyword, []).append(value)
        # One hook per keyword passes its bare value; several pass a list (Covalent's rule).
        kwargs.update({k: v[0] if len(v) == 1 else v for k, v in injected.items()})
        output = self.function(*args, **kwargs)
        for hook in self.call_after:
            hook()
        return output


def wrap(
    function: Callable[..., Any],
    deps_pip: DepsPip | None,
    deps_bash: DepsBash | None,
    call_before: Sequence[DepsCall],
    call_after: Sequence[DepsCall],
) -> Callable[..., Any]:
    """The function itself when it has no deps or hooks (the common, fastest case)."""
    if not (deps_pip or deps_bash or call_before or call_after):
        return function
    return TaskCall(
        function, deps_pip=deps_pip, deps_bash=deps_bash,
        call_before=call_before, call_after=call_after,
    )
