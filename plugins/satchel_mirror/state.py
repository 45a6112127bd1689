"""Per-mirror runtime state: freshness, one upstream fetch per project, newest records, stats."""

import logging
import threading
import time
import weakref
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import requests

from satchel import clock
from satchel.errors import UpstreamError
from satchel.model import keys

from satchel_mirror import primary
from satchel_mirror.links import project_record
from satchel_mirror.stats import MirrorStats
from satchel_mirror.upstream import Upstream, UpstreamDown, UpstreamTimeout, page_deadline

log = logging.getLogger(__name__)
RECENT_RECORDS = 2048
# after upstream was found down, stored pages are served without asking it again for a while
BACKOFF_FIRST = 2.0  # seconds, doubled on each failure in a row
BACKOFF_MAX = 60.0


class MirrorState:
    """Shared by every request for one mirror index of one app."""

    def __init__(self, app, index_name: str, session: requests.Session, executor: ThreadPoolExecutor):
        self.app = app
        self.index_name = index_name
        self.mirror_url = ""
        self.session = session
        self.executor = executor
        self.checked: dict[str, float] = {}  # project -> monotonic time of the last good check
        self.recent: OrderedDict[str, tuple[int, dict | None]] = OrderedDict()
        self.inflight: dict[str, tuple[Future, float]] = {}  # project -> (fetch, monotonic start)
        self.downloads: dict[str, threading.Event] = {}
        self.upstream_serials: dict[str, tuple[int, int]] = {}  # project -> (record serial, upstream serial)
        self.asked_in: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tx -> projects checked
        self.touched: dict[str, str] = {}  # file path -> day its last access was recorded
        self.lock = threading.Lock()
        self.stats = MirrorStats(app, index_name)
        self.names_refresh: Future | None = None
        self.names_checked: float | None = None
        self.down_in_a_row = 0
        self.retry_at = 0.0  # clock.monotonic() time before which stored pages are not refreshed

    # --- back-off ------------------------------------------------------------------------

    def upstream_down(self) -> None:
        with self.lock:
            self.down_in_a_row += 1
            pause = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self.down_in_a_row - 1))
            self.retry_at = clock.monotonic() + pause

    def upstream_up(self) -> None:
        with self.lock:
            self.down_in_a_row, self.retry_at = 0, 0.0

    def retry_in(self) -> float:
        """Seconds until stored pages are refreshed from upstream again (0: not backing off)."""
        return max(0.0, self.retry_at - clock.monotonic())

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

    def is_fresh(self, stage, project: str) -> bool:
        expiry, _, offline = self.options(stage)
        checked = self.checked.get(project)
        return offline or (checked is not None and clock.monotonic() - checked < expiry)

    def serial(self, stage, tx, project: str) -> int:
        """The serial of the newest record: without decoding it when the page is fresh (the hot path)."""
        if not self.is_fresh(stage, project):
            return self.project(stage, tx, project)[1]
        serial = tx.get_serial(keys.project(self.index_name, project))
        with self.lock:
            known = self.recent.get(project)
        return known[0] if known is not None and known[0] > serial else serial

    def upstream_serial(self, tx, project: str) -> int:
        """The upstream serial of the newest record (``X-PYPI-LAST-SERIAL``), remembered per serial."""
        serial = tx.get_serial(keys.project(self.index_name, project))
        with self.lock:
            known = self.recent.get(project)
            cached = self.upstream_serials.get(project)
        if known is not None and known[0] >= serial:
            return (known[1] or {}).get("serial", -1)
        if cached is not None and cached[0] == serial:
            return cached[1]
        record = tx.get(keys.project(self.index_name, project)) or {}
        with self.lock:
            self.upstream_serials[project] = (serial, record.get("serial", -1))
        return record.get("serial", -1)

    def newest(self, tx, project: str) -> tuple[dict | None, int]:
        """The newest record known: this snapshot's or one fetched after it began."""
        record, serial = tx.get_with_serial(keys.project(self.index_name, project))
        with self.lock:
            known = self.recent.get(project)
        if known is not None and known[0] > serial:
            return known[1], known[0]
        return record, serial

    def project(self, stage, tx, project: str) -> tuple[dict | None, int]:
        """``(record, serial)`` of ``project``, refreshed from upstream when expired.

        With a stored record, a slow or failing upstream never delays the answer past
        ``--request-timeout``: the stored record is served and the fetch goes on in the background.
        """
        expiry, timeout, offline = self.options(stage)
        record, serial = self.newest(tx, project)
        stats = self.stats
        if offline:
            stats.report("inc", "satchel_mirror_cache_hits_total", kind="page")
            return record, serial
        checked = self.checked.get(project)
        if checked is not None and clock.monotonic() - checked < expiry:
            stats.report("inc", "satchel_mirror_cache_hits_total", kind="page")
            return record, serial
        if record is not None and self.retry_in() > 0:
            stats.report("inc", "satchel_mirror_stale_served_total")
            return record, serial  # upstream was just found down: don't make every request wait on it
        with self.lock:
            asked = self.asked_in.setdefault(tx, set())
            if project in asked:  # one check per request (the page's serial, then its links)
                return record, serial
            asked.add(project)
        stats.report("inc", "satchel_mirror_cache_misses_total", kind="page")
        future, started = self._fetch(stage, project, record)
        if record is not None:
            # a fetch already slower than the timeout: don't make this request wait for it as well
            wait = max(0.0, timeout - (time.monotonic() - started))
        else:
            wait = page_deadline(timeout) + timeout
        try:
            return future.result(timeout=wait)
        except FutureTimeout:
            if record is not None:
                stats.report("inc", "satchel_mirror_stale_served_total")
                return record, serial  # stale now; the fetch finishes in the background
            raise UpstreamTimeout(f"upstream did not answer for {project} in time") from None
        except UpstreamError:
            if record is not None:
                stats.report("inc", "satchel_mirror_stale_served_total")
                return record, serial  # upstream down: serve what we have
            raise

    def _fetch(self, stage, project: str, stored: dict | None) -> tuple[Future, float]:
        with self.lock:
            found = self.inflight.get(project)
            if found is not None:
                self.stats.report("inc", "satchel_mirror_singleflight_waits_total", kind="page")
                return found
            future = self.executor.submit(self._refresh, stage, project, stored)
            found = self.inflight[project] = (future, time.monotonic())
        # outside the lock: a fetch that is already done runs the callback right here
        future.add_done_callback(lambda done: self._done(project, done))
        return found

    def _done(self, project: str, future: Future) -> None:
        with self.lock:
            if self.inflight.get(project, (None,))[0] is future:
                del self.inflight[project]

    def _refresh(self, stage, project: str, stored: dict | None) -> tuple[dict | None, int]:
        """Fetch once across processes: the storage's lock per project (a lock file on sqlite, an
        advisory lock on PostgreSQL); who waited for it uses what the holder wrote meanwhile."""
        key = keys.project(self.index_name, project)
        with self.app.storage.read() as tx:
            before = tx.get_serial(key)
        with self.app.storage.lock(f"mirror-page/{self.index_name}/{project}"):
            with self.app.storage.read() as tx:
                current, serial = tx.get_with_serial(key)
            if serial != before and current is not None:
                # requests whose snapshot began before that commit learn of it from here
                self._remember(project, serial, current)
                self.checked[project] = clock.monotonic()
                return current, serial
            return self._refresh_now(stage, project, stored)

    def _refresh_now(self, stage, project: str, stored: dict | None) -> tuple[dict | None, int]:
        if primary.primary_url(self.app):
            return self._refresh_through_primary(stage, project)
        started = time.perf_counter()
        try:
            result = self.upstream(stage).project_page(project, etag=(stored or {}).get("etag"))
        except UpstreamError as exc:
            self.stats.failure(exc.message)
            if isinstance(exc, (UpstreamDown, UpstreamTimeout)):
                self.upstream_down()
            log.warning("mirror %s: %s", self.index_name, exc.message)
            raise
        except Exception as exc:  # never leave a waiting request with a bare 500
            message = f"fetching {project} failed: {type(exc).__name__}"
            self.stats.failure(message)
            log.exception("mirror %s: %s", self.index_name, message)
            raise UpstreamError(message) from None
        self.stats.page()
        self.stats.report("observe", "satchel_mirror_upstream_fetch_duration_seconds", time.perf_counter() - started)
        self.upstream_up()
        with self.app.storage.read() as tx:
            current, serial = tx.get_with_serial(keys.project(self.index_name, project))
        if result.status == 304 and current is not None:
            self.checked[project] = clock.monotonic()
            return current, serial
        if result.status == 404:
            # gone upstream: the links seen last stay served, as devpi does (builds pinned to those files keep
            # working; mirror_block or devpi remove stop it); never there: 404 here too
            self._remember(project, serial, current)
            self.checked[project] = clock.monotonic()
            if current is not None:
                log.info("mirror %s: %s is gone upstream; serving its last known links",
                         self.index_name, project)
            return current, serial
        if result.status == 304:  # our record vanished meanwhile: fetch it whole
            return self._refresh_now(stage, project, None)
        if (current and result.serial >= 0 and result.serial < current.get("serial", -1)
                and not stage.config.get("mirror_ignore_serial_header")):
            message = f"upstream serial for {project} went backwards ({result.serial} < {current['serial']})"
            self.stats.failure(message)
            log.warning("mirror %s: %s", self.index_name, message)
            raise UpstreamError(message)
        record = project_record(self.index_name, project, result.page)
        record["etag"] = result.etag
        record["serial"] = result.serial
        if current == record:
            self.checked[project] = clock.monotonic()
            return current, serial
        new_serial = self._write(stage, project, record)
        self.checked[project] = clock.monotonic()
        return record, new_serial

    def _refresh_through_primary(self, stage, project: str) -> tuple[dict | None, int]:
        """A replica never writes: the primary fetches and commits; its serial arrives through replication."""
        primary.refresh_page(self, stage, project)
        with self.app.storage.read() as tx:
            current, current_serial = tx.get_with_serial(keys.project(self.index_name, project))
        self._remember(project, current_serial, current)
        self.checked[project] = clock.monotonic()
        return current, current_serial

    def _write(self, stage, project: str, record: dict | None) -> int:
        """Store (or with None delete) the record, unless the index was deleted or re-pointed meanwhile."""
        key = keys.project(self.index_name, project)
        with self.app.storage.write() as tx:
            config = tx.get(keys.index(stage.username, stage.indexname))
            if config is None or config.get("mirror_url") != stage.config.get("mirror_url"):
                raise UpstreamError(f"index {self.index_name} was deleted or changed during the fetch")
            if record is None:
                tx.delete(key)
            else:
                tx.set(key, record)
            new_serial = tx.serial + 1 if tx.changes else tx.serial
        self._remember(project, new_serial, record)
        return new_serial

    def dropped(self, project: str) -> None:
        """The stored page was deleted: nothing of it is remembered, the next request asks upstream."""
        with self.lock:
            self.recent.pop(project, None)
            self.upstream_serials.pop(project, None)
        self.checked.pop(project, None)

    def forget(self, project: str) -> None:
        """Make the next request re-check upstream (unless backing off)."""
        self.checked.pop(project, None)
