"""Each subcommand takes its own options (issue 13, point 6): parser level and the real ``satchel`` command."""

import os
import subprocess
import sys

import pytest

from satchel.app import create_app
from satchel.cli import command_options, main
from satchel.config import OptionParser, collect_options, resolve
from satchel.errors import ConfigError
from satchel.model.indexes import list_stages
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry

SERVER_WIDE = {"serverdir", "storage", "role", "primary-url"}
OTHERS_OF_INIT = {"repair", "no-checksum", "hard-links", "from-devpi", "force-import", "include-mirrored-files",
                  "port", "host", "threads", "mirror-admins", "offline-mode", "secretfile", "restrict-modify"}


@pytest.fixture(scope="module")
def declared():
    """``(options, commands)`` of core and the built-in plugins, as ``satchel`` sees them."""
    pm = create_pluginmanager()
    commands = Registry("command")
    pm.hook.satchel_add_commands(commands=commands)
    return collect_options(pm).options, commands


def takes(declared, name) -> set[str]:
    options, commands = declared
    return set(command_options(options, name, commands.get(name)))


def run(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "satchel", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL)


def server_wide(declared) -> set[str]:
    """Options every serverdir subcommand takes: core's and storage plugins' (e.g. a backend's DSN)."""
    options, _ = declared
    names = {option.name for option in options.values() if option.server_wide}
    assert SERVER_WIDE <= names
    return names


def test_each_subcommand_takes_what_applies(declared):
    SERVER_WIDE = server_wide(declared)  # noqa: N806 - core's set plus what storage plugins declare
    assert takes(declared, "init") == SERVER_WIDE | {"root-passwd", "no-root-pypi"}
    assert takes(declared, "fsck") == SERVER_WIDE | {"no-checksum", "repair", "request-timeout", "offline-mode"}
    assert takes(declared, "export") == SERVER_WIDE | {"include-mirrored-files", "hard-links"}
    assert takes(declared, "import") == SERVER_WIDE | {"hard-links", "from-devpi", "force-import"}
    assert takes(declared, "plugins") == set()
    serve = takes(declared, "serve")
    assert {"port", "host", "outside-url", "max-request-body-size", "mirror-admins", "secretfile"} <= serve
    assert not serve & {"repair", "hard-links", "from-devpi", "include-mirrored-files"}
    assert takes(declared, "gen-config") == serve | {"gen-workers"}  # it writes serve's command line


def test_every_option_of_this_repo_has_a_subcommand(declared):
    """A ``commands`` entry naming no subcommand (a typo) would make the option unusable."""
    options, commands = declared
    for option in options.values():
        assert option.server_wide or set(option.commands) <= set(commands), option
        assert any(option.name in command_options(options, name, command) for name, command in commands.items())


def test_add_option_commands_forms():
    parser = OptionParser()
    assert parser.add_option("a", commands="serve").commands == ("serve",)
    assert parser.add_option("b", commands=["export", "import"]).commands == ("export", "import")
    assert parser.add_option("c").server_wide
    for bad in ((), ("",), (3,)):
        with pytest.raises(ConfigError, match="commands must name subcommands"):
            OptionParser().add_option("d", commands=bad)


def test_resolve_ignores_sources_of_other_subcommands(declared, tmp_path):
    options, _ = declared
    configfile = tmp_path / "satchel.toml"
    configfile.write_text('repair = true\nport = 1\nno-root-pypi = true\n')
    environ = {"SATCHEL_HARD_LINKS": "not a boolean", "SATCHEL_ROOT_PASSWD": "pw"}
    config = resolve(options, {}, environ=environ, configfile=configfile, applicable=takes(declared, "init"))
    assert config.no_root_pypi is True and config.sources["no_root_pypi"].startswith("config file")
    assert config.root_passwd == "pw"
    assert (config.repair, config.port, config.hard_links) == (False, 3141, False)
    assert config.sources["repair"] == config.sources["port"] == "default"
    configfile.write_text("colour = 'blue'\n")
    with pytest.raises(ConfigError, match="unknown option.*colour"):
        resolve(options, {}, environ={}, configfile=configfile, applicable=takes(declared, "init"))


def test_misplaced_option_in_process(capsys, tmp_path):
    with pytest.raises(SystemExit) as exited:
        main(["init", "--serverdir", str(tmp_path / "s"), "--repair"])
    assert exited.value.code == 2
    assert "--repair is not an option of 'init' (it belongs to: fsck)" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
    with pytest.raises(SystemExit):
        main(["plugins", "--serverdir", str(tmp_path / "s")])
    assert "--serverdir is not an option of 'plugins' (it belongs to: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["init", "--no-such-thing"])
    assert "unrecognized arguments: --no-such-thing" in capsys.readouterr().err


@pytest.mark.slow
def test_help_lists_only_what_applies():
    init = run("init", "--help")
    assert init.returncode == 0
    for shown in ("--serverdir", "--storage", "--root-passwd", "--no-root-pypi", "server-wide options",
                  "options of init"):
        assert shown in init.stdout
    for hidden in OTHERS_OF_INIT:
        assert f"--{hidden} " not in init.stdout and f"--{hidden}\n" not in init.stdout
    fsck = run("fsck", "--help").stdout
    assert "--repair" in fsck and "--no-checksum" in fsck and "--from-devpi" not in fsck
    assert "--serverdir" not in run("plugins", "--help").stdout


@pytest.mark.slow
def test_misplaced_option_is_a_clear_error(tmp_path):
    serverdir = tmp_path / "s"
    for args, owners in ((["init", "--repair"], "fsck"), (["init", "--from-devpi"], "import"),
                         (["init", "--hard-links"], "export, import"), (["export", "d", "--port", "1"],
                                                                       "gen-config, serve")):
        result = run(*args, "--serverdir", str(serverdir))
        assert result.returncode == 2, result.stderr
        option = next(arg for arg in args if arg.startswith("--"))
        assert f"satchel {args[0]}: error: {option} is not an option of '{args[0]}' (it belongs to: {owners})" \
            in result.stderr
    assert not serverdir.exists()


@pytest.mark.slow
def test_config_file_and_environment_shared_by_subcommands(tmp_path):
    """One file and one environment for every subcommand: keys of other subcommands are ignored."""
    serverdir = tmp_path / "s"
    configfile = tmp_path / "satchel.toml"
    configfile.write_text(f'[satchel]\nserverdir = "{serverdir}"\nno-root-pypi = true\nrepair = true\n'
                          'port = 1\nhard-links = true\n')
    env = {"SATCHEL_PORT": "eighty", "SATCHEL_FROM_DEVPI": "1", "SATCHEL_CONFIGFILE": str(configfile)}
    result = run("init", env=env)
    assert result.returncode == 0, result.stderr
    app = create_app({"serverdir": str(serverdir)}, initialize=False)
    try:
        with app.storage.read() as tx:
            assert list_stages(tx, app, "root") == []  # no-root-pypi from the file reached init
    finally:
        app.close()
    fsck = run("fsck", env=env)  # the same file and environment serve fsck (repair), port is not read
    assert fsck.returncode == 0, fsck.stderr
    bad = run("serve", env=env)  # serve takes --port: the bad environment value is an error there
    assert bad.returncode == 2
    assert "invalid value 'eighty' for port from environment variable SATCHEL_PORT" in bad.stderr
