"""App: one per process (config, plugin manager, storage, router, stash). Nothing global."""

import json
import os
import threading
import time
import uuid
from pathlib import Path

from satchel.config import Config, collect_options, resolve
from satchel.errors import ConfigError
from satchel.events import EventDispatcher
from satchel.model import users
from satchel.node import NodeRole, ReplicaStorage, ask_node_role
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry
from satchel.views import add_core_routes
from satchel.web.pagecache import PageCache
from satchel.web.router import Router
from satchel.web.wsgi import MiddlewareStack, WSGIApplication


def parse_storage_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``NAME[:key=value,...]`` -> ``(NAME, settings)``."""
    name, _, rest = (spec or "sqlite").partition(":")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"invalid storage setting {item!r}: use key=value")
        settings[key.strip()] = value.strip()
    return name.strip(), settings


def prepare_serverdir(path: Path) -> Path:
    """Create the serverdir if needed; a clear ConfigError when that is impossible."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create serverdir {path}: {exc.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"serverdir {path} is not writable")
    return path


def load_node_uuid(serverdir: Path) -> str:
    """This node's id, kept in ``<serverdir>/.nodeinfo`` (created on first use)."""
    path = serverdir / ".nodeinfo"
    try:
        return json.loads(path.read_text())["uuid"]
    except FileNotFoundError:
        pass
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{path} is damaged: {exc}") from None
    node_uuid = uuid.uuid4().hex
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"uuid": node_uuid, "role": "standalone"}))
    os.replace(tmp, path)
    return node_uuid


class App:
    """Everything a running satchel has; plugins keep their state in ``app.stash[name]``."""

    def __init__(self, config: Config, pluginmanager):
        self.config = config
        self.pm = pluginmanager
        self.hook = pluginmanager.hook
        self.stash: dict = {}
        backends = Registry("storage backend")
        self.hook.satchel_storage_backend(backends=backends)
        name, settings = parse_storage_spec(config.get("storage") or "sqlite")
        self.storage_backend = backends.get(name)
        serverdir = config.serverdir
        if self.storage_backend.persistent:
            prepare_serverdir(serverdir)
            self.node_uuid = load_node_uuid(serverdir)
        else:
            self.node_uuid = uuid.uuid4().hex
        self.storage = self.storage_backend.factory(serverdir, self.storage_backend.settings(config, settings))
        self._choose_blobs(serverdir)
        # asked once, here, so no later step of construction can change it
        try:
            self._node_role = ask_node_role(self.hook, self)
        except BaseException:
            self.storage.close()
            raise
        if self._node_role.is_replica:
            self.storage = ReplicaStorage(self.storage)
        self.index_types = Registry("index type")
        self.hook.satchel_index_types(index_types=self.index_types)
        self.router = Router()
        add_core_routes(self.router)
        self.hook.satchel_add_routes(router=self.router)
        self.router.check()  # an unknown before/after stops start-up here, not at the first request
        stack = MiddlewareStack(self)
        self.hook.satchel_add_middleware(stack=stack)
        self.wsgi = stack.wrap(WSGIApplication(self))
        self.page_cache = PageCache()
        # first listener: pages are invalidated before anything acknowledges a commit
        self.page_cache.attach(self.storage)
        cursor = serverdir / ".event-serial" if self.storage_backend.persistent else None
        self.events = EventDispatcher(self, cursor)
        self.storage.add_commit_listener(self.events.notify)
        # several processes may share the storage: every page-cache hit checks its serial (cheap)
        self.page_cache.shared = self.storage.multi_process
        self._started = False
        self._serial_changed = threading.Condition()
        self._notified_serial = self.storage.last_serial()
        self.storage.add_commit_listener(self._notify_serial)

    @property
    def node_role(self) -> NodeRole:
        """This node's role (``satchel_get_node_role``); a replica's ``primary_url`` is where writes go."""
        return self._node_role

    def _choose_blobs(self, serverdir: Path) -> None:
        """``--blobs``: the storage's own blob store for plain ``fs``, else the registered one."""
        name, settings = parse_storage_spec(self.config.get("blobs") or "fs")
        backends = Registry("blob store")
        self.hook.satchel_blob_backend(backends=backends)
        backend = backends.get(name)
        if name == "fs" and not settings:
            return  # the storage's default: files in the serverdir, or memory for memory storage
        try:
            blobs = backend.factory(serverdir, backend.settings(self.config, settings), self.storage)
            self.storage.use_blobs(blobs)
        except BaseException:
            self.storage.close()
            raise

    def _notify_serial(self, serial: int, changes: dict) -> None:
        with self._serial_changed:
            self._notified_serial = max(self._notified_serial, serial)
            self._serial_changed.notify_all()

    def wait_for_serial(self, serial: int, timeout: float) -> bool:
        """Block until ``serial`` is committed here (e.g. imported from a primary); False on timeout.

        Waits for the commit listeners too, so that no cached page older than ``serial`` is served
        once this returns.
        """
        deadline = time.monotonic() + timeout
        with self._serial_changed:
            while self._notified_serial < serial:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._serial_changed.wait(remaining)
        return True

    def serve_requests_only(self) -> None:
        """Make this a request-only worker beside a main process on the same storage.

        It runs no background work (``start`` is not called: no event dispatch, no plugin workers)
        and dispatches no events for its own commits (the main process does, from the changelog);
        its page cache checks the storage's serial on every request, so what another process
        committed is seen at once.
        """
        if not self.storage.multi_process:
            raise ConfigError(f"--requests-only needs a storage several processes share (sqlite, postgresql), "
                              f"not {self.storage.name}")
        if not self.is_initialized():
            raise ConfigError("the storage is not initialized: start the main process (without --requests-only) "
                              "or run 'satchel init' first")
        self.events.passive = True
        self.page_cache.shared = True

    def follow_other_processes(self) -> bool:
        """Have the storage push other processes' commits (``Storage.watch_commits``), when it can.

        ``serve`` calls this. The page cache then skips the per-request serial check, and the main
        process's event thread wakes for workers' commits. False: not offered (the check stays).
        """
        return self.storage.multi_process and self.storage.watch_commits(_OtherCommits(self))

    def initializes_locally(self) -> bool:
        """False when a plugin brings the data from elsewhere (a replica follows its primary)."""
        if self.node_role.is_replica:
            return False
        return self.hook.satchel_initialize_locally(app=self) is not False

    def is_initialized(self) -> bool:
        """Whether the storage holds any commit (``init`` or an import happened)."""
        return self.storage.last_serial() >= 0

    def initialize(self, root_password: str | None = None, root_pwhash: str | None = None) -> None:
        """Create ``root`` (empty password unless given) and let plugins add initial data."""
        if self.is_initialized():
            raise ConfigError(f"serverdir {self.config.serverdir} is already initialized")
        with self.storage.write() as tx:
            users.create_user(tx, "root", password=root_password or "", pwhash=root_pwhash)
            self.hook.satchel_init_serverdir(app=self, tx=tx)

    def start(self) -> None:
        """Start background work (event thread, plugin workers); ``serve`` calls this."""
        self.events.start()
        self.hook.satchel_startup(app=self)
        self._started = True

    def close(self) -> None:
        """Stop plugins' workers (``satchel_shutdown``) and the event thread, then close the storage."""
        # workers may exist without start() (e.g. a mirror used in tests or commands)
        self.hook.satchel_shutdown(app=self)
        self._started = False
        self.events.stop()
        self.storage.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class _OtherCommits:
    """The app's ``CommitWatcher``: the page cache catches up; events are dispatched (main process)."""

    def __init__(self, app: App):
        self.app = app

    def caught_up(self, serial: int) -> None:
        self.app.page_cache.caught_up(serial)
        self.app.events.wake()

    def lost(self) -> None:
        self.app.page_cache.lost()


def create_app(options: dict | None = None, *, pluginmanager=None, disable_plugins=(), plugins=(),
               initialize: bool = True) -> App:
    """An App from plain option values (by dest name); the environment is not consulted.

    Initializes an empty serverdir unless ``initialize`` is False.
    """
    pm = pluginmanager or create_pluginmanager(disabled=disable_plugins, plugins=plugins)
    parser = collect_options(pm)
    config = resolve(parser.options, dict(options or {}), environ={})
    pm.hook.satchel_configure(config=config)
    app = App(config, pm)
    if initialize and not app.is_initialized() and app.initializes_locally():
        app.initialize(root_password=config.get("root_passwd"))
    return app
