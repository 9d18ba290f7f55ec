"""Config file, environment overrides, validation errors that name the key, plugin defaults."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

import covalent_core as ct
from covalent_core import config
from covalent_core.errors import ConfigError
from covalent_core.executor import registry


def test_defaults_and_env_override(monkeypatch):
    assert ct.get_config("dispatcher.no_cluster") is True  # set by the test env
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__NO_CLUSTER", "false")
    config.reload()
    assert ct.get_config("dispatcher.no_cluster") is False
    assert config.settings().dispatcher.effective_default_executor == "dask"
    assert ct.get_config()["sdk"]["log_level"] == "warning"


def test_set_config_writes_toml_and_validates(isolated):
    ct.set_config("sdk.log_level", "debug")
    ct.set_config({"executors.local.log_stdout": "out.txt"})
    text = Path(os.environ["COVALENT_CORE_CONFIG"]).read_text()
    assert 'log_level = "debug"' in text and "[executors.local]" in text
    assert ct.get_config("executors.local") == {"log_stdout": "out.txt"}
    with pytest.raises(ConfigError, match=r"sdk\.log_level"):
        ct.set_config("sdk.log_level", "loud")
    assert ct.get_config("sdk.log_level") == "debug"  # the bad value was not written


def test_broken_file_errors_name_the_key_and_the_file(isolated):
    path = Path(os.environ["COVALENT_CORE_CONFIG"])
    try:
        path.write_text("[dispatcher]\nlocal_workers = 0\nunknown_key = 1\n")
        with pytest.raises(ConfigError) as err:
            config.reload()
        text = str(err.value)
        assert "dispatcher.local_workers" in text and "dispatcher.unknown_key" in text
        assert str(path) in text and "covalent-core config set" in text
        path.write_text("[dispatcher\n")
        with pytest.raises(ConfigError, match="not valid TOML"):
            config.reload()
    finally:
        path.unlink()
        config.reload()


def test_unknown_key_lookup_is_a_clear_error():
    with pytest.raises(KeyError, match=r"no config key 'dispatcher\.nope'"):
        ct.get_config("dispatcher.nope")


def _install_plugin(site: Path, name: str, source: str, target: str) -> None:
    """A distribution covalent_NAME_plugin in ``site`` (put on sys.path) with module NAME.py,
    registering executor NAME as ``target``."""
    pkg = site / f"covalent_{name}_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / f"{name}.py").write_text(textwrap.dedent(source))
    dist = site / f"covalent_{name}_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: covalent-{name}-plugin\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[covalent_core.executors]\n{name} = {target}\n")


def test_entry_point_plugin_with_covalent_module_convention(tmp_path, monkeypatch):
    """A plugin installed as a distribution: found by entry point, defaults merged."""
    site = tmp_path / "site"
    _install_plugin(site, "echo", """
        from covalent_core.executor import BaseExecutor

        executor_plugin_name = "EchoExecutor"
        _EXECUTOR_PLUGIN_DEFAULTS = {"prefix": "echo:"}

        class EchoExecutor(BaseExecutor):
            def __init__(self, prefix="", **kwargs):
                super().__init__(**kwargs)
                self.prefix = prefix

            def run(self, function, args, kwargs, task_metadata):
                return self.prefix + str(function(*args, **kwargs))
    """, "covalent_echo_plugin.echo")
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    try:
        assert "echo" in registry.available()
        assert ct.get_config("executors.echo") == {"prefix": "echo:"}
        assert ct.executor.EchoExecutor.__name__ == "EchoExecutor"

        @ct.electron(executor="echo")
        def hello():
            return "hi"

        @ct.lattice
        def workflow():
            return hello()

        assert ct.dispatch_sync(workflow)().result == "echo:hi"
        monkeypatch.setenv("COVALENT_CORE_EXECUTORS__ECHO__PREFIX", "env:")
        config.reload()
        assert ct.dispatch_sync(workflow)().result == "env:hi"
    finally:
        sys.modules.pop("covalent_echo_plugin.echo", None)
        sys.modules.pop("covalent_echo_plugin", None)
        registry.refresh()


def test_log_level_applies_to_our_loggers(monkeypatch):
    import logging

    monkeypatch.setenv("COVALENT_CORE_SDK__LOG_LEVEL", "debug")
    config.reload()
    assert logging.getLogger("covalent_core.dispatcher.run").getEffectiveLevel() == logging.DEBUG
    monkeypatch.setenv("COVALENT_CORE_SDK__LOG_LEVEL", "error")
    config.reload()
    assert logging.getLogger("covalent_core").level == logging.ERROR


def test_an_environment_variable_with_a_typo_d_section_is_an_error(monkeypatch):
    from covalent_core import config
    from covalent_core.errors import ConfigError

    monkeypatch.setenv("COVALENT_CORE_DISPATCHR__NO_CLUSTER", "true")
    with pytest.raises(ConfigError, match=r"COVALENT_CORE_DISPATCHR__NO_CLUSTER names no "
                                          r"setting: did you mean COVALENT_CORE_DISPATCHER__"):
        config.reload()
    monkeypatch.delenv("COVALENT_CORE_DISPATCHR__NO_CLUSTER")
    monkeypatch.setenv("COVALENT_CORE_DISPATCHER__NO_SUCH_KEY", "1")
    with pytest.raises(ConfigError, match="no_such_key"):
        config.reload()
    monkeypatch.delenv("COVALENT_CORE_DISPATCHER__NO_SUCH_KEY")  # before the fixture re-reads


def test_secrets_of_installed_executors_are_masked_whatever_their_names(tmp_path, monkeypatch):
    """``SECRET_ATTRIBUTES`` and ``SecretStr`` options of a plugin are masked when shown,
    though nothing in their names says secret; names that do say so are masked anyway."""
    site = tmp_path / "site"
    _install_plugin(site, "vault", """
        from pydantic import SecretStr
        from covalent_core.executor import BaseExecutor

        class VaultExecutor(BaseExecutor):
            SECRET_ATTRIBUTES = frozenset({"cookie"})

            def __init__(self, cookie="", licence: str | SecretStr = "", region="", **kwargs):
                super().__init__(**kwargs)
                self.cookie, self.licence, self.region = cookie, SecretStr(licence), region

            def run(self, function, args, kwargs, task_metadata):
                return function(*args, **kwargs)
    """, "covalent_vault_plugin.vault:VaultExecutor")
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    try:
        ct.set_config({"executors.vault.cookie": "c-0ffee", "executors.vault.licence": "l-42",
                       "executors.vault.region": "eu", "executors.vault.api_token": "t-1",
                       "executors.vault.ssh_key_file": "~/.ssh/id_ed25519"})
        assert config.masked("", ct.get_config())["executors"]["vault"] == {
            "cookie": config.MASK, "licence": config.MASK, "api_token": config.MASK,
            "region": "eu", "ssh_key_file": "~/.ssh/id_ed25519"}
        assert config.masked("executors.vault.cookie", "c-0ffee") == config.MASK
        assert ct.get_config("executors.vault.cookie") == "c-0ffee"  # the API still reads it
    finally:
        sys.modules.pop("covalent_vault_plugin.vault", None)
        sys.modules.pop("covalent_vault_plugin", None)
        registry.refresh()


def test_a_config_error_does_not_print_the_secret_it_quotes(isolated):
    path = Path(os.environ["COVALENT_CORE_CONFIG"])
    path.write_text('[executor.ssh]\npassphrase = "hunter2"\n')  # "executor": a typo
    try:
        with pytest.raises(ConfigError, match=r"executor: Extra inputs") as err:
            config.reload()
        assert "hunter2" not in str(err.value) and config.MASK in str(err.value)
    finally:
        path.unlink()
