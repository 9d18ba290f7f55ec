"""A job that dies without an outcome: the node result carries its CloudWatch log.

Braket's job API is emulated by the peer (moto has none; a mock); the container runs.
"""

from __future__ import annotations

import pytest
from aws_cases import CASES

import covalent_core as ct


@pytest.mark.parametrize("case", [c for c in CASES if c.name != "ec2"], ids=lambda c: c.name)
def test_dead_job_reports_its_streams_and_log(case, infra, tmp_path):
    ex = case.build(infra, tmp_path, None)

    @ct.electron(executor=ex)
    def dies():
        import os

        print("last words", flush=True)
        os._exit(9)  # the runner itself dies: no outcome is written

    @ct.lattice
    def workflow():
        return dies()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert "wrote no outcome" in node["error"] and "CloudWatch" in node["error"], node["error"]
    assert "last words" in node["stdout"]
    assert "--- job log" in node["stderr"]
    assert "finished with exit code 9" in node["stderr"]
