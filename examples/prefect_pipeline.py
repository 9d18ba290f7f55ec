"""Prefect flows whose steps run on covalent_core executors.

Three ways in, all on local executors so it runs anywhere (swap in "ssh", "slurm", an
executor instance... in real use):
  1. a hand-written flow whose plain Prefect tasks go through CovalentTaskRunner,
  2. electrons called, submitted and mapped inside a hand-written flow,
  3. a lattice turned into a flow with covalent_prefect.to_flow.

    pip install covalent-prefect            # in this repo: bash scripts/test.sh prefect
    python examples/prefect_pipeline.py

Without PREFECT_API_URL, Prefect starts a temporary local server for the run (the first
run migrates its database, which takes a while). Runs show up in that server's UI when
you start one with `prefect server start` and set PREFECT_API_URL.
"""

import os

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # keep traffic local
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")

import covalent_prefect as cp
from prefect import flow, task

import covalent_core as ct


# 1. Plain Prefect tasks; the runner ships their functions to worker processes.
@task(retries=1)
def estimate_pi(samples: int, seed: int) -> float:
    import random

    rng = random.Random(seed)
    inside = sum(rng.random() ** 2 + rng.random() ** 2 <= 1 for _ in range(samples))
    print(f"batch {seed}: {inside}/{samples} inside")  # lands in the task run's logs
    return 4 * inside / samples


@task
def mean(values: list[float]) -> float:
    return sum(values) / len(values)


@flow(task_runner=cp.CovalentTaskRunner("local"))
def monte_carlo(batches: int, samples: int) -> float:
    return mean(estimate_pi.map(samples, range(batches)))


# 2. Electrons inside a hand-written flow.
@ct.electron(executor="local")
def tokenize(text: str) -> list[str]:
    return text.lower().split()


@ct.electron(executor="dask")
def count(words: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    return counts


@flow
def word_counts(texts: list[str]) -> dict[str, int]:
    words = tokenize(texts[0])                        # a task run; blocks like a task call
    more = cp.task(tokenize).map(texts[1:])           # parallel task runs, as futures
    per_text = cp.task(count).map([words, *more.result()])
    total: dict[str, int] = {}
    for counts in per_text.result():
        for word, n in counts.items():
            total[word] = total.get(word, 0) + n
    return total


# 3. A lattice as a flow: one task run per electron.
@ct.electron(executor="local")
def square(x: int) -> int:
    return x * x


@ct.electron(executor="local")
def total(values: list[int]) -> int:
    return sum(values)


@ct.lattice
def sum_of_squares(n: int) -> int:
    return total([square(i) for i in range(n)])


if __name__ == "__main__":
    print("pi ~", round(monte_carlo(8, 20_000), 3))
    print(word_counts(["the cat sat", "the dog sat", "a cat and a dog"]))
    print("sum of squares below 10:", cp.to_flow(sum_of_squares)(10))
