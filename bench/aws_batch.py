"""50 trivial electrons on AWSBatchExecutor against moto's server + the compute agent.

Counts every AWS API call (botocore ``before-call`` hooks on the executor's session) and
every poll round, for AWSBatchExecutor and for a named baseline in the same run:
``PerJobPollingBatchExecutor``, which asks ``describe_jobs`` about one job per call the
way Covalent's AWS Batch plugin does. Prints both and their ratios.

    python bench/aws_batch.py [--electrons 50] [--poll-freq 0.5] [--slots 8]

Needs covalent-aws and covalent-testing installed (scripts/suites/aws.sh makes such a
venv: .venvs/aws/bin/python bench/aws_batch.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any


def _isolate(directory: Path) -> None:
    os.environ["COVALENT_CORE_CONFIG"] = str(directory / "covalent_core.toml")
    os.environ["COVALENT_CORE_DISPATCHER__DATA_DIR"] = str(directory / "data")
    os.environ["COVALENT_CORE_DISPATCHER__NO_CLUSTER"] = "true"


def _executors() -> tuple[type, type]:
    from covalent_aws.awsbatch import AWSBatchExecutor

    class PerJobPollingBatchExecutor(AWSBatchExecutor):
        """Baseline: one describe_jobs call per job per round."""

        async def poll(self, handles: list[dict[str, Any]]) -> list[Any]:
            answers = await asyncio.gather(*(super(PerJobPollingBatchExecutor, self).poll([h])
                                             for h in handles))
            return [states[0] for states in answers]

    return AWSBatchExecutor, PerJobPollingBatchExecutor


def run(cls: type, electrons: int, settings: dict[str, Any]) -> dict[str, Any]:
    import covalent_core as ct

    ex = cls(**settings)
    calls: Counter[str] = Counter()
    ex.connection.session.events.register(
        "before-call", lambda model, **_: calls.update([model.name]))
    rounds = [0]
    original_poll = ex.poll

    async def counted_poll(handles: list[dict[str, Any]]) -> list[Any]:
        rounds[0] += 1
        return await original_poll(handles)

    ex.poll = counted_poll  # type: ignore[method-assign]

    @ct.electron(executor=ex)
    def trivial(i: int) -> int:
        return i + 1

    @ct.lattice
    def fan_out(n: int) -> list[int]:
        return [trivial(i) for i in range(n)]

    started = time.perf_counter()
    result = ct.dispatch_sync(fan_out)(electrons)
    seconds = time.perf_counter() - started
    if str(result.status) != "COMPLETED" or result.result != [i + 1 for i in range(electrons)]:
        raise SystemExit(f"{cls.__name__}: dispatch {result.status}: {result.error}")
    return {"name": cls.__name__, "seconds": seconds, "rounds": rounds[0],
            "describe": calls["DescribeJobs"], "total": sum(calls.values()), "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--electrons", type=int, default=50)
    parser.add_argument("--poll-freq", type=float, default=0.5)
    parser.add_argument("--slots", type=int, default=8)
    args = parser.parse_args()
    from covalent_testing.aws import aws_peer

    with tempfile.TemporaryDirectory(prefix="bench-aws-") as tmp:
        directory = Path(tmp)
        _isolate(directory)
        with aws_peer(directory / "aws", slots=args.slots) as peer:
            os.environ.update(peer.client_env())
            for role in ("CovalentBatchJobRole", "ecsTaskExecutionRole"):
                peer.role(role)
            settings = {"s3_bucket_name": peer.bucket("bench-jobs"),
                        "batch_queue": peer.batch_queue("bench-queue"),
                        "container_image_uri": "covalent-aws:bench",
                        "poll_freq": args.poll_freq, "region": "us-east-1"}
            ours, baseline = _executors()
            rows = [run(baseline, args.electrons, settings), run(ours, args.electrons, settings)]
    print(f"{args.electrons} electrons, poll_freq={args.poll_freq}s, {args.slots} agent slots")
    print(f"{'executor':32} {'wall s':>8} {'rounds':>7} {'DescribeJobs':>13} {'per round':>10}"
          f" {'all calls':>10}")
    for row in rows:
        per_round = row["describe"] / max(row["rounds"], 1)
        print(f"{row['name']:32} {row['seconds']:8.1f} {row['rounds']:7d} {row['describe']:13d}"
              f" {per_round:10.2f} {row['total']:10d}")
    base, new = rows
    print(f"ratio baseline/ours: DescribeJobs {base['describe'] / max(new['describe'], 1):.1f}x,"
          f" all calls {base['total'] / max(new['total'], 1):.2f}x,"
          f" wall time {base['seconds'] / new['seconds']:.2f}x")
    print("calls by operation (ours):", dict(sorted(new["calls"].items())))


if __name__ == "__main__":
    main()
