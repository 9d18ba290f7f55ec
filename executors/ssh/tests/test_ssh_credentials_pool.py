"""A pooled connection serves only the credentials it was opened with (real sshd)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from covalent_ssh import SSHExecutor
from covalent_testing.sshd import SSHServer, sshd

import covalent_core as ct

PASSPHRASE = "correct-horse-battery-staple"


def _keygen(path: Path, passphrase: str = "") -> None:
    path.unlink(missing_ok=True)
    Path(f"{path}.pub").unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)],
                   check=True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SSHServer]:
    """An sshd that accepts only ``tmp_path/encrypted_key`` (encrypted with PASSPHRASE)."""
    with sshd(tmp_path / "sshd") as running:
        key = tmp_path / "encrypted_key"
        _keygen(key, PASSPHRASE)
        (running.directory / "authorized_keys").write_text(Path(f"{key}.pub").read_text())
        yield running


def _run_marking(server: SSHServer, tmp_path: Path, marker: Path, **options: object) -> ct.Result:
    """Dispatch one electron that creates ``marker``: the file says whether it ran."""
    executor = SSHExecutor(**{**server.executor_options(),
                              "ssh_key_file": str(tmp_path / "encrypted_key")},
                           python_path=sys.executable, remote_workdir=str(tmp_path / "remote"),
                           poll_freq=0.1, **options)

    @ct.electron(executor=executor)
    def mark() -> str:
        marker.touch()
        return "ran"

    @ct.lattice
    def workflow() -> str:
        return mark()

    return ct.dispatch_sync(workflow)()


def test_a_wrong_passphrase_never_borrows_the_connection_of_the_right_one(
        server: SSHServer, tmp_path: Path):
    right = _run_marking(server, tmp_path, tmp_path / "right", passphrase=PASSPHRASE)
    assert right.status == "COMPLETED", right.error
    assert (tmp_path / "right").exists()

    # Same host, user and key file, on the same event loop, while that connection is up.
    wrong = _run_marking(server, tmp_path, tmp_path / "wrong", passphrase="not-the-passphrase")
    assert wrong.status == "FAILED"
    assert not (tmp_path / "wrong").exists()
    assert f"{server.username}@{server.host}:{server.port}" in wrong.error
    assert "passphrase" in wrong.error and "not-the-passphrase" not in wrong.error


def test_a_key_file_replaced_in_place_is_another_credential(server: SSHServer, tmp_path: Path):
    first = _run_marking(server, tmp_path, tmp_path / "first", passphrase=PASSPHRASE)
    assert first.status == "COMPLETED", first.error

    _keygen(tmp_path / "encrypted_key", PASSPHRASE)  # same path and passphrase, not authorized
    second = _run_marking(server, tmp_path, tmp_path / "second", passphrase=PASSPHRASE)
    assert second.status == "FAILED"
    assert not (tmp_path / "second").exists()
    assert "refused our key" in second.error and server.host in second.error
