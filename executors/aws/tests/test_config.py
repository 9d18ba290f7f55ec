"""Names, config defaults, secrets and the errors that name the parameter to fix."""

from __future__ import annotations

import pickle

import pytest
from aws_cases import awslambda, batch, ecs
from covalent_aws.errors import AWSExecutorError
from covalent_testing.aws import inject_errors

import covalent_core as ct
from covalent_core.executor import registry

SECRET = "wJalrXUtnFEMI-not-a-real-secret"


def _one_task(ex):
    @ct.electron(executor=ex)
    def one():
        return 1

    @ct.lattice
    def workflow():
        return one()

    return ct.dispatch_sync(workflow)()


@pytest.mark.parametrize("name, cls", [
    ("awsbatch", "AWSBatchExecutor"), ("ecs", "ECSExecutor"),
    ("awslambda", "AWSLambdaExecutor"), ("ec2", "EC2Executor"), ("braket", "BraketExecutor"),
])
def test_executors_register_under_covalent_names(name, cls):
    assert registry.load_class(name).__name__ == cls
    assert getattr(ct.executor, cls) is registry.load_class(name)


def test_executor_by_name_takes_its_config_section(infra, monkeypatch):
    settings = {"s3_bucket_name": infra["bucket"], "batch_queue": infra["queue"],
                "container_image_uri": "covalent-aws:test", "poll_freq": "0.2"}
    for key, value in settings.items():
        monkeypatch.setenv(f"COVALENT_CORE_EXECUTORS__AWSBATCH__{key.upper()}", value)
    ct.reload_config()
    assert ct.get_config("executors.awsbatch.batch_job_log_group_name") == \
        "covalent-batch-job-logs"

    @ct.electron(executor="awsbatch")
    def where():
        import os

        return os.environ["AWS_BATCH_JOB_ID"] != ""

    @ct.lattice
    def workflow():
        return where()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result is True
    assert result.get_node_result(0)["executor"] == "awsbatch"


def test_explicit_keys_are_secrets_everywhere(infra, peer):
    ex = batch(infra, None, None, aws_access_key_id="AKIATESTKEY",
               aws_secret_access_key=SECRET, aws_session_token=SECRET + "-token")
    described = repr(ex.to_dict()) + repr(pickle.dumps(ex))
    assert SECRET not in described and "AKIATESTKEY" not in described
    result = _one_task(ex)
    assert result.status == "COMPLETED", result.error
    stored = repr([result.get_node_result(n) for n in result.node_ids])
    s3 = peer.client("s3")
    listed = s3.list_objects_v2(Bucket=infra["bucket"], Prefix=f"covalent/{result.dispatch_id}/")
    for obj in listed["Contents"]:
        stored += repr(s3.get_object(Bucket=infra["bucket"], Key=obj["Key"])["Body"].read())
    stored += peer.log.read_text(errors="replace")
    assert SECRET not in stored


@pytest.mark.parametrize("build, change, named", [
    (batch, {"batch_queue": "no-such-queue"}, "batch_queue 'no-such-queue'"),
    (batch, {"s3_bucket_name": "no-such-bucket"}, "s3_bucket_name 'no-such-bucket'"),
    (batch, {"batch_job_role_name": "NoSuchRole"}, "batch_job_role_name"),
    (batch, {"container_image_uri": ""}, "container_image_uri"),
    (ecs, {"ecs_cluster_name": "no-such-cluster"}, "ecs_cluster_name 'no-such-cluster'"),
    (ecs, {"ecs_task_subnet_id": ""}, "ecs_task_subnet_id"),
    (awslambda, {"function_name": "no-such-function"}, "function_name 'no-such-function'"),
], ids=["queue", "bucket", "role", "image", "cluster", "subnet", "function"])
def test_bad_settings_fail_before_submission_naming_the_parameter(infra, peer, build, change,
                                                                  named):
    ex = build(infra, None, None)
    for key, value in change.items():
        setattr(ex, key, value)
    result = _one_task(ex)
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert named in node["error"], node["error"]
    assert node["job_handle"] is None  # nothing was submitted


def test_missing_credentials_say_where_credentials_come_from(infra, monkeypatch, tmp_path):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = _one_task(batch(infra, None, None))
    assert result.status == "FAILED"
    assert "no AWS credentials found" in result.get_node_result(0)["error"]


def test_credentials_file_and_profile_are_used(infra, tmp_path, monkeypatch):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    credentials = tmp_path / "credentials"
    credentials.write_text("[science]\naws_access_key_id = AKIAFILE\n"
                           f"aws_secret_access_key = {SECRET}\n")
    ex = batch(infra, None, None, credentials=str(credentials), profile="science")
    identity = ex.connection.session.get_credentials().get_frozen_credentials()
    assert identity.access_key == "AKIAFILE"
    assert SECRET not in repr(ex.to_dict())


def test_exhausted_throttling_retries_say_what_to_raise(infra):
    """Throttling is injected (botocore hook) on every attempt; the budget runs out."""
    ex = batch(infra, None, None, max_api_attempts=2)
    attempts = inject_errors(ex.client("batch"), "DescribeJobQueues", times=10)
    with pytest.raises(AWSExecutorError, match=r"still throttled after .*max_api_attempts"):
        ex.call("batch", "describe_job_queues", jobQueues=[infra["queue"]])
    assert attempts == ["injected", "injected"]  # max_api_attempts=2: the first try + 1 retry
