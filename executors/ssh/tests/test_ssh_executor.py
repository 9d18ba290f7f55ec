"""SSHExecutor against a real OpenSSH server on 127.0.0.1 (the "remote" runs this venv's Python)."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from covalent_ssh import SSHExecutor
from covalent_testing.sshd import SSHServer, sshd

import covalent_core as ct
from covalent_core.errors import ExecutorConfigError
from covalent_core.remote.package import TaskPackage


def _log_count(server: SSHServer, needle: str) -> int:
    return server.log.read_text(errors="replace").count(needle)


def test_many_electrons_share_one_connection_and_streams_reach_the_result(tmp_path: Path):
    with sshd(tmp_path / "own-sshd") as server:
        executor = ct.executor.SSHExecutor(
            **server.executor_options(), python_path=sys.executable,
            remote_workdir=str(tmp_path / "remote"), poll_freq=0.1,
        )

        @ct.electron(executor=executor)
        def square(x):
            import sys

            print(f"squaring {x}")
            print(f"stderr of {x}", file=sys.stderr)
            return x * x

        @ct.electron(executor=executor)
        def total(values):
            return sum(values)

        @ct.lattice
        def workflow(n):
            return total([square(i) for i in range(n)])

        result = ct.dispatch_sync(workflow)(12)
        assert result.status == "COMPLETED", result.error
        assert result.result == sum(i * i for i in range(12))
        squares = [n for n in result.get_all_node_results() if n["node_name"] == "square"]
        assert len(squares) == 12
        for node in squares:
            x = node["output"] ** 0.5
            assert node["stdout"] == f"squaring {int(x)}\n"
            assert node["stderr"] == f"stderr of {int(x)}\n"
            handle = node["job_handle"]
            assert handle["host"] == "127.0.0.1" and handle["port"] == server.port
            assert handle["pid"] > 0
        # 13 electrons, one connection: sshd accepted our key exactly once.
        assert _log_count(server, "Accepted publickey") == 1
        # do_cleanup (the default) removed every job directory after fetching it.
        assert list((tmp_path / "remote" / ".covalent-jobs").iterdir()) == []


def test_one_status_command_per_poll_round_for_all_jobs(sshd_server: SSHServer, tmp_path: Path):
    executor = SSHExecutor(**sshd_server.executor_options(), python_path=sys.executable,
                           remote_workdir=str(tmp_path / "remote"), poll_freq=0.1)

    def double(x):
        return 2 * x

    async def scenario() -> tuple[list, int, list]:
        handles = await asyncio.gather(*(
            executor.submit(TaskPackage(double, [i], {}, {"dispatch_id": "d", "node_id": i}))
            for i in range(6)
        ))
        await asyncio.gather(*(executor.wait_for_job(h) for h in handles))
        before = _log_count(sshd_server, "Starting session: command")
        states = await executor.poll(list(handles))
        commands = _log_count(sshd_server, "Starting session: command") - before
        outcomes = [await executor.fetch(h) for h in handles]
        return states, commands, outcomes

    states, commands, outcomes = asyncio.run(scenario())
    assert [s.status for s in states] == ["COMPLETED"] * 6
    assert commands == 1
    assert [o.value for o in outcomes] == [0, 2, 4, 6, 8, 10]


def test_executor_by_name_with_config_defaults(sshd_server: SSHServer, tmp_path: Path):
    options = {**sshd_server.executor_options(), "python_path": sys.executable,
               "remote_workdir": str(tmp_path / "by-name"), "poll_freq": 0.1,
               "create_unique_workdir": True}
    ct.set_config({f"executors.ssh.{key}": value for key, value in options.items()})
    assert ct.get_config("executors.ssh.known_hosts") == str(sshd_server.known_hosts)

    @ct.electron(executor="ssh")
    def where():
        import os

        return os.getcwd()

    @ct.lattice
    def workflow():
        return where()

    result = ct.dispatch_sync(workflow)()
    assert result.status == "COMPLETED", result.error
    # create_unique_workdir: the task ran in <remote_workdir>/<dispatch_id>/node_<id>.
    assert result.result == str(tmp_path / "by-name" / result.dispatch_id / "node_0")
    assert result.get_node_result(0)["executor"] == "ssh"


def test_remote_traceback_and_output_of_a_failing_task(sshd_server: SSHServer, tmp_path: Path):
    executor = SSHExecutor(**sshd_server.executor_options(), python_path=sys.executable,
                           remote_workdir=str(tmp_path / "remote"), poll_freq=0.1)

    @ct.electron(executor=executor)
    def explode(x):
        print("about to fail")
        raise ValueError(f"bad value {x}")

    @ct.lattice
    def workflow():
        return explode(7)

    result = ct.dispatch_sync(workflow)()
    assert result.status == "FAILED"
    node = result.get_node_result(0)
    assert node["status"] == "FAILED"
    assert "ValueError: bad value 7" in node["error"]
    assert "in explode" in node["traceback"] and 'raise ValueError(f"bad value {x}")' in \
        node["traceback"]
    assert node["stdout"] == "about to fail\n"


def test_secrets_never_reach_to_dict_pickles_the_store_or_logs(tmp_path: Path, caplog):
    """An encrypted client key: the passphrase is used to connect and written nowhere."""
    passphrase = "correct-horse-battery-staple"
    with sshd(tmp_path / "sshd") as server:
        key = tmp_path / "encrypted_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(key)],
                       check=True)
        (server.directory / "authorized_keys").write_text((tmp_path / "encrypted_key.pub")
                                                           .read_text())
        executor = SSHExecutor(**{**server.executor_options(), "ssh_key_file": str(key)},
                               passphrase=passphrase, python_path=sys.executable,
                               remote_workdir=str(tmp_path / "remote"), poll_freq=0.1)
        assert "passphrase" not in executor.to_dict()["attributes"]
        assert passphrase.encode() not in pickle.dumps(executor)
        assert passphrase not in repr(executor.__dict__)

        @ct.electron(executor=executor)
        def hello():
            return "hi"

        @ct.lattice
        def workflow():
            return hello()

        with caplog.at_level("DEBUG"):
            result = ct.dispatch_sync(workflow)()
        assert result.status == "COMPLETED", result.error
        assert passphrase not in caplog.text
        for path in (tmp_path / "data").rglob("*"):
            if path.is_file():
                assert passphrase.encode() not in path.read_bytes(), path


def test_host_keys_are_verified_unless_explicitly_turned_off(sshd_server: SSHServer,
                                                             tmp_path: Path, caplog):
    wrong = tmp_path / "known_hosts"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")],
                   check=True)
    wrong.write_text(f"[127.0.0.1]:{sshd_server.port} "
                     + " ".join((tmp_path / "k.pub").read_text().split()[:2]) + "\n")
    base = {**sshd_server.executor_options(), "python_path": sys.executable,
            "remote_workdir": str(tmp_path / "remote"), "poll_freq": 0.1}

    def run_with(**overrides) -> ct.Result:
        @ct.electron(executor=SSHExecutor(**{**base, **overrides}))
        def hello():
            return "hi"

        @ct.lattice
        def workflow():
            return hello()

        return ct.dispatch_sync(workflow)()

    # known_hosts holds another key for this host: refused, and the error says why.
    bad = run_with(known_hosts=str(wrong))
    assert bad.status == "FAILED"
    assert "host key" in bad.error and str(wrong) in bad.error

    missing = run_with(known_hosts=str(tmp_path / "nope"))
    assert "known_hosts file" in missing.error and "ssh-keyscan" in missing.error

    with caplog.at_level("WARNING"):
        ok = run_with(known_hosts=str(wrong), verify_host_key=False)
    assert ok.status == "COMPLETED", ok.error
    assert "host key checking is OFF" in caplog.text


def test_missing_hostname_is_a_clear_config_error():
    with pytest.raises(ValueError, match="hostname is required"):
        SSHExecutor(username="me")
    # Covalent's remote_dir is an alias of remote_workdir.
    aliased = SSHExecutor(hostname="h", remote_dir="/scratch/me")
    assert aliased.remote_workdir == aliased.remote_dir == "/scratch/me"
    assert aliased.to_dict()["attributes"]["remote_workdir"] == "/scratch/me"

    @ct.electron(executor="ssh")
    def hello():
        return "hi"

    @ct.lattice
    def workflow():
        return hello()

    # Nothing is submitted: the dispatch itself is refused, naming the config section.
    with pytest.raises(ExecutorConfigError, match=r"executors\.ssh.*hostname is required"):
        ct.dispatch_sync(workflow)()
