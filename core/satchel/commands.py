"""Core's options and subcommands: ``serve``, ``init``, ``plugins``."""

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

import waitress

from satchel.app import App
from satchel.connections import DEFAULT_CONNECTION_LIMIT, RESERVED_FILES, ensure_open_files
from satchel.config import Config
from satchel.errors import ConfigError
from satchel.plugin import hookimpl
from satchel.pluginmanager import plugin_versions


@dataclass
class Command:
    """A subcommand: ``run(config, pluginmanager) -> exit code``.

    ``arguments`` names optional positional arguments; their values appear on the config.
    ``server``: it works on a serverdir, so it takes the server-wide options (``--serverdir``,
    ``--storage`` ...). ``options_of``: other subcommands whose own options it takes too
    (``gen-config`` takes those of ``serve``, to reproduce its command line).
    """

    help: str
    run: Callable[[Config, object], int]
    arguments: tuple[str, ...] = ()
    server: bool = True
    options_of: tuple[str, ...] = ()


SERVE = ("serve",)
INITIALIZE = ("serve", "init")  # serve initializes an empty serverdir too


@hookimpl
def satchel_add_options(parser):
    """Core's options: serverdir, storage backend, address and threads, public URL, root password."""
    add = parser.add_option
    add("serverdir", default=None, metavar="DIR",
        help="directory of the server's data (default: the platform's user data dir)")
    add("storage", default="sqlite", metavar="NAME[:k=v,...]", help="storage backend (default: sqlite)")
    add("blobs", default="fs", metavar="NAME[:k=v,...]", help="where release files are kept (default: fs)")
    add("host", default="127.0.0.1", commands=SERVE, help="address to listen on (default: 127.0.0.1)")
    add("port", default=3141, type=int, commands=SERVE, help="port to listen on (default: 3141)")
    add("requests-only", flag=True, default=False, commands=SERVE,
        help="answer requests only; the main process (without it) does the background work")
    add("threads", default=8, type=int, commands=SERVE, help="worker threads (default: 8)")
    add("connection-limit", default=DEFAULT_CONNECTION_LIMIT, type=int, commands=SERVE,
        help=f"open client connections at most (default: {DEFAULT_CONNECTION_LIMIT}); the process "
             f"may open this many files plus {RESERVED_FILES}")
    add("outside-url", default=None, metavar="URL", commands=SERVE,
        help="public URL of the server (behind a proxy)")
    add("absolute-urls", flag=True, default=False, commands=SERVE, help="absolute links in simple pages")
    add("root-passwd", default="", metavar="PASSWORD", commands=INITIALIZE,
        help="password of root on initialization")


@hookimpl
def satchel_add_commands(commands):
    """Add ``serve``, ``init`` and ``plugins``."""
    commands.add("serve", Command("run the server (initializes an empty serverdir first)", serve))
    commands.add("init", Command("initialize a new serverdir", init))
    commands.add("plugins", Command("list loaded plugins and the hooks they implement", plugins, server=False))


def serve(config: Config, pluginmanager) -> int:
    """``satchel serve``: initialize an empty serverdir, then answer HTTP until SIGTERM or Ctrl-C."""
    app = App(config, pluginmanager)
    try:
        requests_only = config.get("requests_only")
        if requests_only:
            app.serve_requests_only()
        elif not app.is_initialized() and app.initializes_locally():
            app.initialize(root_password=config.root_passwd)
        ensure_open_files(config.connection_limit)
        try:
            # poll(), not select(): select() fails on descriptors past 1024, i.e. under many connections
            server = waitress.create_server(
                app.wsgi, host=config.host, port=config.port, threads=config.threads,
                connection_limit=config.connection_limit, asyncore_use_poll=True, ident="satchel",
                clear_untrusted_proxy_headers=True)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
        if not requests_only:
            app.start()
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        print(f"satchel serving http://{config.host}:{config.port}/ "
              f"(serverdir {config.serverdir}, storage {app.storage.name}"
              f"{', requests only' if requests_only else ''})", file=sys.stderr, flush=True)
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    finally:
        app.close()
    return 0


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def init(config: Config, pluginmanager) -> int:
    """``satchel init``: initialize an empty serverdir (root user, initial indexes) and exit."""
    with App(config, pluginmanager) as app:
        if not app.initializes_locally():
            print(f"prepared {config.serverdir}; its data comes from elsewhere", file=sys.stderr)
            return 0
        app.initialize(root_password=config.root_passwd)
    print(f"initialized {config.serverdir}", file=sys.stderr)
    return 0


def plugins(config: Config, pluginmanager) -> int:
    """``satchel plugins``: list the loaded plugins with their versions and hooks."""
    for name, version, hooks in plugin_versions(pluginmanager):
        print(f"{name} {version}: {', '.join(hooks) or '-'}")
    return 0
