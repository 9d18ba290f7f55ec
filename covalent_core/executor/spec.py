"""How a node names its executor in a persisted graph, and how that becomes an instance again.

A spec never holds a live executor or a secret: by name (resolved with config defaults
when the node runs), or by class plus ``to_dict()`` attributes. While the dispatching
process lives, the very instance the user passed is used, so one instance shared by
two electrons stays shared; after a restart it is rebuilt once per distinct spec.
"""

from __future__ import annotations

import base64
import importlib
import json
from typing import Any

import cloudpickle

from covalent_core.executor import registry


def spec_of(executor: Any, instances: dict[int, Any]) -> dict[str, Any]:
    if executor is None:
        return {"name": None}
    if isinstance(executor, str):
        return {"name": executor}
    cls = type(executor)
    instances[id(executor)] = executor
    spec = {
        "name": executor.short_name(),
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "attributes": executor.to_dict()["attributes"],
        "instance": id(executor),
    }
    if not _importable(cls):
        spec["class_pickle"] = base64.b64encode(cloudpickle.dumps(cls)).decode()
    return spec


def _importable(cls: type) -> bool:
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        return False
    try:
        return _import(f"{cls.__module__}:{cls.__qualname__}") is cls
    except Exception:
        return False


def _import(path: str) -> Any:
    module, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class Resolver:
    """Turns specs into instances for one run of a graph, reusing equal specs."""

    def __init__(self, live: dict[int, Any], default_name: str) -> None:
        self.live = live
        self.default_name = default_name
        self._rebuilt: dict[str, Any] = {}
        self._named: dict[str, Any] = {}

    def resolve(self, spec: dict[str, Any] | None) -> Any:
        spec = spec or {"name": None}
        if "class" not in spec:
            name = spec.get("name") or self.default_name
            if name not in self._named:
                self._named[name] = registry.shared(name)
            return self._named[name]
        if spec.get("instance") in self.live:
            return self.live[spec["instance"]]
        key = json.dumps({k: v for k, v in spec.items() if k != "instance"}, sort_keys=True,
                         default=str)
        if key not in self._rebuilt:
            self._rebuilt[key] = rebuild(spec)
        return self._rebuilt[key]


def class_of(spec: dict[str, Any]) -> type[Any]:
    if "class_pickle" in spec:
        return cloudpickle.loads(base64.b64decode(spec["class_pickle"]))
    return _import(spec["class"])


def rebuild(spec: dict[str, Any], overrides: dict[str, Any] | None = None) -> Any:
    """An instance from a spec; ``overrides`` (secrets, say) go to the constructor only.

    ``to_dict`` left secrets out, so whoever rebuilds supplies them (from config, the
    environment or an Airflow connection); passing them to the constructor lets it wrap
    them as it does for a user, and ``from_dict`` then restores the rest.
    """
    cls = class_of(spec)
    overrides = overrides or {}
    attributes = {k: v for k, v in spec.get("attributes", {}).items() if k not in overrides}
    accepted = registry.accepted_options(cls)
    kwargs = {k: v for k, v in {**attributes, **overrides}.items() if k in accepted}
    try:
        obj = cls(**kwargs)
    except TypeError:
        obj = object.__new__(cls)
    return obj.from_dict({"attributes": attributes})
