"""Options: command line beats environment beats config file; clear errors for bad values."""

import pytest

from satchel.config import Option, resolve
from satchel.errors import ConfigError

OPTIONS = {
    "port": Option("port", default=3141, type=int),
    "storage": Option("storage", default="sqlite"),
    "absolute-urls": Option("absolute-urls", flag=True, default=False),
}


def test_defaults():
    config = resolve(OPTIONS, {}, environ={})
    assert config.port == 3141 and config.storage == "sqlite" and config.absolute_urls is False
    assert config.sources["port"] == "default"


def test_precedence(tmp_path):
    configfile = tmp_path / "satchel.toml"
    configfile.write_text('port = 1000\nstorage = "memory"\nabsolute_urls = true\n')
    from_file = resolve(OPTIONS, {}, environ={}, configfile=configfile)
    assert (from_file.port, from_file.storage, from_file.absolute_urls) == (1000, "memory", True)
    from_env = resolve(OPTIONS, {}, environ={"SATCHEL_PORT": "2000"}, configfile=configfile)
    assert from_env.port == 2000 and from_env.storage == "memory"
    from_cli = resolve(OPTIONS, {"port": 3000}, environ={"SATCHEL_PORT": "2000"}, configfile=configfile)
    assert from_cli.port == 3000
    assert from_cli.sources["port"] == "command line"


def test_configfile_from_environment_and_table(tmp_path):
    configfile = tmp_path / "c.toml"
    configfile.write_text('[satchel]\nabsolute-urls = "yes"\n')
    config = resolve(OPTIONS, {}, environ={"SATCHEL_CONFIGFILE": str(configfile)})
    assert config.absolute_urls is True


@pytest.mark.parametrize("environ, message", [
    ({"SATCHEL_PORT": "abc"}, "invalid value 'abc' for port from environment variable SATCHEL_PORT"),
    ({"SATCHEL_ABSOLUTE_URLS": "maybe"}, "invalid value 'maybe' for absolute-urls"),
])
def test_bad_values(environ, message):
    with pytest.raises(ConfigError, match=message):
        resolve(OPTIONS, {}, environ=environ)


def test_bad_config_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(OPTIONS, {}, environ={}, configfile=tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("port = = 1")
    with pytest.raises(ConfigError, match="cannot read config file"):
        resolve(OPTIONS, {}, environ={}, configfile=broken)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("colour = 'blue'")
    with pytest.raises(ConfigError, match="unknown option.*colour"):
        resolve(OPTIONS, {}, environ={}, configfile=unknown)
