"""Fan-out of trivial tasks plus a sum in Prefect: native threads vs CovalentTaskRunner.

Runs, in one process against one temporary Prefect server (prefect_test_harness):
  native   @flow with Prefect's default ThreadPoolTaskRunner (task bodies in threads)
  covalent the same flow and tasks with CovalentTaskRunner on the Local executor
           (task bodies shipped to covalent_core's worker processes)
  lattice  (for information) the same fan-out written as a @ct.lattice, via to_flow
Runs are interleaved and repeated. Before each run the server is left to finish
recording the previous one (its task-run events), so no run pays for another's backlog.
Printed: medians of the whole flow call and of the flow body (submitting, running and
collecting the tasks; the rest is Prefect's fixed cost per flow run, including about
1 s of heartbeat wait at its end), and their ratios. Target: covalent within 1.2x.

    python bench/prefect_fanout.py [--tasks 100] [--repeat 5]

With PREFECT_API_URL set, the runs go to that server instead of a temporary one.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

_TMP = tempfile.mkdtemp(prefix="prefect-bench-")
os.environ.setdefault("PREFECT_HOME", os.path.join(_TMP, "prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_UI_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("COVALENT_CORE_CONFIG", os.path.join(_TMP, "covalent_core.toml"))
os.environ.setdefault("COVALENT_CORE_DISPATCHER__DATA_DIR", os.path.join(_TMP, "data"))

import covalent_prefect as cp  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId  # noqa: E402
from prefect.client.schemas.sorting import TaskRunSort  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

import covalent_core as ct  # noqa: E402

_body: dict[str, float] = {}


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(values: list[int]) -> int:
    return sum(values)


def fan_out(n: int) -> int:
    start = time.perf_counter()
    value = total(inc.map(range(n)))
    _body["seconds"] = time.perf_counter() - start
    return value


native = flow(name="fanout-native", task_runner=ThreadPoolTaskRunner())(fan_out)
covalent = flow(name="fanout-covalent", task_runner=cp.CovalentTaskRunner("local"))(fan_out)


@ct.electron(executor="local")
def inc_e(x: int) -> int:
    return x + 1


@ct.electron(executor="local")
def total_e(values: list[int]) -> int:
    return sum(values)


@ct.lattice
def fan_lattice(n: int) -> int:
    return total_e([inc_e(i) for i in range(n)])


def settle(flow_run_id: object, count: int) -> None:
    """Wait (bounded) until the server has recorded every task run of the last flow run."""
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(
                task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(
                    any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC, limit=count + 10)
            if sum(1 for r in runs if r.state is not None and r.state.is_final()) >= count:
                return
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.tasks
    runs = {"native": native, "covalent": covalent, "lattice": cp.to_flow(fan_lattice)}
    whole: dict[str, list[float]] = {name: [] for name in runs}
    body: dict[str, list[float]] = {name: [] for name in runs}
    expected = sum(range(1, n + 1))
    server = (contextlib.nullcontext() if os.environ.get("PREFECT_API_URL")
              else prefect_test_harness(server_startup_timeout=300))
    with server:
        for round_ in range(args.repeat + 1):  # round 0 warms pools, clients, task keys
            for name, fl in runs.items():
                _body.clear()
                start = time.perf_counter()
                state = fl(n, return_state=True)
                elapsed = time.perf_counter() - start
                if state.result() != expected:
                    print(f"{name} returned {state.result()}, expected {expected}",
                          file=sys.stderr)
                    return 1
                settle(state.state_details.flow_run_id, n + 1)
                if round_:
                    whole[name].append(elapsed)
                    if "seconds" in _body:
                        body[name].append(_body["seconds"])
    print(f"fan-out of {n} trivial tasks + sum, {args.repeat} runs each, medians "
          "(all runs in parentheses):")
    for name in runs:
        line = f"  {name:9s} whole flow {statistics.median(whole[name]):6.2f} s"
        line += f" ({', '.join(f'{t:.2f}' for t in whole[name])})"
        if body[name]:
            line += f"   flow body {statistics.median(body[name]):5.2f} s"
        print(line)
    for label, data in (("whole flow", whole), ("flow body", body)):
        ratio = statistics.median(data["covalent"]) / statistics.median(data["native"])
        print(f"covalent / native ({label}): {ratio:.2f}x  (target <= 1.2x)")
    lattice = statistics.median(whole["lattice"]) / statistics.median(whole["native"])
    print(f"lattice via to_flow / native (whole flow): {lattice:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
