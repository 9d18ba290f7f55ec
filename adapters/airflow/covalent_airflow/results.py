"""Task results in XCom, or in object storage with XCom carrying a reference.

XCom lives in Airflow's metadata database and travels through its API as JSON, so it
should carry small, plain values. A result goes into XCom as-is when it is built from
JSON types (None, bool, int, float, str, list, tuple, dict with str keys) and its JSON
form is at most ``xcom_max_bytes`` (``[covalent] xcom_max_bytes``, 64 KiB by default).
Anything larger, or any other Python object (arrays, dataframes, your classes), is
cloudpickled to ``[covalent] results_path`` (an ObjectStoragePath URL such as
``s3://aws_default@bucket/prefix``; default ``<AIRFLOW_HOME>/covalent_results``) and
XCom holds ``{"__covalent_ref__": url, "bytes": n, "type": name}``. Covalent tasks
resolve references in their arguments; a plain ``@task`` calls :func:`resolve`.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import cloudpickle

from covalent_core.remote.signing import seal_data, unseal_data

REF_KEY = "__covalent_ref__"
DEFAULT_XCOM_MAX_BYTES = 64 * 1024


def xcom_max_bytes() -> int:
    from covalent_airflow.compat import conf

    return conf.getint("covalent", "xcom_max_bytes", fallback=DEFAULT_XCOM_MAX_BYTES)


def results_path() -> Any:
    from airflow.sdk import ObjectStoragePath

    from covalent_airflow.compat import conf

    configured = conf.get("covalent", "results_path", fallback="")
    if configured:
        return ObjectStoragePath(configured)
    home = os.path.expanduser(os.environ.get("AIRFLOW_HOME", "~/airflow"))
    return ObjectStoragePath(f"file://{os.path.abspath(home)}/covalent_results")


def to_xcom(value: Any, ti: Any, *, limit: int | None = None, key: str = "") -> Any:
    """The value itself if XCom should carry it, else a reference to where it was stored."""
    limit = xcom_max_bytes() if limit is None else limit
    if _plain(value, 0):
        try:
            size = len(json.dumps(value, allow_nan=False))
        except ValueError:  # NaN or infinity: JSON has no spelling for them
            size = None
        if size is not None and size <= limit:
            return value
    data = cloudpickle.dumps(value)
    name = f"{ti.task_id}" + (f"_{ti.map_index}" if ti.map_index >= 0 else "")
    name += f"_{key}" if key else ""
    place = f"{_safe(ti.dag_id)}/{_safe(ti.run_id)}/{_safe(name)}.pkl"
    path = results_path() / place
    path.parent.mkdir(parents=True, exist_ok=True)
    # Signed with the installation key (shared by every worker through
    # COVALENT_CORE_PACKAGE_KEY), so a file planted in shared storage is never unpickled.
    sealed = seal_data(place, data)
    path.write_bytes(sealed)
    return {REF_KEY: str(path), "place": place, "bytes": len(sealed), "type": _type_name(value)}


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and REF_KEY in value


def resolve(value: Any) -> Any:
    """Replace result references (at any depth of lists, tuples and dicts) with their values."""
    if is_ref(value):
        return _load(value)
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v) for v in value)
    return value


def _load(ref: dict[str, Any]) -> Any:
    from airflow.sdk import ObjectStoragePath

    path = ObjectStoragePath(ref[REF_KEY])
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(
            f"the result stored at {ref[REF_KEY]} is gone (deleted, or written where this "
            "worker cannot see it); point [covalent] results_path at storage every worker "
            "reaches and run the upstream task again"
        ) from None
    return cloudpickle.loads(unseal_data(str(ref.get("place", "")), data, ref[REF_KEY]))


_JSON_SCALARS = (type(None), bool, int, str)


def _plain(value: Any, depth: int) -> bool:
    """Built only of types XCom's JSON gives back exactly (subclasses such as enums excluded)."""
    if depth > 50:
        return False
    kind = type(value)
    if kind in _JSON_SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind in (list, tuple):
        return all(_plain(v, depth + 1) for v in value)
    if kind is dict:
        return not is_ref(value) and all(
            type(k) is str and not k.startswith("__") and _plain(v, depth + 1)
            for k, v in value.items()
        )
    return False


def _safe(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", part)


def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"
