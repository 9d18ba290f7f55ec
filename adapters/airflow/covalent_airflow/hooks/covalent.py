"""Executors from a secret-free spec plus credentials read where the task runs.

DAG code names an executor (an instance without secrets, or a plugin name); the
operator keeps only its spec (class and ``to_dict()`` attributes). Worker and trigger
each rebuild the executor from that spec and add its secrets from an Airflow connection
of type ``covalent`` (its ``extra`` holds constructor options) or from covalent_core's
config and environment (``COVALENT_CORE_EXECUTORS__<NAME>__<KEY>``). So credentials
never pass through DAG code, XCom, trigger kwargs or a task package.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook
from asgiref.sync import sync_to_async
from pydantic import SecretBytes, SecretStr

from covalent_core.config import settings
from covalent_core.errors import ExecutorConfigError
from covalent_core.executor import registry
from covalent_core.executor.base import is_executor
from covalent_core.executor.spec import class_of, rebuild, spec_of

ExecutorSpec = dict[str, Any]


class CovalentHook(BaseHook):
    """Reads executor options, secrets included, from a ``covalent`` connection's extra."""

    conn_name_attr = "covalent_conn_id"
    default_conn_name = "covalent_default"
    conn_type = "covalent"
    hook_name = "Covalent executor"

    def __init__(self, covalent_conn_id: str | None = None) -> None:
        super().__init__()
        self.covalent_conn_id = covalent_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["host", "schema", "login", "password", "port"],
            "relabeling": {"extra": "Executor options (JSON)"},
            "placeholders": {"extra": '{"api_token": "...", "username": "..."}'},
        }

    def options(self) -> dict[str, Any]:
        if not self.covalent_conn_id:
            return {}
        return _options(self.get_connection(self.covalent_conn_id), self.covalent_conn_id)

    async def aoptions(self) -> dict[str, Any]:
        """``options`` for a trigger: connection look-ups must not block the triggerer's loop."""
        if not self.covalent_conn_id:
            return {}
        conn = await sync_to_async(self.get_connection)(self.covalent_conn_id)
        return _options(conn, self.covalent_conn_id)

    def get_executor(self, spec: ExecutorSpec) -> Any:
        return build_executor(spec, self.options(), self.covalent_conn_id)

    async def aget_executor(self, spec: ExecutorSpec) -> Any:
        return build_executor(spec, await self.aoptions(), self.covalent_conn_id)


def _options(conn: Any, conn_id: str) -> dict[str, Any]:
    extra = conn.extra_dejson
    if not isinstance(extra, dict):
        raise ExecutorConfigError(
            f"connection {conn_id!r}: its extra must be a JSON object of executor options, "
            f"got {type(extra).__name__}"
        )
    return dict(extra)


def executor_spec(executor: Any, field: str = "executor") -> ExecutorSpec:
    """The spec an operator keeps; refuses an instance that carries a secret from DAG code.

    ``None`` stands for covalent_core's default executor (``dispatcher.default_executor``).
    """
    if executor is None:
        return {"name": None}
    if isinstance(executor, str):
        registry.load_class(executor)  # an unknown name fails at DAG parse, with the list
        return {"name": executor}
    if not is_executor(executor):
        raise TypeError(
            f"{field} must be a covalent_core executor instance (e.g. "
            f"covalent_core.executor.LocalExecutor()) or a plugin name such as 'local' or "
            f"'slurm', got {type(executor).__name__} {executor!r}"
        )
    for name, value in vars(executor).items():
        secret = name in executor.SECRET_ATTRIBUTES or isinstance(value, (SecretStr, SecretBytes))
        if secret and value and not name.startswith("_"):
            raise ValueError(
                f"{field}.{name} is set in DAG code, where every DAG reader sees it. Leave it "
                f"empty and put it in the extra of an Airflow connection of type 'covalent' "
                f"(pass conn_id=...) or in the environment of workers and triggerer as "
                f"COVALENT_CORE_EXECUTORS__{executor.short_name().upper()}__{name.upper()}."
            )
    spec = spec_of(executor, {})
    spec.pop("instance", None)  # an id() means nothing in another process
    return spec


def build_executor(spec: ExecutorSpec, options: dict[str, Any], conn_id: str | None) -> Any:
    """An executor from its spec, with ``options`` (a connection's extra) and config secrets."""
    name = spec.get("name") or settings().dispatcher.effective_default_executor
    if "class" not in spec:
        _check_options(registry.load_class(name), options, conn_id)
        return registry.create(name, **options)
    attributes = spec.get("attributes", {})
    configured = settings().executors.get(name, {})
    # to_dict() dropped the secrets; the config (file or environment) supplies them here.
    extra = {k: v for k, v in configured.items() if k not in attributes}
    extra.update(options)
    if not extra:
        return rebuild(spec)
    accepted = _check_options(class_of(spec), options, conn_id)
    return rebuild(spec, overrides={k: v for k, v in extra.items() if k in accepted})


def _check_options(cls: type, options: dict[str, Any], conn_id: str | None) -> set[str]:
    accepted = registry.accepted_options(cls)
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ExecutorConfigError(
            f"connection {conn_id!r}: {cls.__name__} has no option(s) {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(accepted))}. Fix the connection's extra."
        )
    return accepted
