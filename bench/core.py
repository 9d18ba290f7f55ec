"""Whole-workflow overhead of the standalone dispatcher against named baselines, in one run.

Workflows: one electron; a chain of 10; a fan-out of 100 trivial electrons and a sum.
Each runs on our dispatcher with the Dask executor (on the same LocalCluster the raw Dask
baseline uses) and with the Local executor, on raw Dask (client.submit, 2 workers), and on
a plain ProcessPoolExecutor with cloudpickle payloads (the floor), interleaved run by run
so all variants see the same machine load. Prints medians and ratios. Then a
10,000-node fan-out on the Local executor in a fresh process, with its peak RSS.

    python bench/core.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import cloudpickle

os.environ.setdefault("COVALENT_CORE_DISPATCHER__DATA_DIR", tempfile.mkdtemp(prefix="bench-"))
os.environ.setdefault("COVALENT_CORE_CONFIG", os.path.join(tempfile.mkdtemp(), "none.toml"))

import covalent_core as ct


def inc(x):
    return x + 1


def total(xs):
    return sum(xs)


def lattices(executor):
    e_inc = ct.electron(inc, executor=executor)
    e_total = ct.electron(total, executor=executor)

    @ct.lattice
    def single():
        return e_inc(1)

    @ct.lattice
    def chain():
        x = 0
        for _ in range(10):
            x = e_inc(x)
        return x

    @ct.lattice
    def fanout():
        return e_total([e_inc(i) for i in range(100)])

    return {"single": single, "chain10": chain, "fanout100": fanout}


EXPECTED = {"single": 2, "chain10": 10, "fanout100": 5050}


def raw_dask(client):
    def single():
        return client.submit(inc, 1, pure=False).result()

    def chain():
        x = 0
        for _ in range(10):
            x = client.submit(inc, x, pure=False)
        return x.result()

    def fanout():
        futs = [client.submit(inc, i, pure=False) for i in range(100)]
        return client.submit(total, futs, pure=False).result()

    return {"single": single, "chain10": chain, "fanout100": fanout}


def _call(payload: bytes) -> bytes:
    fn, args = cloudpickle.loads(payload)
    return cloudpickle.dumps(fn(*args))


def process_pool(pool):
    def run(fn, *args):
        return cloudpickle.loads(pool.submit(_call, cloudpickle.dumps((fn, args))).result())

    def single():
        return run(inc, 1)

    def chain():
        x = 0
        for _ in range(10):
            x = run(inc, x)
        return x

    def fanout():
        futs = [pool.submit(_call, cloudpickle.dumps((inc, (i,)))) for i in range(100)]
        return run(total, [cloudpickle.loads(f.result()) for f in futs])

    return {"single": single, "chain10": chain, "fanout100": fanout}


def timed(variants: list[Callable[[], object]], expected: object, repeat: int) -> list[float]:
    """Median seconds of each variant, run interleaved so they share the machine's load."""
    for fn in variants:
        assert fn() == expected  # warm-up, and a check that every variant computes the same
    samples: list[list[float]] = [[] for _ in variants]
    for _ in range(repeat):
        for fn, times in zip(variants, samples, strict=True):
            start = time.perf_counter()
            value = fn()
            times.append(time.perf_counter() - start)
            assert value == expected, value
    return [statistics.median(times) for times in samples]


def ours(lattice) -> Callable[[], object]:
    def run():
        result = ct.dispatch_sync(lattice)()
        assert result.status == "COMPLETED", result.error
        return result.result

    return run


BIG = """
import os, resource, sys, tempfile, time
os.environ.setdefault("COVALENT_CORE_DISPATCHER__DATA_DIR", tempfile.mkdtemp(prefix="bench-"))
import covalent_core as ct

@ct.electron(executor="local")
def inc(x):
    return x + 1

@ct.electron(executor="local")
def total(xs):
    return sum(xs)

@ct.lattice
def fanout(n):
    return total([inc(i) for i in range(n)])

n = int(sys.argv[1])
start = time.perf_counter()
result = ct.dispatch_sync(fanout)(n)
took = time.perf_counter() - start
assert result.result == n * (n + 1) // 2, result.error
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    rows = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dask_ex = ct.executor.DaskExecutor(scheduler_address=cluster.scheduler_address)
        ours_dask = lattices(dask_ex)
        ours_local = lattices("local")
        baseline = raw_dask(client)
        with concurrent.futures.ProcessPoolExecutor(2) as pool:
            floor = process_pool(pool)
            for name, expected in EXPECTED.items():
                variants = [baseline[name], ours(ours_dask[name]), ours(ours_local[name]),
                            floor[name]]
                rows.append((name, *timed(variants, expected, args.repeat)))

    print(f"medians of {args.repeat} runs (seconds)")
    print(f"{'workflow':<10} {'raw dask':>9} {'ours/dask':>10} {'ours/local':>11} "
          f"{'procpool':>9} {'dask ratio':>11} {'local/floor':>12}")
    for name, raw, dask_t, local_t, floor_t in rows:
        print(f"{name:<10} {raw:>9.4f} {dask_t:>10.4f} {local_t:>11.4f} {floor_t:>9.4f} "
              f"{dask_t / raw:>10.2f}x {local_t / floor_t:>11.2f}x")

    out = subprocess.run([sys.executable, "-c", BIG, str(args.big)], capture_output=True,
                         text=True, check=True).stdout.split()
    print(f"fan-out of {args.big} on the Local executor: {float(out[0]):.2f} s, "
          f"peak RSS of the dispatching process {float(out[1]):.0f} MiB")


if __name__ == "__main__":
    main()
