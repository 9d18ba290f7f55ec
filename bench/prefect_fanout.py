"""Fan-out of trivial tasks plus a sum in Prefect: native threads vs CovalentTaskRunner.

Runs, in one process against one temporary Prefect server (prefect_test_harness):
  native   @flow with Prefect's default ThreadPoolTaskRunner (task bodies in threads)
  covalent the same flow and tasks with CovalentTaskRunner on the Local executor
           (task bodies shipped to covalent_core's worker processes)
  lattice  (for information) the same fan-out written as a @ct.lattice, via to_flow
  empty    a flow with no tasks: Prefect's fixed cost per flow run (about 1 s of
           heartbeat wait at its end), subtracted for the "task phase" ratio
Runs are interleaved and repeated; medians and ratios are printed. Target: covalent
within 1.2x of native.

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

import covalent_core as ct  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.task_runners import ThreadPoolTaskRunner  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

import covalent_prefect as cp  # noqa: E402


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(values: list[int]) -> int:
    return sum(values)


def fan_out(n: int) -> int:
    return total(inc.map(range(n)))


native = flow(name="fanout-native", task_runner=ThreadPoolTaskRunner())(fan_out)
covalent = flow(name="fanout-covalent", task_runner=cp.CovalentTaskRunner("local"))(fan_out)


@flow(name="empty")
def empty(n: int) -> int:
    return n


@ct.electron(executor="local")
def inc_e(x: int) -> int:
    return x + 1


@ct.electron(executor="local")
def total_e(values: list[int]) -> int:
    return sum(values)


@ct.lattice
def fan_lattice(n: int) -> int:
    return total_e([inc_e(i) for i in range(n)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.tasks
    lattice = cp.to_flow(fan_lattice)
    runs = {"empty": empty, "native": native, "covalent": covalent, "lattice": lattice}
    times: dict[str, list[float]] = {name: [] for name in runs}
    expected = sum(range(1, n + 1))
    server = (contextlib.nullcontext() if os.environ.get("PREFECT_API_URL")
              else prefect_test_harness(server_startup_timeout=300))
    with server:
        for name, fl in runs.items():  # warm-up: pools, clients, task keys
            fl(n)
        for _ in range(args.repeat):
            for name, fl in runs.items():
                start = time.perf_counter()
                value = fl(n)
                times[name].append(time.perf_counter() - start)
                if name != "empty" and value != expected:
                    print(f"{name} returned {value}, expected {expected}", file=sys.stderr)
                    return 1
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"fan-out of {n} trivial tasks + sum, {args.repeat} runs each, medians:")
    for name, value in med.items():
        spread = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"  {name:9s} {value:7.3f} s   ({spread})")
    ratio = med["covalent"] / med["native"]
    task_ratio = (med["covalent"] - med["empty"]) / max(med["native"] - med["empty"], 1e-9)
    print(f"covalent / native (whole flow): {ratio:.2f}x  (target <= 1.2x)")
    print(f"covalent / native (task phase, empty flow subtracted): {task_ratio:.2f}x")
    print(f"lattice via to_flow / native (whole flow): {med['lattice'] / med['native']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
