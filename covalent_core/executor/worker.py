"""What a worker process (pebble or Dask) runs for one task.

A task travels as two cloudpickle payloads: the function with the source lines of its
code (for tracebacks), pickled once per function on the dispatching side, and the
arguments. Workers keep recently used functions unpickled, so a fan-out of one electron
pays for pickling its code once, not per task. Results come back as a sealed Outcome,
so an unpicklable return value or exception becomes a clear error instead of a broken pool.
"""

from __future__ import annotations

import contextlib
import io
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import cloudpickle

from covalent_core.remote.package import binding_for, run_captured
from covalent_core.remote.signing import Binding, installation_key
from covalent_core.remote.sources import SourceMap, capture

_pickled: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
_pickled_lock = threading.Lock()
_loaded: OrderedDict[bytes, tuple[Callable[..., Any], SourceMap]] = OrderedDict()
_LOADED_MAX = 64


def _dumps(function: Callable[..., Any]) -> bytes:
    return cloudpickle.dumps((function, capture(function)))


def pickle_function(function: Callable[..., Any]) -> bytes:
    """The function's pickle, computed once per live function object."""
    try:
        with _pickled_lock:
            cached = _pickled.get(function)
    except TypeError:  # not weak-referenceable: pickle every time
        return _dumps(function)
    if cached is None:
        cached = _dumps(function)
        with _pickled_lock:
            _pickled[function] = cached
    return cached


def _load_function(data: bytes) -> tuple[Callable[..., Any], SourceMap]:
    loaded = _loaded.get(data)
    if loaded is None:
        loaded = cloudpickle.loads(data)
        _loaded[data] = loaded
        if len(_loaded) > _LOADED_MAX:
            _loaded.popitem(last=False)
    else:
        _loaded.move_to_end(data)
    return loaded


def pack_call(
    args: list[Any], kwargs: dict[str, Any], task_metadata: dict[str, Any]
) -> tuple[bytes, Binding]:
    """The arguments and the task key to sign the outcome with, and the binding to expect."""
    binding = binding_for(task_metadata)
    key = binding.key(installation_key())
    # The binding travels as a plain dict: pickling the dataclass costs more than the call.
    return cloudpickle.dumps((args, kwargs, binding.to_header(), key)), binding


def run_payload(function_bytes: bytes, call_bytes: bytes) -> bytes:
    function, sources = _load_function(function_bytes)
    args, kwargs, header, key = cloudpickle.loads(call_bytes)
    binding = Binding.from_header(header, "the call")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        outcome = run_captured(function, args, kwargs, sources)
    outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()
    return outcome.to_bytes(binding, key)
