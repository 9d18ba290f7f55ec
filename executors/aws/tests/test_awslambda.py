"""AWS Lambda specifics: the function's own timeout."""

from __future__ import annotations

from aws_cases import awslambda

import covalent_core as ct


def test_task_longer_than_the_function_timeout_fails_with_its_log(infra, peer):
    short = peer.lambda_function("covalent-fn-short", timeout=8)
    ex = awslambda({**infra, "function": short}, None, None)

    @ct.electron(executor=ex)
    def too_long():
        import time

        print("started", flush=True)
        time.sleep(60)

    @ct.lattice
    def workflow():
        return too_long()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "the time limit was reached" in node["error"], node["error"]
    assert "/aws/lambda/covalent-fn-short" in node["error"]
    assert "START RequestId" in node["stderr"]
    assert node["stdout"] == "started\n"
