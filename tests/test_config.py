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


def test_entry_point_plugin_with_covalent_module_convention(tmp_path, monkeypatch):
    """A plugin installed as a distribution: found by entry point, defaults merged."""
    site = tmp_path / "site"
    pkg = site / "covalent_echo_plugin"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "echo.py").write_text(textwrap.dedent("""
        from covalent_core.executor import BaseExecutor

        executor_plugin_name = "EchoExecutor"
        _EXECUTOR_PLUGIN_DEFAULTS = {"prefix": "echo:"}

        class EchoExecutor(BaseExecutor):
            def __init__(self, prefix="", **kwargs):
                super().__init__(**kwargs)
                self.prefix = prefix

            def run(self, function, args, kwargs, task_metadata):
                return self.prefix + str(function(*args, **kwargs))
    """))
    dist = site / "covalent_echo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: covalent-echo-plugin\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[covalent_core.executors]\necho = covalent_echo_plugin.echo\n")
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
