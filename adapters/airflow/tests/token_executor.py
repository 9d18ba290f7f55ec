"""A ProcessExecutor whose backend demands an API token on every call.

Stand-in for a backend API that authenticates requests: no local service with real
authentication exists for the process backend, so this check (against the token the
"backend" was started with, ``TOKEN_BACKEND_EXPECTS``) is the only simulated part. The
jobs themselves are real detached processes.
"""

from __future__ import annotations

import os
from typing import Any

from support.process_executor import ProcessExecutor

executor_plugin_name = "TokenProcessExecutor"


class TokenProcessExecutor(ProcessExecutor):
    SECRET_ATTRIBUTES = frozenset({"api_token"})

    def _check(self) -> None:
        if not self.api_token or self.api_token != os.environ.get("TOKEN_BACKEND_EXPECTS"):
            raise PermissionError("backend refused the call: missing or wrong api_token")

    async def submit(self, task: Any) -> Any:
        self._check()
        return await super().submit(task)

    async def poll(self, handles: list[Any]) -> Any:
        self._check()
        return await super().poll(handles)

    async def fetch(self, handle: Any) -> Any:
        self._check()
        return await super().fetch(handle)
