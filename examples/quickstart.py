"""Quickstart: a real workflow on the embedded default.

Runs on the standalone dispatcher in this process: electrons without an executor go to
a local Dask cluster the dispatcher starts, `executor="local"` ones to worker
processes, and every state change lands in SQLite under the data dir
(`covalent-core config show dispatcher.data_dir`).

    python examples/quickstart.py            # or: bash scripts/quickstart.sh
    covalent-core list                       # afterwards, from any shell
"""

import covalent_core as ct


@ct.electron
def add(x, y):
    return x + y


@ct.electron(executor="local")
def mul(x, y):
    return x * y


@ct.electron
def estimate_pi(samples: int, seed: int) -> float:
    """One Monte Carlo batch; many run side by side on the Dask workers."""
    import random

    rng = random.Random(seed)
    inside = sum(1 for _ in range(samples) if rng.random() ** 2 + rng.random() ** 2 <= 1)
    print(f"batch {seed}: {inside}/{samples} inside the quarter circle")
    return 4 * inside / samples


@ct.electron(executor="local")
def mean(values: list) -> float:
    return sum(values) / len(values)


@ct.lattice
def workflow(x, y, batches=8, samples=20_000):
    pi = mean([estimate_pi(samples, seed) for seed in range(batches)])
    return {"arithmetic": mul(add(x, y), y), "pi": pi}


if __name__ == "__main__":
    dispatch_id = ct.dispatch(workflow)(1, 2)
    print(f"dispatched {dispatch_id}; waiting for it...")
    result = ct.get_result(dispatch_id, wait=True)
    print(result)
    assert result.status == ct.status.COMPLETED, result.error
    assert result.result["arithmetic"] == 6
    assert abs(result.result["pi"] - 3.14159) < 0.1
    first_batch = next(n for n in result.get_all_node_results() if n["node_name"] == "estimate_pi")
    print("stdout of the first batch:", first_batch["stdout"].strip())
