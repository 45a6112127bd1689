"""The ``satchel`` command: pre-parse ``--disable-plugin``, build the manager, run a subcommand."""

import argparse
import logging
import os
import sys

from satchel import __version__
from satchel.config import collect_options, resolve
from satchel.errors import SatchelError
from satchel.pluginmanager import create_pluginmanager, disabled_from_env
from satchel.registry import Registry


def _preparse(argv: list[str]) -> list[str]:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--disable-plugin", action="append", default=[])
    known, _ = pre.parse_known_args(argv)
    return known.disable_plugin + disabled_from_env()


def _build_parser(options, commands) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--configfile", default=argparse.SUPPRESS, metavar="FILE",
                        help="TOML config file (keys as the long option names)")
    common.add_argument("--disable-plugin", action="append", default=argparse.SUPPRESS, metavar="NAME",
                        help="do not load the plugin NAME (repeatable; env SATCHEL_DISABLE_PLUGINS)")
    for option in options.values():
        kwargs = dict(dest=option.dest, default=argparse.SUPPRESS, help=option.help + f" [env {option.env}]")
        if option.flag:
            common.add_argument(f"--{option.name}", action="store_const", const=True, **kwargs)
        else:
            common.add_argument(f"--{option.name}", metavar=option.metavar or option.dest.upper(), **kwargs)
    parser = argparse.ArgumentParser(prog="satchel", description="private package index and PyPI cache")
    parser.add_argument("--version", action="version", version=f"satchel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in commands.items():
        subparser = sub.add_parser(name, parents=[common], help=command.help, description=command.help)
        for argument in getattr(command, "arguments", ()):
            subparser.add_argument(argument, nargs="?", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        pm = create_pluginmanager(disabled=_preparse(argv))
        options = collect_options(pm).options
        commands = Registry("command")
        pm.hook.satchel_add_commands(commands=commands)
        parser = _build_parser(options, commands)
        args = vars(parser.parse_args(argv))
        name = args.pop("command")
        if name is None:
            parser.print_help()
            return 2
        args.pop("disable_plugin", None)
        command = commands.get(name)
        positional = {argument: args.pop(argument, None) for argument in getattr(command, "arguments", ())}
        config = resolve(options, args, environ=os.environ).with_values(**positional)
        pm.hook.satchel_configure(config=config)
        return command.run(config, pm)
    except SatchelError as exc:
        print(f"satchel: error: {exc.message}", file=sys.stderr)
        return 2
