"""Options from the command line, ``SATCHEL_*`` environment variables and a TOML file.

Precedence: command line > environment > config file > default. Each option belongs to the subcommands
that name it in ``commands``, or to every subcommand that works on a serverdir (server-wide).
"""

import os
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from satchel.errors import ConfigError
from satchel.model.coerce import to_bool


@dataclass
class Option:
    """One option; ``name`` is the long name without dashes, e.g. ``outside-url``.

    ``commands``: the subcommands it belongs to (``("serve", "init")``); None for a server-wide option.
    """

    name: str
    help: str = ""
    default: Any = None
    type: Callable[[Any], Any] = str
    flag: bool = False
    metavar: str | None = None
    choices: tuple | None = None
    commands: tuple[str, ...] | None = None

    @property
    def server_wide(self) -> bool:
        return self.commands is None

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def env(self) -> str:
        return "SATCHEL_" + self.dest.upper()

    def coerce(self, value: Any, source: str) -> Any:
        try:
            value = to_bool(value, ValueError) if self.flag else self.type(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid value {value!r} for {self.name} from {source}: {exc}") from None
        if self.choices is not None and value not in self.choices:
            raise ConfigError(
                f"invalid value {value!r} for {self.name} from {source} "
                f"(choose from {', '.join(map(str, self.choices))})")
        return value


class OptionParser:
    """What ``satchel_add_options(parser)`` receives."""

    def __init__(self):
        self.options: dict[str, Option] = {}

    def add_option(self, name: str, commands=None, **kwargs) -> Option:
        """Declare ``--name``; ``commands`` names the subcommands it belongs to (None: server-wide)."""
        name = name.lstrip("-")
        if name in self.options:
            raise ConfigError(f"option --{name} declared twice")
        if isinstance(commands, str):
            commands = (commands,)
        if commands is not None:
            commands = tuple(commands)
            if not commands or not all(isinstance(command, str) and command for command in commands):
                raise ConfigError(f"option --{name}: commands must name subcommands, or be None (server-wide)")
        option = self.options[name] = Option(name, commands=commands, **kwargs)
        return option


def collect_options(pluginmanager) -> OptionParser:
    """Every option the loaded plugins declare."""
    parser = OptionParser()
    pluginmanager.hook.satchel_add_options(parser=parser)
    return parser


def default_serverdir() -> Path:
    return Path(platformdirs.user_data_dir("satchel", appauthor=False)) / "server"


class Config:
    """Resolved option values, readable as attributes (``config.outside_url``)."""

    def __init__(self, values: dict[str, Any], sources: dict[str, str] | None = None, argv=()):
        self._values = values
        self.sources = sources or {}
        self.argv = tuple(argv)  # the command line (subcommand first), for a command starting copies of itself

    def __getattr__(self, dest: str) -> Any:
        try:
            return self._values[dest]
        except KeyError:
            raise AttributeError(dest) from None

    def get(self, dest: str, default: Any = None) -> Any:
        return self._values.get(dest, default)

    def with_values(self, **values: Any) -> "Config":
        """A copy with extra values (e.g. a command's positional arguments)."""
        sources = {**self.sources, **{key: "command line" for key in values}}
        return Config({**self._values, **values}, sources, self.argv)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    @property
    def serverdir(self) -> Path:
        value = self._values.get("serverdir")
        return Path(value).expanduser() if value else default_serverdir()


def read_config_file(path: Path) -> dict[str, Any]:
    """Top-level keys or a ``[satchel]`` table; dashes and underscores are equivalent."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    if isinstance(data.get("satchel"), dict):
        data = data["satchel"]
    return {key.replace("_", "-"): value for key, value in data.items()}


def resolve(options: Mapping[str, Option], cli_values: Mapping[str, Any],
            environ: Mapping[str, str] = os.environ, configfile: str | Path | None = None,
            applicable: Collection[str] | None = None) -> Config:
    """Merge the sources; ``cli_values`` holds only options given on the command line (by dest).

    ``applicable``: names of the options the running subcommand takes (None: all). The others keep
    their defaults, so an environment variable or a config-file key meant for another subcommand is
    ignored, not an error; a key no loaded plugin declares still is.
    """
    configfile = configfile or cli_values.get("configfile") or environ.get("SATCHEL_CONFIGFILE")
    file_values = read_config_file(Path(configfile)) if configfile else {}
    unknown = sorted(set(file_values) - set(options) - {"configfile"})
    if unknown:
        raise ConfigError(f"unknown option(s) in config file {configfile}: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in options.values():
        if applicable is not None and option.name not in applicable:
            values[option.dest], sources[option.dest] = option.default, "default"
            continue
        if option.dest in cli_values:
            value, source = cli_values[option.dest], "command line"
        elif option.env in environ:
            value, source = environ[option.env], f"environment variable {option.env}"
        elif option.name in file_values:
            value, source = file_values[option.name], f"config file {configfile}"
        else:
            values[option.dest], sources[option.dest] = option.default, "default"
            continue
        values[option.dest] = option.coerce(value, source)
        sources[option.dest] = source
    return Config(values, sources)
