"""The TOML config file, environment overrides and their validation.

The file lives at ``$COVALENT_CORE_CONFIG`` or
``<XDG config dir>/covalent_core/covalent_core.toml``.
Any key can be overridden from the environment as ``COVALENT_CORE_<SECTION>__<KEY>``
(for example ``COVALENT_CORE_DISPATCHER__NO_CLUSTER=true``), which is how CI and
containers configure us without writing files.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

import platformdirs
import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from covalent_core.errors import ConfigError, CovalentError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

ENV_PREFIX = "COVALENT_CORE_"
CONFIG_PATH_ENV = "COVALENT_CORE_CONFIG"
#: What is shown instead of a secret's value.
MASK = "********"
#: Key names that hold a secret whichever executor they configure (key material: *key, *key_id).
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)|secret|token|key(_id)?$|connection_string",
                          re.IGNORECASE)


class SDKSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    log_level: Literal["debug", "info", "warning", "error"] = "warning"


class DispatcherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("covalent_core")),
        description="Where the SQLite store and, unless results_dir is set, task outputs live.",
    )
    results_dir: Path | None = Field(
        default=None, description="Root for per-dispatch output files; default <data_dir>/results."
    )
    no_cluster: bool = Field(
        default=False,
        description="Make 'local' the default executor instead of a local Dask cluster.",
    )
    default_executor: str | None = Field(
        default=None,
        description="Executor name for electrons that name none; overrides no_cluster.",
    )
    dask_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    local_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    start_method: Literal["fork", "forkserver", "spawn"] | None = Field(
        default=None,
        description="How worker processes start; default fork on Linux (no __main__ guard needed).",
    )
    retry_backoff: float = Field(default=1.0, ge=0, description="First retry delay in seconds.")
    retry_backoff_max: float = Field(default=60.0, ge=0)
    wait_at_exit: bool = Field(
        default=True, description="Finish running dispatches before the interpreter exits."
    )
    cancel_poll_interval: float = Field(default=0.5, gt=0)

    @property
    def results_root(self) -> Path:
        return self.results_dir or self.data_dir / "results"

    @property
    def effective_default_executor(self) -> str:
        if self.default_executor:
            return self.default_executor
        return "local" if self.no_cluster else "dask"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    sdk: SDKSettings = Field(default_factory=SDKSettings)
    dispatcher: DispatcherSettings = Field(default_factory=DispatcherSettings)
    executors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    qelectron: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, which arrives as init kwargs.
        return (env_settings, init_settings)


_lock = threading.RLock()
_cached: Settings | None = None


def config_path() -> Path:
    explicit = os.environ.get(CONFIG_PATH_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir("covalent_core")) / "covalent_core.toml"


def _read_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}. Fix the file or delete it to use "
            "defaults."
        ) from exc


def _describe(exc: ValidationError, path: Path) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        # Names only: the installed executors' secrets would import plugins mid-validation.
        shown = _masked(key, err.get("input"), frozenset())
        lines.append(f"  {key}: {err['msg']} (got {shown!r})")
    return (
        f"invalid configuration (file {path}, env {ENV_PREFIX}<SECTION>__<KEY>):\n"
        + "\n".join(lines)
        + "\nFix the key in the file, the environment variable, or run "
        "`covalent-core config set <key> <value>`."
    )


#: Variables with our prefix that are not settings.
_NOT_SETTINGS = frozenset({CONFIG_PATH_ENV, "COVALENT_CORE_PACKAGE_KEY"})


def _check_environment() -> None:
    """A variable with our prefix but no known section would be ignored: say so instead."""
    sections = list(Settings.model_fields)
    for name in os.environ:
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in _NOT_SETTINGS:
            continue
        section, sep, _ = name[len(ENV_PREFIX):].lower().partition("__")
        if sep and section in sections:
            continue
        close = difflib.get_close_matches(section, sections, n=1)
        hint = f"did you mean {ENV_PREFIX}{close[0].upper()}__...? " if close else ""
        raise ConfigError(
            f"environment variable {name} names no setting: {hint}Settings are "
            f"{ENV_PREFIX}<SECTION>__<KEY> with SECTION one of "
            f"{', '.join(s.upper() for s in sections)}; rename or unset it."
        )


def _validate(raw: dict[str, Any], path: Path) -> Settings:
    _check_environment()
    try:
        return Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def settings() -> Settings:
    """The validated settings, read once per process (``reload()`` to re-read)."""
    global _cached
    with _lock:
        if _cached is None:
            path = config_path()
            _cached = _validate(_read_file(path), path)
            _apply_logging(_cached.sdk.log_level)
        return _cached


def _apply_logging(level: str) -> None:
    """``sdk.log_level`` sets our loggers' level; a handler is added only if none exists."""
    logger = logging.getLogger("covalent_core")
    logger.setLevel(level.upper())
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s [%(name)s] %(levelname)s %(message)s"))
        logger.addHandler(handler)


def reload() -> Settings:
    global _cached
    with _lock:
        _cached = None
        return settings()


def _lookup(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"no config key {key!r}; `covalent-core config show` lists them")
        node = node[part]
    return node


def get_config(key: str | None = None) -> Any:
    """The whole config as a dict, or one dotted key (``"dispatcher.no_cluster"``)."""
    from covalent_core.executor.registry import plugin_defaults

    tree = settings().model_dump(mode="json")
    merged_executors = {name: dict(d) for name, d in plugin_defaults().items()}
    for name, values in tree["executors"].items():
        merged_executors.setdefault(name, {}).update(values)
    tree["executors"] = merged_executors
    tree["dispatcher"]["results_dir"] = str(settings().dispatcher.results_root)
    return tree if key is None else _lookup(tree, key)


def _is_secret_type(annotation: Any) -> bool:
    # Annotations may be strings (``from __future__ import annotations``) or types.
    return "SecretStr" in str(annotation) or "SecretBytes" in str(annotation)


def _secret_options_of(cls: type) -> set[str]:
    from covalent_core.executor.registry import constructor_parameters

    names = set(getattr(cls, "SECRET_ATTRIBUTES", ())) | set(getattr(cls, "SECRET_FIELDS", ()))
    names.update(p.name for p in constructor_parameters(cls).values()
                 if _is_secret_type(p.annotation))
    fields = getattr(cls, "model_fields", {})  # quantum executors are pydantic models
    names.update(n for n, f in fields.items() if _is_secret_type(f.annotation))
    return names


def secret_options() -> frozenset[str]:
    """Option names (lower case) any installed executor keeps secret: its
    ``SECRET_ATTRIBUTES`` (``SECRET_FIELDS`` of quantum executors) and the options it
    types ``SecretStr``/``SecretBytes``. A plugin that cannot be imported adds none."""
    from covalent_core.executor import registry

    classes = []
    for name in registry.available():
        try:
            classes.append(registry.load_class(name))
        except (ImportError, CovalentError):
            continue
    # Quantum executors read only [qelectron], and importing them (PennyLane) takes seconds.
    quantum = entry_points(group="covalent_core.qexecutors") if settings().qelectron else ()
    for ep in quantum:
        try:
            classes.append(ep.load())
        except ImportError:
            continue
    return frozenset(n.lower() for cls in classes for n in _secret_options_of(cls))


def _masked(key: str, value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _masked(str(k), v, secrets) for k, v in value.items()}
    name = key.rpartition(".")[2]
    secret = name.lower() in secrets or _SECRET_NAME.search(name) is not None
    if not secret or value is None or value == "" or isinstance(value, bool):
        return value  # unset, or a flag (verify_host_key): nothing to hide
    return MASK


def masked(key: str, value: Any) -> Any:
    """``value`` of dotted ``key`` as it may be shown: ``MASK`` if the key is a secret of
    an installed executor or its name looks like one (password, passphrase, secret,
    token, *key); tables are masked key by key."""
    return _masked(key, value, secret_options())


def set_config(key_or_dict: str | dict[str, Any], value: Any = None) -> None:
    """Write one dotted key (or a dict of them) to the config file, validating first."""
    updates = key_or_dict if isinstance(key_or_dict, dict) else {key_or_dict: value}
    path = config_path()
    with _lock:
        raw = _read_file(path)
        for key, val in updates.items():
            node = raw
            *parents, leaf = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"cannot set {key!r}: {part!r} is not a table")
            node[leaf] = str(val) if isinstance(val, Path) else val
        _validate(raw, path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(raw))
        reload()


def executor_config(name: str) -> dict[str, Any]:
    """Constructor defaults for executor ``name``: plugin defaults, then the file, then env."""
    from covalent_core.executor.registry import plugin_defaults_for

    merged = dict(plugin_defaults_for(name))
    merged.update(settings().executors.get(name, {}))
    return merged
