"""Runs one task package on the far side and writes its outcome.

Streams are redirected at the file-descriptor level, so output of subprocesses and
C extensions is captured too, and lands in files a backend can tail while the task
runs. The exit code is 0 whenever an outcome was written, even for a task that
raised: the outcome says how the task went; a non-zero exit means the runner itself
could not do its job.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

from covalent_core.errors import TaskPackageError
from covalent_core.remote.package import Outcome, SignedTask, run_captured, versions
from covalent_core.store.artifacts import write_bytes

EXIT_OK = 0
EXIT_BAD_PACKAGE = 3


def _redirect(fd: int, path: Path) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(target, fd)
    os.close(target)


def run_package(package_path: Path, outcome_path: Path, stdout: Path, stderr: Path) -> int:
    started = time.time()
    _redirect(1, stdout)
    _redirect(2, stderr)
    try:
        signed = SignedTask.verify(package_path.read_bytes())
    except (TaskPackageError, OSError) as exc:
        # Nothing this side can sign: the dispatcher reports what the runner printed.
        print(f"covalent-core runner: {package_path}: {exc}", file=sys.stderr, flush=True)
        return EXIT_BAD_PACKAGE
    try:
        task = signed.load()
    except Exception as exc:
        error = TaskPackageError(
            f"could not unpickle the task ({type(exc).__name__}: {exc}); a module it "
            "uses must be importable here: install it on this side"
        )
        print(f"covalent-core runner: {error}", file=sys.stderr, flush=True)
        outcome = Outcome(False, exception=error, traceback=traceback.format_exc(),
                          started_at=started, ended_at=time.time())
        code = EXIT_BAD_PACKAGE
    else:
        outcome = run_captured(task.function, task.args, task.kwargs, task.sources)
        code = EXIT_OK
    sys.stdout.flush()
    sys.stderr.flush()
    outcome.stdout = stdout.read_text(errors="replace")
    outcome.stderr = stderr.read_text(errors="replace")
    write_bytes(outcome_path, outcome.to_bytes(signed.binding, signed.key))
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m covalent_core.remote")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one task package and write its outcome")
    run.add_argument("package", type=Path)
    run.add_argument("outcome", type=Path)
    run.add_argument("--stdout", type=Path)
    run.add_argument("--stderr", type=Path)
    sub.add_parser("versions", help="print the versions a package must match, as JSON")
    args = parser.parse_args(argv)
    if args.command == "versions":
        print(json.dumps({**versions(), "executable": sys.executable}))
        return EXIT_OK
    tmp = Path(tempfile.mkdtemp(prefix="covalent-task-"))
    return run_package(
        args.package, args.outcome, args.stdout or tmp / "stdout", args.stderr or tmp / "stderr"
    )
