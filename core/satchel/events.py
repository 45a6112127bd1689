"""Post-commit event dispatch from a persisted cursor: lifecycle hooks in serial order."""

import json
import logging
import os
import threading
from pathlib import Path

from satchel.model.indexes import IndexType, Stage, get_stage, make_stage

log = logging.getLogger(__name__)


class EventDispatcher:
    """Turns changelog entries into hook calls, once each, in order, after the commit.

    Until ``start()`` events are dispatched in the committing thread; after it, on one
    background thread. The last dispatched serial is kept in ``<serverdir>/.event-serial``.
    """

    def __init__(self, app, cursor_path: Path | None):
        self.app = app
        self._cursor_path = cursor_path
        self.cursor = self._load_cursor()
        self._lock = threading.Lock()
        self._wakeup = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.passive = False  # a request-only worker: the main process dispatches

    def _load_cursor(self) -> int:
        if self._cursor_path is None:
            return -1
        try:
            return int(json.loads(self._cursor_path.read_text()))
        except (FileNotFoundError, ValueError):
            return -1

    def _save_cursor(self) -> None:
        if self._cursor_path is None:
            return
        tmp = self._cursor_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.cursor))
        os.replace(tmp, self._cursor_path)

    def notify(self, serial: int, changes: dict) -> None:
        """Commit listener: wake the event thread, or dispatch right here without one.

        ``passive`` (a request-only worker): nothing; the main process dispatches every commit.
        """
        if self.passive:
            return
        if self._thread is not None:
            self._wakeup.set()
        else:
            self.process_pending()

    def wake(self) -> None:
        """Another process committed: dispatch soon, if this process runs the event thread."""
        if self._thread is not None and not self.passive:
            self._wakeup.set()

    def process_pending(self) -> None:
        with self._lock:
            for serial, changes in self.app.storage.changes_since(self.cursor):
                self._dispatch(serial, changes)
                self.cursor = serial
            self._save_cursor()

    def _call(self, hookname: str, **kwargs) -> None:
        # one failing plugin must not keep the other events of the serial from being dispatched
        try:
            getattr(self.app.hook, hookname)(**kwargs)
        except Exception:
            log.exception("event hook %s failed", hookname)

    def _dispatch(self, serial: int, changes: dict) -> None:
        call = self._call
        call("satchel_on_commit", app=self.app, serial=serial, changes=changes)
        for key, (back_serial, value) in changes.items():
            kind, _, rest = key.partition("/")
            if kind == "users" and value is not None and back_serial == -1:
                call("satchel_user_created", app=self.app, username=rest)
            elif kind == "indexes":
                username, _, indexname = rest.partition("/")
                if value is None:
                    stage = self._deleted_stage(username, indexname, key, back_serial)
                    # index: the deprecated old argument, passed for one more release
                    call("satchel_stage_deleted", app=self.app, stage=stage, index=rest)
                elif back_serial == -1:
                    call("satchel_stage_created", app=self.app, stage=make_stage(self.app, username, indexname, value))
            elif kind in ("files", "versions"):
                self._dispatch_project_event(kind, rest, value)

    def _deleted_stage(self, username: str, indexname: str, key: str, back_serial: int) -> Stage:
        """The Stage of a deleted index as it was: its last config, read back from the changelog."""
        config = {}
        for _, changes in self.app.storage.changes_since(back_serial - 1, limit=1):
            config = (changes.get(key) or [None, None])[1] or {}
        if config.get("type") not in self.app.index_types:  # its type's plugin is gone: a plain Stage
            return Stage(self.app, username, indexname, config, IndexType(config.get("type", "")))
        return make_stage(self.app, username, indexname, config)

    def _dispatch_project_event(self, kind: str, rest: str, value) -> None:
        username, indexname, tail = rest.split("/", 2)
        with self.app.storage.read() as tx:
            stage = get_stage(tx, self.app, username, indexname)
        if stage is None:
            return
        if kind == "versions":
            project, _, version = tail.partition("/")
            self._call("satchel_on_versiondata_changed", stage=stage, project=project, version=version,
                       metadata=value)
        elif value is None:
            self._call("satchel_on_file_removed", stage=stage, relpath=rest)
        elif not stage.is_mirror:
            self._call("satchel_on_upload", stage=stage, project=value.get("project"),
                       version=value.get("version"), link=value)

    def start(self) -> None:
        self.process_pending()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="satchel-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wakeup.wait(timeout=5)
            self._wakeup.clear()
            self.process_pending()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping = True
            self._wakeup.set()
            thread.join(timeout=10)
