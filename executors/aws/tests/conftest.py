"""One moto server + compute agent (and one sshd) per session; each test its own core data dir.

The executors under test are built the way a user would, with the peer's resources;
``AWS_ENDPOINT_URL`` and test credentials reach them (and their jobs) through the
environment, the SDK's own chain.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from covalent_testing.aws import AWSPeer, aws_peer

pytest_plugins = ["covalent_testing.sshd"]

_ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("covalent_core_root_conftest",
                                               _ROOT / "tests" / "conftest.py")
_root_conftest = importlib.util.module_from_spec(_spec)  # type: ignore[arg-type]
_spec.loader.exec_module(_root_conftest)  # type: ignore[union-attr]
isolated = _root_conftest.isolated


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
