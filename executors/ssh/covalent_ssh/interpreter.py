"""Checks, once per connection, that the far side's Python can run our task packages.

A package pickled by Python 3.11 cannot be read by 3.9, and a host without covalent-core
cannot run the runner at all. Finding out before the first job, with the host, the
interpreter path and both sets of versions in the message, beats a job that dies with
an unpickling error minutes later on a compute node.
"""

from __future__ import annotations

import json
import re
import sys

from covalent_core import __version__ as core_version
from covalent_core.remote.package import versions
from covalent_ssh.errors import RemoteEnvironmentError
from covalent_ssh.transport import Shell, once


async def check_interpreter(shell: Shell, python: str, setup: str = "") -> dict[str, object]:
    """Run ``<python> -m covalent_core.remote versions`` there; raise if it cannot serve us.

    ``setup`` is shell code run first (sourcing a bashrc, activating an environment).
    A host is asked once per connection (see ``once``).
    """
    return await once(shell, f"interpreter\0{setup}\0{python}",
                      lambda: _check(shell, python, setup))


async def _check(shell: Shell, python: str, setup: str) -> dict[str, object]:
    command = f"{setup}{python} -m covalent_core.remote versions"
    result = await shell.run(command)
    where = f"{python!r} on {shell.description}"
    install = f"pip install 'covalent-core=={core_version}' with that interpreter"
    if result.returncode == 127 or ("not found" in result.stderr and not result.stdout):
        raise RemoteEnvironmentError(
            f"Python interpreter {where} was not found ({result.stderr.strip()[-300:]}); set "
            f"python_path to an interpreter that exists there (Python {_here()['python']}, "
            f"with covalent-core installed)"
        )
    missing = re.search(r"No module named '?([\w.]+)", result.stderr)
    if missing:
        module = missing.group(1).split(".")[0]
        what = "covalent-core is" if module == "covalent_core" else \
            f"{module} (a dependency of covalent-core's runner) is"
        raise RemoteEnvironmentError(
            f"{what} not installed for {where}; {install}, or point python_path at an "
            "environment that has it"
        )
    try:
        theirs = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RemoteEnvironmentError(
            f"{where} could not report its versions (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-500:]}"
        ) from None
    here = _here()
    mismatched = [k for k in ("format", "python") if theirs.get(k) != here[k]]
    if str(theirs.get("cloudpickle", "")).split(".")[0] != str(here["cloudpickle"]).split(".")[0]:
        mismatched.append("cloudpickle")
    if mismatched:
        detail = ", ".join(f"{k} {theirs.get(k)} there vs {here[k]} here" for k in mismatched)
        raise RemoteEnvironmentError(
            f"{where} ({theirs.get('executable')}) cannot read tasks pickled here: {detail}. "
            f"Point python_path at a Python {here['python']} interpreter and {install}"
        )
    return theirs


def _here() -> dict[str, object]:
    return {**versions(), "executable": sys.executable}
