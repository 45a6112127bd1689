"""Core's options and subcommands: ``serve``, ``init``, ``plugins``."""

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from waitress.server import BaseWSGIServer

from satchel import serving, workers
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
    add("workers", default=0, type=int, commands=SERVE,
        help="also start N request-only worker processes on the same listening socket, restarted when they "
             "die (default: 0)")
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
    """``satchel serve``: initialize an empty serverdir, then answer HTTP until SIGTERM or Ctrl-C.

    With ``--workers N`` it also starts and supervises N request-only copies of itself sharing its
    listening socket (``satchel.workers``); a copy started so serves on the inherited socket.
    """
    requests_only = config.get("requests_only")
    worker_count = config.get("workers") or 0
    if worker_count < 0 or (worker_count and requests_only):
        raise ConfigError("--workers N (N >= 0) is for the main process; its workers are request-only already")
    inherited = workers.inherited_sockets()
    app = App(config, pluginmanager)
    supervisor = None
    try:
        if requests_only:
            app.serve_requests_only()
        elif not app.is_initialized() and app.initializes_locally():
            app.initialize(root_password=config.root_passwd)
        ensure_open_files(config.connection_limit)
        # poll(), not select(): select() fails on descriptors past 1024, i.e. under many connections
        options = dict(connection_limit=config.connection_limit, asyncore_use_poll=True, ident="satchel",
                       clear_untrusted_proxy_headers=True)
        listening: dict = {}
        try:
            if inherited:
                server = serving.create_server(app.wsgi, config.threads, sockets=inherited, **options)
            else:
                server = serving.create_server(app.wsgi, config.threads, map=listening, host=config.host,
                                               port=config.port, **options)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {config.host}:{config.port}: {exc.strerror}") from None
        if not requests_only:
            app.start()
        app.follow_other_processes()
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        if inherited:
            workers.stop_with_parent()
        if worker_count:
            sockets = [d.socket for d in listening.values() if isinstance(d, BaseWSGIServer)]  # not its trigger pipe
            supervisor = workers.Workers(worker_count, config.argv, sockets)
            supervisor.start()
        port = server.effective_port if hasattr(server, "effective_port") else config.port
        print(f"satchel serving http://{config.host}:{port}/ "
              f"(serverdir {config.serverdir}, storage {app.storage.name}"
              f"{', requests only' if requests_only else ''}"
              f"{f', {worker_count} request-only workers' if worker_count else ''})", file=sys.stderr, flush=True)
        serving.set_switch_interval()
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
    finally:
        try:
            if supervisor is not None:
                supervisor.stop()
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
