"""Kills a dispatching process at random moments around its remote launches, resumes
each dispatch, and counts tasks that ran more than once (the goal is none).

Each trial dispatches a fan-out of remote tasks on the reference ProcessExecutor
(tests/support/process_executor.py: real detached processes running the runner), SIGKILLs
the dispatcher after a random delay that falls in its submissions, resumes the dispatch
in this process and counts each task's runs from the marks it leaves.

    python bench/kill_at_launch.py [--trials 20] [--tasks 4]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    import covalent_core as ct
    from support.process_executor import ProcessExecutor

    remote = ProcessExecutor(workdir={jobs!r}, poll_freq=0.05)

    @ct.electron(executor=remote)
    def task(i):
        import time
        with open({marks!r} + f"/{{i}}", "a") as fh:
            fh.write("run\\n")
        time.sleep(0.5)
        return i

    @ct.lattice
    def workflow(n):
        return [task(i) for i in range(n)]

    print(ct.dispatch(workflow)({tasks}), flush=True)
    import time
    time.sleep(60)
""")


def trial(work: Path, tasks: int, delay: float) -> tuple[int, str]:
    import covalent_core as ct

    marks, jobs = work / "marks", work / "jobs"
    marks.mkdir(parents=True)
    script = work / "dispatcher.py"
    script.write_text(SCRIPT.format(tests=str(ROOT / "tests"), jobs=str(jobs),
                                    marks=str(marks), tasks=tasks))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    dispatch_id = proc.stdout.readline().strip()  # type: ignore[union-attr]
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    ct.redispatch(dispatch_id)()
    result = ct.get_result(dispatch_id, wait=True, timeout=120)
    runs = [len((marks / str(i)).read_text().splitlines()) if (marks / str(i)).exists() else 0
            for i in range(tasks)]
    status = str(result.status)
    if status != "COMPLETED":
        status += f": {result.error}"
    return sum(max(0, r - 1) for r in runs), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=4)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests"))  # the resumed dispatch rebuilds ProcessExecutor
    base = Path(tempfile.mkdtemp(prefix="covalent-kill-bench-"))
    os.environ["COVALENT_CORE_DISPATCHER__DATA_DIR"] = str(base / "data")
    os.environ["COVALENT_CORE_DISPATCHER__NO_CLUSTER"] = "true"
    rng = random.Random(7)
    duplicates, completed = 0, 0
    for n in range(args.trials):
        delay = rng.uniform(0.0, 0.6)  # dispatch start to kill: the submissions fall in it
        extra, status = trial(base / f"t{n}", args.tasks, delay)
        duplicates += extra
        completed += status == "COMPLETED"
        print(f"trial {n + 1:2}: killed after {delay * 1000:4.0f} ms, {status}, "
              f"{extra} duplicate run(s)")
    print(f"{args.trials} trials x {args.tasks} tasks: {duplicates} duplicate runs, "
          f"{completed} of {args.trials} dispatches COMPLETED after resume")


if __name__ == "__main__":
    main()
