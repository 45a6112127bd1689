"""``satchel gen-config [DIR]``: deployment files (nginx, systemd, supervisor, retention) for this server."""

from satchel.commands import Command
from satchel.plugin import hookimpl

from satchel_genconfig.generate import gen_config

__version__ = "0.1.0"


@hookimpl
def satchel_add_options(parser):
    """Add ``--gen-workers N`` (gen-config's own: how many request-only workers to write files for)."""
    parser.add_option("gen-workers", default=0, type=int, metavar="N", commands=("gen-config",),
                      help="request-only workers on the ports after --port: nginx upstream lines and "
                           "satchel-worker@PORT units (default: 0)")


@hookimpl
def satchel_add_commands(commands):
    """Add ``gen-config [DIR]``; it reads the options of ``serve`` to render the files."""
    commands.add("gen-config", Command(
        "write nginx, systemd, supervisor and retention files for this server into DIR "
        "(default: ./gen-config)", gen_config, arguments=("dir",), options_of=("serve",)))
