"""Executor plugins by short name, imported only when first used (the fsspec pattern).

Plugins register in the entry-point group ``covalent_core.executors`` with either
``name = "package.module:ClassName"`` or, as Covalent plugins do, ``name = "package.module"``
where the module names its class in ``executor_plugin_name``. A module's
``_EXECUTOR_PLUGIN_DEFAULTS`` become the defaults of ``[executors.<name>]``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import threading
import typing
from functools import cache
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pydantic

from covalent_core.errors import ExecutorConfigError, ExecutorNotFoundError

GROUP = "covalent_core.executors"
BUILTINS = {
    "local": "covalent_core.executor.local:LocalExecutor",
    "dask": "covalent_core.executor.dask:DaskExecutor",
}

_instances: dict[tuple[str, str], Any] = {}
_lock = threading.Lock()


@cache
def available() -> dict[str, str]:
    """Short name -> import target, for every installed plugin."""
    found = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def refresh() -> None:
    """Forget the plugin list (after installing a plugin in a running process)."""
    available.cache_clear()


def _module(name: str) -> ModuleType:
    target = _target(name)
    return importlib.import_module(target.partition(":")[0])


def _target(name: str) -> str:
    plugins = available()
    if name not in plugins:
        raise ExecutorNotFoundError(
            f"no executor named {name!r}. Installed: {', '.join(sorted(plugins))}. "
            f"Install the plugin that provides it (for example `pip install covalent-{name}`) "
            "or pass an executor instance."
        )
    return plugins[name]


def load_class(name: str) -> type:
    module = _module(name)
    _, _, attr = _target(name).partition(":")
    attr = attr or str(getattr(module, "executor_plugin_name", None) or getattr(
        module, "EXECUTOR_PLUGIN_NAME", ""
    ))
    cls = getattr(module, attr, None)
    if not isinstance(cls, type):
        raise ExecutorNotFoundError(
            f"plugin {name!r} ({module.__name__}) names class {attr!r}, which it does not define"
        )
    return cls


def find_by_class_name(class_name: str) -> type | None:
    """``ct.executor.SlurmExecutor`` -> the class, importing only plugins that may hold it."""
    for name, target in available().items():
        _, _, attr = target.partition(":")
        if attr == class_name or (not attr and _module_names(name, class_name)):
            return load_class(name)
    return None


def _module_names(name: str, class_name: str) -> bool:
    module = _module(name)
    return class_name in (
        getattr(module, "executor_plugin_name", None),
        getattr(module, "EXECUTOR_PLUGIN_NAME", None),
    )


def plugin_defaults_for(name: str) -> dict[str, Any]:
    if name not in available():
        return {}
    return dict(getattr(_module(name), "_EXECUTOR_PLUGIN_DEFAULTS", {}) or {})


def plugin_defaults() -> dict[str, dict[str, Any]]:
    out = {}
    for name in available():
        try:
            out[name] = plugin_defaults_for(name)
        except ImportError:
            continue
    return out


def create(name: str, **overrides: Any) -> Any:
    """An executor built from its config section, checked against its constructor first."""
    from covalent_core.config import executor_config

    cls = load_class(name)
    options = {**executor_config(name), **overrides}
    accepted = accepted_options(cls)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise ExecutorConfigError(
            f"executors.{name}: unknown option(s) {', '.join(sorted(unknown))} for "
            f"{cls.__name__}; accepted: {', '.join(sorted(accepted))}. "
            "Fix [executors." + name + "] in the config file or the COVALENT_CORE_EXECUTORS__"
            + name.upper() + "__<KEY> variable."
        )
    hints = _hints(cls)
    options = {k: _typed(cls, name, k, v, hints.get(k)) for k, v in options.items()}
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:
        raise ExecutorConfigError(
            f"executors.{name}: {cls.__name__} rejected its options: {exc}. Fix [executors."
            f"{name}] in the config file."
        ) from exc


def _hints(cls: type) -> dict[str, Any]:
    """Constructor parameter types along the class chain (the most derived one wins)."""
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            hints.update(typing.get_type_hints(init))
        except Exception:  # an annotation that does not resolve: leave it unchecked
            continue
    hints.pop("return", None)
    return hints


def _typed(cls: type, name: str, key: str, value: Any, hint: Any) -> Any:
    """``value`` checked (and, from text such as an environment variable, converted)
    against the constructor's annotation ``hint``, so a bad config value fails before
    any task."""
    if hint is None or hint is Any:
        return value
    try:
        return pydantic.TypeAdapter(hint).validate_python(value)
    except pydantic.ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        raise ExecutorConfigError(
            f"executors.{name}.{key} = {value!r}: {problem} ({cls.__name__} takes "
            f"{getattr(hint, '__name__', hint)}). Fix [executors.{name}] in the config file "
            f"or COVALENT_CORE_EXECUTORS__{name.upper()}__{key.upper()}."
        ) from None
    except Exception:  # a type pydantic cannot check (a plugin's own class): as given
        return value


def constructor_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """Named constructor parameters along the class chain (``**kwargs`` forwards to a
    base), the most derived class's declaration of each."""
    params: dict[str, inspect.Parameter] = {}
    for klass in reversed(cls.__mro__):
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for param in inspect.signature(init).parameters.values():
            if param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
                params[param.name] = param
    params.pop("self", None)
    return params


def accepted_options(cls: type) -> set[str]:
    """The option names a constructor along the class chain takes."""
    return set(constructor_parameters(cls))


def shared(name: str) -> Any:
    """One instance per name and config, so electrons naming it share its pools and clients."""
    from covalent_core.config import executor_config

    key = (name, json.dumps(executor_config(name), sort_keys=True, default=str))
    with _lock:
        if key not in _instances:
            _instances[key] = create(name)
        return _instances[key]
