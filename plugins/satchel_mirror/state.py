"""Per-mirror runtime state: freshness, one upstream fetch per project, newest records, stats."""

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import requests

from satchel.errors import UpstreamError
from satchel.model import keys

from satchel_mirror.links import project_record
from satchel_mirror.upstream import Upstream, UpstreamTimeout

log = logging.getLogger(__name__)
NEVER_SEEN_WAIT = 30  # seconds a request waits for a project no one fetched before
RECENT_RECORDS = 2048


class MirrorStats:
    def __init__(self):
        self.last_contact: float | None = None
        self.pages_fetched = 0
        self.files_cached = 0
        self.bytes_cached = 0
        self.failures = 0
        self.last_error: str | None = None

    def as_dict(self) -> dict:
        contact = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.last_contact)) \
            if self.last_contact else None
        return {"last-upstream-contact": contact, "pages-fetched": self.pages_fetched,
                "files-cached": self.files_cached, "bytes-cached": self.bytes_cached,
                "upstream-failures": self.failures, "last-error": self.last_error}


class MirrorState:
    """Shared by every request for one mirror index of one app."""

    def __init__(self, app, stage_name: str, session: requests.Session, executor: ThreadPoolExecutor):
        self.app = app
        self.stage_name = stage_name
        self.session = session
        self.executor = executor
        self.checked: dict[str, float] = {}  # project -> monotonic time of the last good check
        self.recent: OrderedDict[str, tuple[int, dict | None]] = OrderedDict()
        self.inflight: dict[str, Future] = {}
        self.downloads: dict[str, threading.Event] = {}
        self.lock = threading.Lock()
        self.stats = MirrorStats()
        self.names_refresh: Future | None = None
        self.names_checked: float | None = None

    # --- configuration -------------------------------------------------------------------

    def options(self, stage) -> tuple[float, float, bool]:
        config = self.app.config
        expiry = stage.config.get("mirror_cache_expiry")
        if expiry is None:
            expiry = config.get("mirror_cache_expiry", 1800)
        return float(expiry), float(config.get("request_timeout", 5)), bool(config.get("offline_mode"))

    def upstream(self, stage) -> Upstream:
        _, timeout, _ = self.options(stage)
        header = self.app.hook.satchel_mirror_upstream_auth(stage=stage, url=stage.config["mirror_url"])
        return Upstream(self.session, stage.config["mirror_url"], timeout, header)

    # --- project records -------------------------------------------------------------------

    def _remember(self, project: str, serial: int, record: dict | None) -> None:
        with self.lock:
            known = self.recent.get(project)
            if known is None or serial >= known[0]:
                self.recent[project] = (serial, record)
            self.recent.move_to_end(project)
            while len(self.recent) > RECENT_RECORDS:
                self.recent.popitem(last=False)

    def newest(self, tx, project: str) -> tuple[dict | None, int]:
        """The newest record known: this snapshot's or one fetched after it began."""
        record, serial = tx.get_with_serial(keys.project(self.stage_name, project))
        with self.lock:
            known = self.recent.get(project)
        if known is not None and known[0] > serial:
            return known[1], known[0]
        return record, serial

    def project(self, stage, tx, project: str) -> tuple[dict | None, int]:
        """``(record, serial)`` of ``project``, refreshed from upstream when expired."""
        expiry, timeout, offline = self.options(stage)
        record, serial = self.newest(tx, project)
        if offline:
            return record, serial
        checked = self.checked.get(project)
        if checked is not None and time.monotonic() - checked < expiry:
            return record, serial
        future = self._fetch(stage, project, record)
        wait = timeout if record is not None else max(timeout, NEVER_SEEN_WAIT)
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            if record is not None:
                return record, serial  # stale now; the fetch finishes in the background
            raise UpstreamTimeout(f"upstream did not answer for {project} in time") from None
        except UpstreamError:
            if record is not None:
                return record, serial  # upstream down: serve what we have
            raise

    def _fetch(self, stage, project: str, stored: dict | None) -> Future:
        with self.lock:
            future = self.inflight.get(project)
            if future is None:
                future = self.executor.submit(self._refresh, stage, project, stored)
                self.inflight[project] = future
                future.add_done_callback(lambda _: self._done(project))
            return future

    def _done(self, project: str) -> None:
        with self.lock:
            self.inflight.pop(project, None)

    def _refresh(self, stage, project: str, stored: dict | None) -> tuple[dict | None, int]:
        try:
            result = self.upstream(stage).project_page(project, etag=(stored or {}).get("etag"))
        except UpstreamError as exc:
            self.stats.failures += 1
            self.stats.last_error = exc.message
            log.warning("mirror %s: %s", self.stage_name, exc.message)
            raise
        self.stats.last_contact = time.time()
        self.stats.pages_fetched += 1
        with self.app.storage.read() as tx:
            current, serial = tx.get_with_serial(keys.project(self.stage_name, project))
        if result.status == 304:
            self.checked[project] = time.monotonic()
            return current, serial
        if result.status == 404:
            self.checked[project] = time.monotonic()
            self._remember(project, serial, None)
            return None, serial
        if (current and result.serial >= 0 and result.serial < current.get("serial", -1)
                and not stage.config.get("mirror_ignore_serial_header")):
            raise UpstreamError(f"upstream serial for {project} went backwards")
        record = project_record(self.stage_name, project, result.page)
        record["etag"] = result.etag
        record["serial"] = result.serial
        if current == record:
            self.checked[project] = time.monotonic()
            return current, serial
        with self.app.storage.write() as tx:
            tx.set(keys.project(self.stage_name, project), record)
            new_serial = tx.serial + 1
        self._remember(project, new_serial, record)
        self.checked[project] = time.monotonic()
        return record, new_serial

    def forget(self, project: str) -> None:
        """Make the next request re-check upstream (``refresh``)."""
        self.checked.pop(project, None)
