"""AWS Batch specifics: one describe_jobs call answers every job in flight."""

from __future__ import annotations

from aws_cases import batch

import covalent_core as ct


def test_one_describe_jobs_call_per_round_for_all_jobs(infra):
    ex = batch(infra, None, None)
    sizes: list[int] = []
    ex.client("batch").meta.events.register(
        "provide-client-params.batch.DescribeJobs",
        lambda params, **_: sizes.append(len(params["jobs"])))

    @ct.electron(executor=ex)
    def square(x):
        return x * x

    @ct.lattice
    def workflow():
        return [square(i) for i in range(8)]

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result == [i * i for i in range(8)]
    assert max(sizes) == 8  # while all eight ran, each round was a single call


def test_job_definition_is_registered_once_and_reused(infra, peer):
    first, second = batch(infra, None, None), batch(infra, None, None)
    first._prepare_once()
    second._prepare_once()
    assert first._job_definition_arn == second._job_definition_arn
    other = batch(infra, None, None, vcpu=4)
    other._prepare_once()
    assert other._job_definition_arn != first._job_definition_arn
