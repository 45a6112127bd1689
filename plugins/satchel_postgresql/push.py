"""Commits pushed to every process by LISTEN/NOTIFY, acknowledged back before a writer answers.

Each commit sends ``NOTIFY`` with its serial in its own transaction, so the notice goes out
exactly when the commit is visible. A process following commits (``watch``) keeps one connection
of its own listening, registered in the table ``peers`` by its backend pid; on each notice (but
those of its own commits) it lets the watcher catch up from the changelog and then records the
serial as ``seen`` (and notifies the ack channel with its pid and the serial). A writer asks, in the pipeline of its
commit, which live peers but its own have not seen the serial yet, and waits until each has
acked it (at most ``ACK_TIMEOUT``; with no peer it does not wait, and the acks its own listener
receives tick peers off without another query): so when a client is told its write succeeded,
every process already knows of it, and a watcher needs no storage call per request to know it
serves nothing older. A dead listener's row is ignored (its backend is gone from
``pg_stat_activity``), and its process falls back to asking per request until it has
reconnected and caught up.
"""

import hashlib
import logging
import threading
import time

import psycopg
from psycopg import sql

from satchel.storage.contract import CommitWatcher

from satchel_postgresql.connection import connect

log = logging.getLogger(__name__)

ACK_TIMEOUT = 1.0  # a stuck peer delays a write this long at most
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0)  # between attempts of a lost listener, the last repeated
WAKE_SECONDS = 0.5  # the listener looks at its stop flag this often

PENDING = """SELECT coalesce(array_agg(p.pid), '{}') FROM peers p
WHERE p.seen < %s AND p.pid <> %s
  AND EXISTS (SELECT 1 FROM pg_stat_activity a
              WHERE a.pid = p.pid AND (a.backend_start = p.started OR a.backend_start IS NULL))"""
FORGET_DEAD = """DELETE FROM peers p WHERE NOT EXISTS (
    SELECT 1 FROM pg_stat_activity a WHERE a.pid = p.pid AND a.backend_start = p.started)"""
REGISTER = """INSERT INTO peers (pid, started, seen)
SELECT pid, backend_start, -1 FROM pg_stat_activity WHERE pid = pg_backend_pid()
ON CONFLICT (pid, started) DO UPDATE SET seen = -1"""
ACK = """WITH acked AS (UPDATE peers SET seen = %s WHERE pid = pg_backend_pid() AND seen < %s)
SELECT pg_notify(%s, pg_backend_pid() || ' ' || %s)"""
FORGET_ACKS = 1000  # pids of acks remembered at most (listeners reconnecting bring new ones)


def channels(schema: str) -> tuple[str, str]:
    """The commit and ack channel names of ``schema`` (identifiers: at most 63 bytes)."""
    tag = schema if len(schema) <= 40 else hashlib.sha256(schema.encode()).hexdigest()[:40]
    return f"satchel_commit_{tag}", f"satchel_ack_{tag}"


class CommitPush:
    """Sends a commit's notice, waits for peers' acks, and follows other processes' commits."""

    def __init__(self, dsn: str, schema: str, pool):
        self.dsn, self.schema, self.pool = dsn, schema, pool
        self.commit_channel, self.ack_channel = channels(schema)
        self._acked = threading.Condition()
        self._acked_by: dict[int, int] = {}  # peer pid -> highest serial it acked, under ``_acked``
        self._own: set[int] = set()  # serials this process committed whose notice has not come yet
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.listener_pid = 0  # backend pid of this process's listening connection (0: none)

    def notify(self, conn, serial: int) -> None:
        """In the committing transaction: the notice goes out with the commit, never without it."""
        conn.execute("SELECT pg_notify(%s, %s)", (self.commit_channel, str(serial)))

    def count_behind(self, conn, serial: int):
        """Pipelined behind the commit of ``serial``: a cursor whose one row lists the pids of the live
        peers but this process that have not seen it."""
        return conn.execute(PENDING, (serial, self.listener_pid))

    def _unacked(self, pids, serial: int) -> set[int]:
        return {pid for pid in pids if self._acked_by.get(pid, -1) < serial}

    def wait_for_peers(self, serial: int, behind: list[int]) -> bool:
        """After the commit of ``serial``, the peers ``behind`` not having seen it: until each has acked it
        (then True), at most ``ACK_TIMEOUT`` (then False). No peer behind: no wait and no query."""
        deadline = time.monotonic() + ACK_TIMEOUT
        waiting = set(behind)
        while waiting:
            remaining = deadline - time.monotonic()
            with self._acked:
                # the acks our listener receives (also those that came before we wait) tick peers off;
                # without a listener, or when acks stop coming, ask the database (a peer may have died)
                self._acked.wait_for(lambda: not self._unacked(waiting, serial),
                                     max(0.0, min(remaining, 0.05 if self.listener_pid else 0.002)))
                waiting = self._unacked(waiting, serial)
            if not waiting:
                return True
            if remaining <= 0:
                log.warning("%d process(es) did not confirm serial %d within %.1fs; going on", len(waiting),
                            serial, ACK_TIMEOUT)
                return False
            with self.pool.connection() as conn:
                waiting = self._unacked(self.count_behind(conn, serial).fetchone()[0], serial)
        return True

    def watch(self, watcher: CommitWatcher) -> None:
        self._thread = threading.Thread(target=self._run, args=(watcher,), name="satchel-pg-listen", daemon=True)
        self._thread.start()

    def _run(self, watcher: CommitWatcher) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                self._follow(watcher)
            except Exception as exc:  # whatever broke, the watcher must stop relying on notices
                self.listener_pid = 0
                watcher.lost()
                if self._stopping.is_set():
                    break
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                if not isinstance(exc, psycopg.Error):
                    log.exception("following commits failed")
                log.warning("commit notices lost (%s); asking per request, reconnecting in %.1fs",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, delay)
                self._stopping.wait(delay)
            else:
                failures = 0
        self.listener_pid = 0

    def _follow(self, watcher: CommitWatcher) -> None:
        """One listening session: register, catch up, then ack every notice until stopped or broken."""
        with connect(self.dsn, self.schema) as conn:
            # an ack records liveness, nothing a crash must keep: its commit need not wait for the disk
            conn.execute("SET synchronous_commit TO off")
            for channel in (self.commit_channel, self.ack_channel):
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            conn.execute(FORGET_DEAD)
            conn.execute(REGISTER)
            # registered before reading the last serial: a writer that did not see the row committed
            # before this read, so the catch-up covers it; a later one waits for this ack
            last = conn.execute("SELECT coalesce(max(serial), -1) FROM changelog").fetchone()[0]
            self._caught_up(conn, watcher, last)
            self.listener_pid = conn.info.backend_pid
            log.info("following commits of other processes (listening on %s)", self.commit_channel)
            while not self._stopping.is_set():
                top, others = None, False
                for notice in conn.notifies(timeout=WAKE_SECONDS, stop_after=1):
                    if notice.channel == self.commit_channel:
                        serial = int(notice.payload)
                        top = max(top or -1, serial)
                        others = self._others(serial) or others
                    else:
                        self._ack_received(notice.payload)
                if others:
                    # this process's own commits need no catch-up, and no writer waits for our ack of them
                    self._caught_up(conn, watcher, top)
            conn.execute("DELETE FROM peers WHERE pid = pg_backend_pid()")

    def committing(self, serial: int) -> None:
        """Before this process sends the commit of ``serial``: its notice will need no ack of ours."""
        with self._acked:
            if len(self._own) >= FORGET_ACKS:  # notices lost with a listener's connection never come
                self._own.clear()
            self._own.add(serial)

    def not_committed(self, serial: int) -> None:
        with self._acked:
            self._own.discard(serial)

    def _others(self, serial: int) -> bool:
        """Whether the notice of ``serial`` is another process's commit (a commit that failed is no notice)."""
        with self._acked:
            if serial in self._own:
                self._own.discard(serial)
                return False
            return True

    def _ack_received(self, payload: str) -> None:
        try:
            pid, serial = map(int, payload.split())
        except ValueError:  # an ack of an older satchel (no payload): wake the writers to ask the database
            pid, serial = 0, -1
        with self._acked:
            if len(self._acked_by) >= FORGET_ACKS:
                self._acked_by.clear()
            if serial > self._acked_by.get(pid, -1):
                self._acked_by[pid] = serial
            self._acked.notify_all()

    def _caught_up(self, conn, watcher: CommitWatcher, serial: int) -> None:
        watcher.caught_up(serial)
        conn.execute(ACK, (serial, serial, self.ack_channel, str(serial)))

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stopping.set()
            thread.join(timeout=WAKE_SECONDS * 4)
