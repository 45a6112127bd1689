"""The built-in search backend: SQLite FTS5 in ``<serverdir>/web-search.sqlite``.

Kept up to date from core's changelog (``Storage.changes_since``), in serial order, with the last
applied serial stored in the same SQLite transaction as the rows it produced: after a crash or a
restart it continues exactly where it stopped. ``sync()`` runs after every commit (event thread)
and before every search, so a search reflects at least the serial of its request (unless a catch-up
of more than ``SYNC_WAIT`` seconds is running, e.g. a mirror's whole name list: then the search answers
from what is indexed so far rather than wait). Searches read through their own connections (WAL), so
they never wait for the writer otherwise.
"""

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field

from satchel.model.ordering import version_key
from satchel.progress import no_progress

from satchel_web.search_documents import Document, all_documents, changes_of, mirror_names
from satchel_web.search_query import Query

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value);
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY, index_name TEXT NOT NULL, project TEXT NOT NULL, version TEXT NOT NULL,
    display TEXT NOT NULL, summary TEXT NOT NULL, UNIQUE (index_name, project, version));
CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(
    name, summary, description, keywords, version, tokenize='unicode61 remove_diacritics 2', prefix='2 3');
"""
FORMAT = 2  # of the tables' contents: an index written in another format is rebuilt on the next sync
BATCH = 200  # changelog entries per SQLite transaction while catching up
SYNC_WAIT = 2.0  # seconds a search waits for a running catch-up before answering from what is indexed
# weights of name, summary, description, keywords, version in the ranking
RANK = "bm25(docs, 10.0, 4.0, 1.0, 3.0, 2.0)"


@dataclass
class Hit:
    """A project found on one or more indexes: ``indexes`` is ``[(index_name, [versions])]``."""

    project: str
    display: str
    summary: str = ""
    indexes: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int  # projects found


class FtsSearch:
    """One per app; ``path`` None keeps the index in memory (for non-persistent storage)."""

    name = "sqlite-fts5"

    def __init__(self, app, path: str | None):
        self.app = app
        self._lock = threading.RLock()  # one writer; in memory also the one reader
        self._path = path
        self._readers = threading.local()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        with self._lock:
            if self._meta("format") != FORMAT:
                # format 1 kept a name row searchable next to its versions: rebuilt (at the next sync)
                self._db.execute("DELETE FROM meta WHERE key='serial'")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", (FORMAT,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, key: str):
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @property
    def cursor(self) -> int:
        serial = self._meta("serial")
        return -1 if serial is None else int(serial)

    def status(self) -> dict:
        with self._lock:
            rows = self._db.execute("SELECT count(*) FROM entries").fetchone()[0]
            return {"backend": self.name, "serial": self.cursor, "rows": rows}

    # writing

    def sync(self) -> int:
        """Apply every committed change not applied yet; the serial the index reflects."""
        with self._lock:
            cursor = self.cursor
            last = self.app.storage.last_serial()
            if cursor == last:
                return cursor
            if cursor < 0 or cursor > last:
                # new index (or a serverdir replaced under it): build from the stored data at once
                return self.rebuild()
            pending = []
            for serial, changes in self.app.storage.changes_since(cursor):
                pending.append((serial, changes))
                if len(pending) >= BATCH:
                    self._apply(pending)
                    pending = []
            if pending:
                self._apply(pending)
            return self.cursor

    def _apply(self, entries) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for serial, changes in entries:
                for change in changes_of(changes):
                    if change.action == "upsert":
                        self._upsert(change.document)
                    elif change.action == "drop":
                        self._drop(change.index_name, change.project, change.version)
                    else:
                        self._resync_names(change.index_name)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('serial', ?)", (serial,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _upsert(self, doc: Document) -> None:
        db = self._db
        row = db.execute("SELECT id FROM entries WHERE index_name=? AND project=? AND version=?",
                         (doc.index_name, doc.project, doc.version)).fetchone()
        if row is not None:
            db.execute("UPDATE entries SET display=?, summary=? WHERE id=?", (doc.display, doc.summary, row[0]))
            db.execute("DELETE FROM docs WHERE rowid=?", (row[0],))
            rowid = row[0]
        else:
            rowid = db.execute("INSERT INTO entries (index_name, project, version, display, summary) "
                               "VALUES (?, ?, ?, ?, ?)",
                               (doc.index_name, doc.project, doc.version, doc.display, doc.summary)).lastrowid
        if doc.version:
            self._index(rowid, doc)
            # the project's name row says nothing its versions do not: out of the full-text table while a
            # version is here, so a word found in every project is ranked once per version, not once more
            db.execute("DELETE FROM docs WHERE rowid = (SELECT id FROM entries "
                       "WHERE index_name=? AND project=? AND version='')", (doc.index_name, doc.project))
        elif not self._has_versions(doc.index_name, doc.project):
            self._index(rowid, doc)

    def _index(self, rowid: int, doc: Document) -> None:
        name = doc.display if doc.display.lower() == doc.project else f"{doc.display} {doc.project}"
        self._db.execute("INSERT INTO docs (rowid, name, summary, description, keywords, version) "
                         "VALUES (?,?,?,?,?,?)", (rowid, name, doc.summary, doc.description, doc.keywords, doc.version))

    def _has_versions(self, index_name: str, project: str) -> bool:
        return self._db.execute("SELECT 1 FROM entries WHERE index_name=? AND project=? AND version!='' LIMIT 1",
                                (index_name, project)).fetchone() is not None

    def _drop(self, index_name: str, project: str | None = None, version: str | None = None) -> None:
        where, args = "index_name=?", [index_name]
        if project is not None:
            where, args = where + " AND project=?", args + [project]
        if version is not None:
            where, args = where + " AND version=?", args + [version]
        db = self._db
        db.execute(f"DELETE FROM docs WHERE rowid IN (SELECT id FROM entries WHERE {where})", args)
        db.execute(f"DELETE FROM entries WHERE {where}", args)
        if project is not None and version and not self._has_versions(index_name, project):
            # its last version gone: the project's name row (if it still has one) is searchable again
            row = db.execute("SELECT id, display FROM entries WHERE index_name=? AND project=? AND version=''",
                             (index_name, project)).fetchone()
            if row is not None:
                self._index(row[0], Document(index_name, project, "", row[1]))

    def _resync_names(self, index_name: str) -> None:
        """Make a mirror's name rows match its stored upstream list (only the difference is written)."""
        with self.app.storage.read() as tx:
            names = mirror_names(self.app, tx, index_name)
            if names is None:
                return
            wanted = set(names)
        have = {row[0] for row in self._db.execute(
            "SELECT project FROM entries WHERE index_name=? AND version=''", (index_name,))}
        for project in have - wanted:
            self._drop(index_name, project, "")
        for project in wanted - have:
            self._upsert(Document(index_name, project, "", project))

    def rebuild(self, progress=no_progress) -> int:
        """Drop everything and index the stored data of one snapshot; returns its serial."""
        with self._lock, self.app.storage.read() as tx:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM docs")
                db.execute("DELETE FROM entries")
                for doc in progress(all_documents(self.app, tx), desc="indexing", unit="document"):
                    self._upsert(doc)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('serial', ?)", (tx.serial,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return tx.serial

    # reading

    @contextmanager
    def _reading(self):
        """A connection to read from: per thread on a file (WAL: readers never wait for the writer)."""
        if self._path is None:
            with self._lock:
                yield self._db
            return
        db = getattr(self._readers, "db", None)
        if db is None:
            db = self._readers.db = sqlite3.connect(self._path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA query_only=1")
        yield db

    def _catch_up(self) -> None:
        """Apply what is pending; a long resync (a mirror's whole name list) is not waited for."""
        if self._lock.acquire(timeout=SYNC_WAIT):
            try:
                self.sync()
            finally:
                self._lock.release()

    def current_serial(self) -> int:
        """After catching up: the serial searches answer at (at least), as readers see it; pages of
        results may be kept under it (it moves with every commit)."""
        self._catch_up()
        with self._reading() as db:
            row = db.execute("SELECT value FROM meta WHERE key='serial'").fetchone()
        return int(row[0]) if row else -1

    def search(self, query: Query, readable, offset: int = 0, limit: int = 20) -> SearchResult:
        """Projects matching ``query`` on indexes for which ``readable(index_name)`` is true, best first.

        SQL filters, ranks, counts and finds the page's versions; only the best rows up to the page and
        the page's projects reach Python, so a word found in every project costs one ranking and one
        counting pass in SQLite, not a pass over every match in Python.
        """
        if not query:
            return SearchResult([], 0)
        self._catch_up()
        match = query.fts()
        with self._reading() as db:
            db.execute("BEGIN")  # one snapshot for the ranking, the count and the page's rows
            try:
                allowed = json.dumps([name for name in _index_names(db) if readable(name)])
                shown = self._best_projects(db, match, allowed, offset + limit)[offset:]
                total, places = db.execute(
                    # one pass over the matches: the projects to count, and the rows of the page's projects
                    "SELECT count(DISTINCT e.project), group_concat(CASE WHEN e.project IN (SELECT value FROM "
                    "json_each(?)) THEN e.project || char(31) || e.index_name || char(31) || e.version END, "
                    "char(30)) FROM docs JOIN entries e ON e.id = docs.rowid "
                    f"WHERE docs MATCH ? AND e.index_name IN {_JSON_LIST}",
                    (json.dumps(shown), match, allowed)).fetchone()
                hits = _hits(shown, places or "")
                self._describe_newest(db, hits)
            finally:
                db.execute("COMMIT")
        return SearchResult(hits, total)

    @staticmethod
    def _best_projects(db, match: str, allowed: str, wanted: int) -> list[str]:
        """The ``wanted`` best projects, best first: a project ranks by its best row, so only the best
        rows are read, twice as many as projects wanted, more while too few distinct projects are among
        them (a project's versions are rows of their own). Ties go by row id, so pages never overlap."""
        rows_wanted = max(2 * wanted, 100)
        while True:
            rows = db.execute(
                f"SELECT e.project FROM docs JOIN entries e ON e.id = docs.rowid WHERE docs MATCH ? "
                f"AND e.index_name IN {_JSON_LIST} ORDER BY {RANK}, docs.rowid LIMIT ?",
                (match, allowed, rows_wanted)).fetchall()
            projects = list(dict.fromkeys(project for project, in rows))
            if len(projects) >= wanted or len(rows) < rows_wanted:
                return projects[:wanted]
            rows_wanted *= 4

    @staticmethod
    def _describe_newest(db, hits: list[Hit]) -> None:
        """Name and summary of the newest version on the hit's indexes, whichever version matched
        (a project's name row, version "", only when it has no version: a mirror's names)."""
        places = {(hit.project, index_name) for hit in hits for index_name, _ in hit.indexes}
        newest: dict[str, tuple] = {}
        rows = db.execute(f"SELECT project, index_name, version, display, summary FROM entries "
                          f"WHERE project IN {_JSON_LIST} AND index_name IN {_JSON_LIST}",
                          (json.dumps([hit.project for hit in hits]), json.dumps(sorted({i for _, i in places}))))
        for project, index_name, version, display, summary in rows:
            key = (version != "", version_key(version))
            if (project, index_name) in places and (project not in newest or key > newest[project][0]):
                newest[project] = (key, display, summary)
        for hit in hits:
            if hit.project in newest:
                _, display, summary = newest[hit.project]
                hit.display, hit.summary = display or hit.project, summary


_JSON_LIST = "(SELECT value FROM json_each(?))"


def _hits(projects: list[str], places: str) -> list[Hit]:
    """Hits of ``projects`` (in that order) from their matching rows, ``project<US>index<US>version``
    joined by RS: each index with its matching versions, newest first (a name row, version "", adds
    the index only)."""
    found: dict[str, dict[str, list[str]]] = {project: {} for project in projects}
    for place in places.split("\x1e") if places else ():
        project, index_name, version = place.split("\x1f", 2)
        versions = found[project].setdefault(index_name, [])
        if version:
            versions.append(version)
    return [Hit(project, project, indexes=[(index_name, sorted(versions, key=version_key, reverse=True))
                                           for index_name, versions in sorted(found[project].items())])
            for project in projects]


def _index_names(db) -> list[str]:
    """The index names the search index holds, one index seek each (not a scan of every row)."""
    return [row[0] for row in db.execute(
        "WITH RECURSIVE i(name) AS (SELECT min(index_name) FROM entries UNION ALL "
        "SELECT (SELECT min(index_name) FROM entries WHERE index_name > i.name) FROM i WHERE i.name IS NOT NULL) "
        "SELECT name FROM i WHERE name IS NOT NULL")]
