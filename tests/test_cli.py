"""The covalent-core command, run as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import covalent_core as ct

WORKFLOW = textwrap.dedent("""
    import covalent_core as ct

    @ct.electron
    def add(x, y):
        return x + y

    @ct.electron(executor="local")
    def mul(x, y):
        return x * y

    @ct.lattice
    def workflow(x, y):
        return mul(add(x, y), y)

    if __name__ == "__main__":
        raise SystemExit("the CLI must not run the file's main block")
""")


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "covalent_core.cli", *args],
                          capture_output=True, text=True, timeout=120, check=check,
                          env=_env())


def _env():
    import os

    return {**os.environ, "COLUMNS": "200"}


def test_run_list_show_and_config(tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(WORKFLOW)
    run = cli("run", str(script), "1", "--kw", "y=2")
    assert "COMPLETED" in run.stdout and "\n6\n" in run.stdout
    dispatch_id = run.stdout.split("dispatch id: ")[1].split()[0]

    listing = cli("list").stdout
    assert dispatch_id in listing and "workflow" in listing and "COMPLETED" in listing

    shown = cli("show", dispatch_id, "--graph").stdout
    assert "mul" in shown and "add" in shown and "<- add(0) as 0" in shown
    assert ct.get_result(dispatch_id).result == 6

    cli("config", "set", "dispatcher.dask_workers", "3")
    assert json.loads(cli("config", "show", "dispatcher.dask_workers").stdout) == 3
    bad = cli("config", "set", "dispatcher.dask_workers", "0", check=False)
    assert bad.returncode == 1 and "dispatcher.dask_workers" in bad.stdout
    shadowed = cli("config", "set", "dispatcher.retry_backoff", "2.5").stdout
    assert "COVALENT_CORE_DISPATCHER__RETRY_BACKOFF overrides" in shadowed


def test_executors_and_errors(tmp_path):
    listing = cli("executors").stdout
    assert "local" in listing and "covalent_core.executor.local.LocalExecutor" in listing
    missing = cli("show", "no-such-id", check=False)
    assert missing.returncode == 1 and "no dispatch 'no-such-id'" in missing.stdout


def test_cancel_and_resume_from_the_cli(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(textwrap.dedent("""
        import covalent_core as ct

        @ct.electron(executor="local")
        def nap(s):
            import time
            time.sleep(s)
            return s

        @ct.lattice
        def workflow(s):
            return nap(s)
    """))
    run = cli("run", str(script), "0.2", "--no-wait")
    dispatch_id = run.stdout.split("dispatch id: ")[1].split()[0]
    # --no-wait still finishes the dispatch before the process exits (wait_at_exit).
    assert ct.get_result(dispatch_id, wait=True, timeout=60).result == 0.2
    assert "already ended COMPLETED; nothing to cancel" in cli("cancel", dispatch_id).stdout
    resumed = cli("resume", dispatch_id)
    assert resumed.returncode == 0 and "COMPLETED" in resumed.stdout


def test_config_show_and_set_never_print_a_secret(isolated):
    passphrase, client_secret = "correct-horse-battery-staple", "azure-client-secret-7Q~x"
    (isolated / "covalent_core.toml").write_text(textwrap.dedent(f"""
        [executors.ssh]
        hostname = "login.example.org"
        ssh_key_passphrase = "{passphrase}"
        verify_host_key = true

        [executors.azurebatch]
        client_id = "covalent-app"
        client_secret = "{client_secret}"
    """))
    shown = json.loads(cli("config", "show").stdout)["executors"]
    assert shown["ssh"] == {"hostname": "login.example.org", "ssh_key_passphrase": "********",
                            "verify_host_key": True}
    assert shown["azurebatch"] == {"client_id": "covalent-app", "client_secret": "********"}
    assert cli("config", "show", "executors.azurebatch.client_secret").stdout.strip() == \
        '"********"'

    written = cli("config", "set", "executors.ssh.ssh_key_passphrase", "new-passphrase-42")
    assert "new-passphrase-42" not in written.stdout and "'********'" in written.stdout
    ct.reload_config()
    assert ct.get_config("executors.ssh.ssh_key_passphrase") == "new-passphrase-42"
    printed = cli("config", "show").stdout
    for secret in (passphrase, client_secret, "new-passphrase-42"):
        assert secret not in printed
