"""EC2Executor's instance lifecycle against moto's EC2 (instances reach the session's real sshd)."""

from __future__ import annotations

import time

from aws_cases import ec2

import covalent_core as ct


def _instance_states(peer, instance_ids):
    described = peer.client("ec2").describe_instances(InstanceIds=list(instance_ids))
    return {i["InstanceId"]: i["State"]["Name"]
            for r in described["Reservations"] for i in r["Instances"]}


def test_one_instance_serves_the_dispatch_and_is_terminated_after(infra, tmp_path, sshd_server,
                                                                  peer):
    ex = ec2(infra, tmp_path, sshd_server, instance_idle_timeout=2)

    @ct.electron(executor=ex)
    def host_and_value(i):
        import socket

        return socket.gethostname(), i

    @ct.electron(executor=ex)
    def combine(pairs):
        return sorted(v for _, v in pairs)

    @ct.lattice
    def workflow():
        return combine([host_and_value(i) for i in range(3)])

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    assert result.result == [0, 1, 2]
    instances = {n["job_handle"]["instance_id"] for n in result.get_all_node_results()
                 if n["job_handle"]}
    assert len(instances) == 1  # the dependent task reused it within the idle timeout
    deadline = time.monotonic() + 30
    while _instance_states(peer, instances) != {i: "terminated" for i in instances}:
        assert time.monotonic() < deadline, _instance_states(peer, instances)
        time.sleep(0.2)
    tags = peer.client("ec2").describe_tags(
        Filters=[{"Name": "resource-id", "Values": list(instances)}])["Tags"]
    assert {"covalent:dispatch_id": result.dispatch_id}.items() <= {
        t["Key"]: t["Value"] for t in tags}.items()


def test_key_pair_is_imported_from_the_public_key(infra, tmp_path, sshd_server, peer):
    ex = ec2(infra, tmp_path, sshd_server, key_name=f"covalent-{tmp_path.name}"[:60])

    @ct.electron(executor=ex)
    def one():
        return 1

    @ct.lattice
    def workflow():
        return one()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    pairs = peer.client("ec2").describe_key_pairs(KeyNames=[ex.key_name])["KeyPairs"]
    assert pairs and pairs[0]["KeyName"] == ex.key_name
