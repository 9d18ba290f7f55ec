"""One moto server + compute agent (and one sshd) per session; each test its own core data dir.

The executors under test are built the way a user would, with the peer's resources;
``AWS_ENDPOINT_URL`` and test credentials reach them (and their jobs) through the
environment, the SDK's own chain.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from covalent_testing import core_conftest
from covalent_testing.aws import AWSPeer, aws_peer

pytest_plugins = ["covalent_testing.sshd"]

isolated = core_conftest.load(Path(__file__).resolve().parents[3]).isolated


@pytest.fixture(scope="session")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AWSPeer]:
    with aws_peer(tmp_path_factory.mktemp("aws"), slots=6) as running:
        yield running


@pytest.fixture(autouse=True)
def aws_env(peer: AWSPeer, monkeypatch: pytest.MonkeyPatch) -> AWSPeer:
    for key, value in peer.client_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return peer


@pytest.fixture(scope="session")
def infra(peer: AWSPeer) -> dict[str, Any]:
    """What a platform team sets up once: buckets, roles, a queue, a cluster, a function."""
    vpc, subnet, group = peer.network()
    for role in ("CovalentBatchJobRole", "ecsTaskExecutionRole", "CovalentFargateTaskRole",
                 "CovalentBraketJobsExecutionRole"):
        peer.role(role)
    return {
        "bucket": peer.bucket("covalent-jobs"),
        "braket_bucket": peer.bucket("amazon-braket-covalent-jobs"),
        "queue": peer.batch_queue("covalent-queue"),
        "cluster": peer.ecs_cluster("covalent-cluster"),
        "function": peer.lambda_function("covalent-fn", timeout=120),
        "vpc": vpc, "subnet": subnet, "security_group": group,
    }


@pytest.fixture
def python() -> str:
    return sys.executable
