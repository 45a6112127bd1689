"""The ``satchel`` command: pre-parse ``--disable-plugin``, build the manager, run a subcommand.

Each subcommand takes only its own options (see ``command_options``); a misplaced one is an error.
"""

import argparse
import logging
import os
import sys

from satchel import __version__
from satchel.config import Option, collect_options, resolve
from satchel.errors import SatchelError
from satchel.pluginmanager import create_pluginmanager, disabled_from_env
from satchel.registry import Registry


def _preparse(argv: list[str]) -> list[str]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--disable-plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    return known.disable_plugin + disabled_from_env()


def command_options(options: dict[str, Option], name: str, command) -> dict[str, Option]:
    """The options subcommand ``name`` takes: server-wide ones when it works on a serverdir, its own,
    and the own options of the subcommands in ``command.options_of``."""
    owners = {name, *getattr(command, "options_of", ())}
    return {key: option for key, option in options.items()
            if (option.server_wide and getattr(command, "server", True)) or owners & set(option.commands or ())}


def _group_title(option: Option, name: str, command) -> str:
    if option.server_wide:
        return "server-wide options"
    if name in option.commands:
        return f"options of {name}"
    others = [other for other in getattr(command, "options_of", ()) if other in option.commands]
    return f"options of {', '.join(others)} (taken here too)"


def _add_option(group, option: Option) -> None:
    kwargs = dict(dest=option.dest, default=argparse.SUPPRESS, help=option.help + f" [env {option.env}]")
    if option.flag:
        group.add_argument(f"--{option.name}", action="store_const", const=True, **kwargs)
    else:
        group.add_argument(f"--{option.name}", metavar=option.metavar or option.dest.upper(), **kwargs)


def _build_parser(options, commands) -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--configfile", default=argparse.SUPPRESS, metavar="FILE",
                        help="TOML config file (keys as the long option names)")
    common.add_argument("--disable-plugin", action="append", default=argparse.SUPPRESS, metavar="NAME",
                        help="do not load the plugin NAME (repeatable; env SATCHEL_DISABLE_PLUGINS)")
    parser = argparse.ArgumentParser(prog="satchel", description="private package index and PyPI cache")
    parser.add_argument("--version", action="version", version=f"satchel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers = {}
    for name, command in commands.items():
        subparser = subparsers[name] = sub.add_parser(
            name, parents=[common], help=command.help, description=command.help)
        for argument in getattr(command, "arguments", ()):
            subparser.add_argument(argument, nargs="?", default=None)
        groups: dict[str, argparse._ArgumentGroup] = {}
        for option in command_options(options, name, command).values():
            title = _group_title(option, name, command)
            if title not in groups:
                groups[title] = subparser.add_argument_group(title)
            _add_option(groups[title], option)
    return parser, subparsers


def _check_extras(extras: list[str], options, commands, name: str, subparser) -> None:
    """A leftover argument is an error; one naming another subcommand's option says whose it is."""
    for extra in extras:
        option = options.get(extra.split("=", 1)[0][2:]) if extra.startswith("--") else None
        if option is not None:
            owners = [other for other, command in commands.items()
                      if option.name in command_options(options, other, command)]
            subparser.error(f"--{option.name} is not an option of '{name}' "
                            f"(it belongs to: {', '.join(owners) or 'no loaded subcommand'})")
    if extras:
        subparser.error(f"unrecognized arguments: {' '.join(extras)}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        pm = create_pluginmanager(disabled=_preparse(argv))
        options = collect_options(pm).options
        commands = Registry("command")
        pm.hook.satchel_add_commands(commands=commands)
        parser, subparsers = _build_parser(options, commands)
        namespace, extras = parser.parse_known_args(argv)
        args = vars(namespace)
        name = args.pop("command")
        if name is None:
            if extras:
                parser.error(f"unrecognized arguments: {' '.join(extras)}")
            parser.print_help()
            return 2
        _check_extras(extras, options, commands, name, subparsers[name])
        args.pop("disable_plugin", None)
        command = commands.get(name)
        positional = {argument: args.pop(argument, None) for argument in getattr(command, "arguments", ())}
        config = resolve(options, args, environ=os.environ,
                         applicable=command_options(options, name, command)).with_values(**positional)
        config.argv = tuple(argv)
        pm.hook.satchel_configure(config=config)
        return command.run(config, pm)
    except SatchelError as exc:
        print(f"satchel: error: {exc.message}", file=sys.stderr)
        return 2
