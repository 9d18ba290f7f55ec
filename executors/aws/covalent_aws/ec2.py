"""Amazon EC2: one instance per dispatch, provisioned with boto3, tasks run on it over SSH.

The first task of a dispatch launches an instance (tagged with the dispatch id); the
other tasks of that dispatch, and a resumed dispatch, find it by that tag and reuse it.
Tasks run on it through ``covalent_ssh.SSHExecutor`` (pooled connection, detached jobs,
one status command per round). When the last task of the dispatch ends, the instance
is terminated after ``instance_idle_timeout`` seconds unless another task arrives, and
any still idle when the process exits are terminated then.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from covalent_aws.base import AWSExecutor, spec_tag
from covalent_aws.errors import AWSExecutorError, Hints
from covalent_core.executor.remote import Handle, JobState
from covalent_core.remote.package import Outcome, TaskPackage

executor_plugin_name = "EC2Executor"

_EXECUTOR_PLUGIN_DEFAULTS = {
    "profile": "",
    "credentials_file": "",
    "region": "",
    "ssh_key_file": "~/.ssh/id_rsa",
    "key_name": "",
    "username": "ec2-user",
    "instance_type": "t2.micro",
    "volume_size": 8,
    "ami": "amzn-ami-hvm-*-x86_64-gp2",
    "vpc": "",
    "subnet": "",
    "security_group": "",
    "ssh_cidr": "0.0.0.0/0",
    "python_path": "python3",
    "conda_env": "",
    "remote_workdir": "covalent-workdir",
    "poll_freq": 2.0,
    "instance_idle_timeout": 60,
}

TAG_DISPATCH = "covalent:dispatch_id"
TAG_CONFIG = "covalent:config"
#: Keywords handed to the SSH executor unchanged.
_SSH_OPTIONS = ("port", "known_hosts", "verify_host_key", "cert_file", "passphrase",
                "remote_workdir", "create_unique_workdir", "do_cleanup", "retry_connect",
                "max_connection_attempts", "retry_wait_time", "max_sessions")


@dataclass
class _Instance:
    instance_id: str
    address: str
    users: int = 0
    reaper: asyncio.TimerHandle | None = None


class EC2Executor(AWSExecutor):
    """Run tasks over SSH on an EC2 instance provisioned for the dispatch.

    Args:
        ssh_key_file: Private key to log in with; its ``.pub`` is imported as key pair
            ``key_name`` when that key pair does not exist yet.
        key_name: EC2 key pair name (default: the key file's name without extension).
        username: Login user of the AMI (ec2-user, ubuntu, ...).
        instance_type, volume_size: Instance type and root volume size in GiB.
        ami: An AMI id, or a name pattern looked up among Amazon's images (newest wins).
        vpc, subnet: Where to launch (default: the default VPC's default subnet).
        security_group: Group id to use; empty creates one that allows SSH from ssh_cidr.
        python_path, conda_env: The interpreter on the instance (needs covalent-core).
        user_data: Boot script (install Python and covalent-core on a bare AMI).
        instance_idle_timeout: Seconds an instance waits for another task of its dispatch
            before it is terminated.
        boot_timeout: Seconds to wait for the instance to run and accept SSH.
        port, known_hosts, verify_host_key, ...: passed to covalent_ssh.SSHExecutor.
        profile, credentials_file, region, endpoint_url: Where and as whom to call AWS.
    """

    def __init__(
        self,
        ssh_key_file: str = "~/.ssh/id_rsa",
        key_name: str = "",
        username: str = "ec2-user",
        instance_type: str = "t2.micro",
        volume_size: int = 8,
        ami: str = _EXECUTOR_PLUGIN_DEFAULTS["ami"],
        vpc: str = "",
        subnet: str = "",
        security_group: str = "",
        ssh_cidr: str = "0.0.0.0/0",
        python_path: str = "python3",
        conda_env: str = "",
        user_data: str = "",
        instance_idle_timeout: float = 60,
        boot_timeout: float = 300,
        poll_freq: float = 2.0,
        credentials_file: str = "",
        hostname: str = "",
        **kwargs: Any,
    ) -> None:
        ssh_options = {k: kwargs.pop(k) for k in _SSH_OPTIONS if k in kwargs}
        kwargs.setdefault("credentials", credentials_file)
        super().__init__(poll_freq=poll_freq, **kwargs)
        del hostname  # Covalent's EC2 plugin accepted it; the instance's address is used.
        self.ssh_key_file = ssh_key_file
        self.key_name = key_name or Path(ssh_key_file).name.split(".")[0]
        self.username = username
        self.instance_type = instance_type
        self.volume_size = volume_size
        self.ami = ami
        self.vpc = vpc
        self.subnet = subnet
        self.security_group = security_group
        self.ssh_cidr = ssh_cidr
        self.python_path = python_path
        self.conda_env = conda_env
        self.user_data = user_data
        self.instance_idle_timeout = instance_idle_timeout
        self.boot_timeout = boot_timeout
        self.ssh_options = {k: v for k, v in ssh_options.items() if k != "passphrase"}
        self._passphrase = ssh_options.get("passphrase")

    def _hints(self) -> Hints:
        return [
            ("keypair", "key_name {key_name!r} must be an EC2 key pair in region {region} "
                        "(or leave it to be imported from ssh_key_file's .pub)"),
            ("ami", "ami {ami!r} must be an AMI id or name pattern available in {region}"),
            ("image", "ami {ami!r} must be an AMI id or name pattern available in {region}"),
            ("instancetype", "instance_type {instance_type!r} is not offered here"),
            ("subnet", "subnet {subnet!r} must be a subnet of vpc {vpc!r}"),
            ("securitygroup", "security_group {security_group!r} must be a group in the VPC"),
            ("instancelimitexceeded", "the account's instance quota is reached: terminate "
                                      "instances or request a higher limit"),
            ("insufficientinstancecapacity", "AWS has no {instance_type} capacity there now: "
                                             "try another instance_type or subnet"),
        ]

    # -- the SSH side --------------------------------------------------------------
    def _ssh(self, address: str) -> Any:
        try:
            from covalent_ssh.ssh import SSHExecutor
        except ImportError:
            raise AWSExecutorError(
                "EC2Executor runs tasks through covalent-ssh: pip install 'covalent-aws[ec2]'"
            ) from None
        executors = self.__dict__.setdefault("_ssh_executors", {})
        if address not in executors:
            executors[address] = SSHExecutor(
                username=self.username, hostname=address, ssh_key_file=self.ssh_key_file,
                python_path=self.python_path, conda_env=self.conda_env,
                poll_freq=self.poll_freq, passphrase=self.__dict__.get("_passphrase"),
                **self.ssh_options,
            )
        return executors[address]

    def _ssh_for(self, handle: Handle) -> Any:
        return self._ssh(handle["host"])

    # -- instances -----------------------------------------------------------------
    def _instances(self) -> dict[str, _Instance]:
        return self.__dict__.setdefault("_by_dispatch", {})

    def _config_tag(self) -> str:
        return spec_tag([self.ami, self.instance_type, self.volume_size, self.subnet,
                         self.key_name, self.username])

    def _dispatch_lock(self, dispatch_id: str) -> asyncio.Lock:
        return self.__dict__.setdefault("_locks", {}).setdefault(dispatch_id, asyncio.Lock())

    async def setup(self, task_metadata: dict[str, Any]) -> None:
        dispatch_id = str(task_metadata.get("dispatch_id", "adhoc"))
        async with self._dispatch_lock(dispatch_id):
            instance = self._instances().get(dispatch_id)
            if instance is None:
                instance = await asyncio.to_thread(self._acquire, dispatch_id)
                self._instances()[dispatch_id] = instance
                _register_reaper(self)
            if instance.reaper is not None:
                instance.reaper.cancel()
                instance.reaper = None
            instance.users += 1

    async def teardown(self, task_metadata: dict[str, Any]) -> None:
        dispatch_id = str(task_metadata.get("dispatch_id", "adhoc"))
        async with self._dispatch_lock(dispatch_id):
            instance = self._instances().get(dispatch_id)
            if instance is None:
                return
            instance.users -= 1
            if instance.users > 0:
                return
            if float(self.instance_idle_timeout) <= 0:
                await self._reap(dispatch_id, locked=True)
            else:
                instance.reaper = asyncio.get_running_loop().call_later(
                    float(self.instance_idle_timeout),
                    lambda: asyncio.ensure_future(self._reap(dispatch_id)))

    async def _reap(self, dispatch_id: str, locked: bool = False) -> None:
        """Terminate the dispatch's instance if no task took it up in the meantime."""
        if not locked:
            async with self._dispatch_lock(dispatch_id):
                return await self._reap(dispatch_id, locked=True)
        instance = self._instances().get(dispatch_id)
        if instance is not None and instance.users <= 0:
            del self._instances()[dispatch_id]
            await asyncio.to_thread(self._terminate, instance.instance_id)

    def _terminate(self, instance_id: str) -> None:
        self.call("ec2", "terminate_instances", InstanceIds=[instance_id])

    def terminate_idle(self) -> None:
        """Terminate every instance no task is using (run at interpreter exit)."""
        for dispatch_id, instance in list(self._instances().items()):
            if instance.users <= 0:
                del self._instances()[dispatch_id]
                self._terminate(instance.instance_id)

    def _acquire(self, dispatch_id: str) -> _Instance:
        """The dispatch's running instance (a resumed dispatch finds it by tag), else a new one."""
        found = self.call("ec2", "describe_instances", Filters=[
            {"Name": f"tag:{TAG_DISPATCH}", "Values": [dispatch_id]},
            {"Name": f"tag:{TAG_CONFIG}", "Values": [self._config_tag()]},
            {"Name": "instance-state-name", "Values": ["pending", "running"]},
        ])
        for reservation in found.get("Reservations", []):
            for described in reservation.get("Instances", []):
                return self._ready(described["InstanceId"])
        return self._ready(self._launch(dispatch_id))

    def _launch(self, dispatch_id: str) -> str:
        params: dict[str, Any] = {
            "ImageId": self._image(),
            "InstanceType": self.instance_type,
            "KeyName": self._key_pair(),
            "MinCount": 1,
            "MaxCount": 1,
            "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {
                "VolumeSize": int(self.volume_size), "VolumeType": "gp3",
                "DeleteOnTermination": True}}],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [
                {"Key": "Name", "Value": f"covalent-{dispatch_id}"},
                {"Key": TAG_DISPATCH, "Value": dispatch_id},
                {"Key": TAG_CONFIG, "Value": self._config_tag()},
            ]}],
            "InstanceInitiatedShutdownBehavior": "terminate",
        }
        interface: dict[str, Any] = {"DeviceIndex": 0, "AssociatePublicIpAddress": True,
                                     "Groups": [self._security_group()]}
        if self.subnet:
            interface["SubnetId"] = self.subnet
        params["NetworkInterfaces"] = [interface]
        if self.user_data:
            params["UserData"] = self.user_data
        answer = self.call("ec2", "run_instances", **params)
        return answer["Instances"][0]["InstanceId"]

    def _image(self) -> str:
        if self.ami.startswith("ami-"):
            return self.ami
        images = self.call("ec2", "describe_images", Owners=["amazon"],
                           Filters=[{"Name": "name", "Values": [self.ami]}])["Images"]
        if not images:
            raise AWSExecutorError(
                f"EC2Executor: no Amazon AMI matches ami {self.ami!r} in region "
                f"{self.region or self.connection.region_name}; set ami to an AMI id or pattern"
            )
        return max(images, key=lambda i: i.get("CreationDate", ""))["ImageId"]

    def _key_pair(self) -> str:
        ec2 = self.client("ec2")
        try:
            ec2.describe_key_pairs(KeyNames=[self.key_name])
            return self.key_name
        except ec2.exceptions.ClientError as exc:
            if "NotFound" not in str(exc):
                raise self._explain(exc, "ec2.describe_key_pairs") from exc
        public = Path(os.path.expanduser(self.ssh_key_file) + ".pub")
        if not public.exists():
            raise AWSExecutorError(
                f"EC2Executor: key pair key_name {self.key_name!r} does not exist and {public} "
                "is missing, so it cannot be imported; create the key pair or set ssh_key_file "
                "to a key whose .pub is next to it"
            )
        self.call("ec2", "import_key_pair", KeyName=self.key_name,
                  PublicKeyMaterial=public.read_bytes())
        return self.key_name

    def _security_group(self) -> str:
        if self.security_group:
            return self.security_group
        vpc = self.vpc
        if not vpc and self.subnet:
            subnets = self.call("ec2", "describe_subnets", SubnetIds=[self.subnet])["Subnets"]
            vpc = subnets[0]["VpcId"]
        if not vpc:
            vpcs = self.call("ec2", "describe_vpcs",
                             Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
            if not vpcs:
                raise AWSExecutorError("EC2Executor: no default VPC here; set vpc and subnet")
            vpc = vpcs[0]["VpcId"]
        name = f"covalent-ssh-{spec_tag([vpc, self.ssh_cidr])}"
        found = self.call("ec2", "describe_security_groups", Filters=[
            {"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc]}])
        if found["SecurityGroups"]:
            return found["SecurityGroups"][0]["GroupId"]
        group = self.call("ec2", "create_security_group", GroupName=name, VpcId=vpc,
                          Description="SSH for covalent EC2Executor")["GroupId"]
        port = int(self.ssh_options.get("port", 22))
        self.call("ec2", "authorize_security_group_ingress", GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": self.ssh_cidr}]}])
        return group

    def _ready(self, instance_id: str) -> _Instance:
        """Wait until the instance runs, has an address and accepts TCP on the SSH port."""
        deadline = time.monotonic() + float(self.boot_timeout)
        port = int(self.ssh_options.get("port", 22))
        while True:
            described = self.call("ec2", "describe_instances", InstanceIds=[instance_id])
            instance = described["Reservations"][0]["Instances"][0]
            state = instance["State"]["Name"]
            address = instance.get("PublicIpAddress") or ""
            if state in ("shutting-down", "terminated", "stopping", "stopped"):
                raise AWSExecutorError(
                    f"EC2Executor: instance {instance_id} is {state} "
                    f"({instance.get('StateReason', {}).get('Message', 'no reason given')})"
                )
            if state == "running" and address and _accepts(address, port):
                return _Instance(instance_id, address)
            if time.monotonic() > deadline:
                raise AWSExecutorError(
                    f"EC2Executor: instance {instance_id} ({state}, address {address or 'none'})"
                    f" did not accept SSH on port {port} within boot_timeout="
                    f"{self.boot_timeout}s; check security_group/ssh_cidr and the subnet's "
                    "route to the internet"
                )
            time.sleep(1.0)

    # -- the remote split, delegated to the SSH executor -------------------------------
    async def submit(self, task: TaskPackage) -> Handle:
        dispatch_id = str(task.metadata.get("dispatch_id", "adhoc"))
        instance = self._instances().get(dispatch_id)
        if instance is None:  # run() outside execute(): no setup happened
            await self.setup(task.metadata)
            instance = self._instances()[dispatch_id]
        handle = await self._ssh(instance.address).submit(task)
        return {**handle, "instance_id": instance.instance_id}

    async def poll(self, handles: list[Handle]) -> list[JobState]:
        by_host: dict[str, list[int]] = {}
        for index, handle in enumerate(handles):
            by_host.setdefault(handle["host"], []).append(index)
        states: list[JobState | None] = [None] * len(handles)

        async def ask(indexes: list[int]) -> None:
            answered = await self._ssh_for(handles[indexes[0]]).poll(
                [handles[i] for i in indexes])
            for i, state in zip(indexes, answered, strict=True):
                states[i] = state

        await asyncio.gather(*(ask(ix) for ix in by_host.values()))
        return [s for s in states if s is not None]

    async def fetch(self, handle: Handle) -> Outcome:
        return await self._ssh_for(handle).fetch(handle)

    async def cancel_job(self, handle: Handle) -> None:
        await self._ssh_for(handle).cancel_job(handle)


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


_live: list[EC2Executor] = []


def _register_reaper(executor: EC2Executor) -> None:
    if not _live:
        atexit.register(lambda: [e.terminate_idle() for e in _live])
    if executor not in _live:
        _live.append(executor)
