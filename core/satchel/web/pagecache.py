"""Rendered simple pages, compressed once, with their headers prepared; a hit costs no rendering.

Two ways to find a page:

- by a key naming what it was built from (the serials of the records used), read in a storage
  snapshot: works for every index type, including mirrors whose pages change outside commits;
- by the request alone (``fast``: path and negotiated form), without opening storage: valid while
  no commit touched an index the page depends on since it was built. Commit listeners keep, per
  index, the serial of the last commit that touched it, so validating such a page costs a few dict
  lookups. A listener runs before the committing request answers, so a page is never served stale
  after a change was acknowledged to a client. Other processes' commits come from the changelog,
  pushed by the storage (``caught_up``) or looked up per request.
"""

import functools
import gzip
import hashlib
import threading
import time

from satchel.lru import SizedLRU

GZIP_MIN_BYTES = 1024  # below this compression saves less than the header costs
GZIP_LEVEL = 6
UNSHARED_CHECK_SECONDS = 0.5
MAX_PAGES = 4096
# bodies and their gzip forms, per table; a page of 2,000 files is ~0.9 MB, so this keeps a few hundred of
# the biggest while small pages are bounded by the count
MAX_BYTES = 256 * 1024 * 1024


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (a ``q=0`` refuses it)."""
    accepted = False
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = params.strip()
        refused = q.startswith("q=") and q[2:].strip().rstrip("0").rstrip(".") in ("0", "")
        if coding == "*":
            accepted = accepted or not refused
        else:
            return not refused
    return accepted


def etag_matches(if_none_match: str, quoted_etag: str) -> bool:
    """``If-None-Match`` names this representation (weak comparison, as RFC 9110 asks for it)."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == quoted_etag for tag in if_none_match.split(","))


class Page:
    """One rendered page in both encodings, with the header lists of every answer prepared."""

    __slots__ = ("body", "gzipped", "etag", "_answers")

    def __init__(self, etag: str, body: bytes, content_type: str, vary: str, extra_headers=()):
        self.body = body
        self.etag = etag
        self.gzipped = gzip.compress(body, GZIP_LEVEL, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        if self.gzipped is not None and len(self.gzipped) >= len(body):
            self.gzipped = None
        extra = list(extra_headers)
        vary = f"{vary}, Accept-Encoding"
        plain_tag = f'"{etag}"'
        answers = {False: self._answer(plain_tag, vary, content_type, body, extra, None)}
        if self.gzipped is not None:
            # RFC 9110 8.8.3: each content coding is its own representation with its own ETag
            answers[True] = self._answer(f'"{etag}-gzip"', vary, content_type, self.gzipped, extra, "gzip")
        else:
            answers[True] = answers[False]
        self._answers = answers

    @staticmethod
    def _answer(quoted_etag, vary, content_type, body, extra, encoding):
        common = [("Vary", vary), ("ETag", quoted_etag)] + extra
        full = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if encoding:
            full.append(("Content-Encoding", encoding))
        return quoted_etag, full + common, common, body

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")

    def answer(self, environ, strip_head: bool = True) -> tuple[str, list, bytes]:
        """``(status, headers, body)`` for a GET or HEAD described by ``environ``."""
        quoted_etag, headers, not_modified, body = self._answers[
            accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and etag_matches(if_none_match, quoted_etag):
            return "304 Not Modified", list(not_modified), b""
        if strip_head and environ.get("REQUEST_METHOD") == "HEAD":
            body = b""
        return "200 OK", list(headers), body


class PageCache:
    """A thread-safe LRU of pages by key, plus the request-keyed entries of the fast lookup."""

    def __init__(self, maxsize: int = MAX_PAGES, max_bytes: int = MAX_BYTES):
        self._entries = SizedLRU(max_bytes, maxsize, size=lambda page: page.size)
        # (page, built_at, deps, public); most pages are in both tables, so the bound is generous twice over
        self._fast = SizedLRU(max_bytes, maxsize, size=lambda entry: entry[0].size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.changed: dict[str, int] = {}  # "user/index" -> serial of the last commit touching it
        self.seen_serial = -1  # every commit up to this one is in ``changed``
        self._storage = None
        self._catch_up_lock = threading.Lock()
        self._noticed: set[int] = set()
        self._next_check = 0.0
        self.shared = False  # set by a plugin running request-only processes beside a writer
        self.pushed = False  # the storage pushes other processes' commits (caught_up ... lost)

    @staticmethod
    def etag_for(key) -> str:
        return hashlib.blake2b(repr(key).encode("utf-8"), digest_size=16).hexdigest()

    def attach(self, storage) -> None:
        """Follow ``storage``'s commits (register before listeners that acknowledge commits)."""
        self._storage = storage
        self.seen_serial = storage.last_serial()
        storage.add_commit_listener(self.notice)

    def notice(self, serial: int, changes: dict) -> None:
        """A commit listener: every key ``kind/USER/INDEX/...`` marks index ``USER/INDEX`` changed.

        Over-marking is harmless (a name no page depends on costs nothing); keys of two parts
        (``users/U``) belong to no index. ``seen_serial`` moves on without gaps only: listeners of
        two commits may run in either order, and another process's commits are never noticed here
        (``current`` reads those from the changelog).
        """
        touched = set()
        for key in changes:
            parts = key.split("/", 3)
            if len(parts) >= 3:
                touched.add(f"{parts[1]}/{parts[2]}")
        with self._lock:
            for name in touched:
                if self.changed.get(name, -1) < serial:
                    self.changed[name] = serial
            if serial > self.seen_serial:
                self._noticed.add(serial)
                while self.seen_serial + 1 in self._noticed:
                    self.seen_serial += 1
                    self._noticed.discard(self.seen_serial)

    def current(self) -> int:
        """The serial up to which the change serials are complete.

        This process's commits are there at once (listeners). Commits of other processes on the
        same storage are pushed when the storage offers it (``caught_up``; a commit returns only
        after every following process caught up with it), so then no storage call is needed.
        Without the push they are read from the changelog: on every call when ``shared`` is set (a
        process serving requests while others write), else at most every
        ``UNSHARED_CHECK_SECONDS`` (e.g. ``satchel fsck --repair`` beside a server).
        """
        if self.pushed:
            return self.seen_serial
        if not self.shared:
            now = time.monotonic()
            if now < self._next_check:
                return self.seen_serial
            self._next_check = now + UNSHARED_CHECK_SECONDS
        return self._catch_up(self._storage.last_serial())

    def _catch_up(self, last: int) -> int:
        if last <= self.seen_serial:
            return self.seen_serial
        with self._catch_up_lock:
            while self.seen_serial < last:
                entries = list(self._storage.changes_since(self.seen_serial, limit=500))
                if not entries:
                    break
                for serial, changes in entries:
                    self.notice(serial, changes)
        return self.seen_serial

    def caught_up(self, serial: int) -> None:
        """The storage's push (``Storage.watch_commits``): every commit up to ``serial`` was made; take
        them in before returning, and rely on the push from now on."""
        self._catch_up(serial)
        self.pushed = True

    def lost(self) -> None:
        """The push stopped: read the serial on each request again until it is back."""
        self.pushed = False

    def get(self, key) -> Page | None:
        page = self._entries.get(key)
        if page is None:
            self.misses += 1  # unlocked, as the hits: a lost increment in a statistic is not worth a lock
            return None
        self.hits += 1
        return page

    def put(self, key, page: Page) -> Page:
        self._entries.put(key, page)
        return page

    def get_fast(self, request_key) -> tuple[Page, bool] | None:
        """``(page, public)`` for ``request_key`` if no index the page depends on changed since.

        Call ``current()`` first: the answer is only as fresh as the change serials.
        """
        entry = self._fast.peek(request_key)  # no lock and no reordering on the hot path
        if entry is None:
            return None
        page, built_at, deps, public = entry
        changed = self.changed
        for name in deps:
            if changed.get(name, -1) > built_at:
                return None
        return page, public

    def put_fast(self, request_key, page: Page, built_at: int, deps, public: bool) -> None:
        """Remember ``page`` for ``request_key``.

        ``built_at`` is ``current()`` taken *before* the snapshot the page was validated in was
        opened, so that snapshot holds every change up to it; ``deps`` names every index whose
        change may alter the page; ``public`` says anonymous callers may read it.
        """
        self._fast.put(request_key, (page, built_at, tuple(deps), public))

    def clear(self):
        self._entries.clear()
        self._fast.clear()
