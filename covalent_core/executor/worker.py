"""The function a worker process (pebble or Dask) runs for one task.

Payloads travel as cloudpickle bytes and come back as a sealed Outcome, so functions
defined in ``__main__`` or as closures work, and an unpicklable return value or
exception becomes a clear error instead of a broken pool.
"""

from __future__ import annotations

import contextlib
import io

import cloudpickle

from covalent_core.remote.package import run_captured


def run_payload(payload: bytes) -> bytes:
    function, args, kwargs = cloudpickle.loads(payload)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        outcome = run_captured(function, args, kwargs)
    outcome.stdout, outcome.stderr = out.getvalue(), err.getvalue()
    return outcome.to_bytes()
