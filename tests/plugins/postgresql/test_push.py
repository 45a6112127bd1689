"""Commits pushed between processes by LISTEN/NOTIFY: two apps on one schema stand for two processes
(each has its own connections, so PostgreSQL sees two sessions, as it would two processes)."""

import threading
import time
import uuid

import psycopg
import pytest
from webtest import TestApp

from satchel.testing.fixtures import Filler

PAGE = "/alice/dev/+simple/hello-pkg/"


@pytest.fixture
def pair(make_app, postgresql_dsn):
    """``(writer, follower)``: two apps on one schema; the follower follows the writer's commits by the push."""
    options = {"storage": "postgresql", "postgresql_dsn": postgresql_dsn,
               "postgresql_schema": "p_" + uuid.uuid4().hex[:12]}
    writer = make_app(**options)
    filler = Filler(writer)
    filler.user("alice")
    filler.index("alice", "dev")
    filler.file("alice/dev", "hello-pkg", "1.0")
    follower = make_app(**options)
    assert follower.follow_other_processes()
    wait_until(lambda: follower.page_cache.pushed)
    return writer, follower


def wait_until(condition, timeout: float = 20) -> None:
    """Wait for something another thread does (not a measurement: the timeout only stops a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "did not happen"
        time.sleep(0.01)


def listener_pids(dsn: str, app) -> list[int]:
    with psycopg.connect(dsn) as conn:
        return [row[0] for row in conn.execute(f"SELECT pid FROM {app.storage.schema}.peers")]


def count_serial_reads(app, monkeypatch) -> list:
    calls = []
    original = app.storage.last_serial
    monkeypatch.setattr(app.storage, "last_serial", lambda: calls.append(1) or original())
    return calls


def files_on_page(app) -> list[str]:
    return sorted(link.text for link in TestApp(app.wsgi).get(PAGE).html.find_all("a"))


def test_a_commit_elsewhere_reaches_the_follower_by_the_push(pair, monkeypatch):
    writer, follower = pair
    assert files_on_page(follower) == ["hello_pkg-1.0-py3-none-any.whl"]  # cached by the follower now
    serial_reads = count_serial_reads(follower, monkeypatch)
    Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    # as soon as the writer's commit returned, the follower answers with it: pushed, not polled
    assert files_on_page(follower) == ["hello_pkg-1.0-py3-none-any.whl", "hello_pkg-1.1-py3-none-any.whl"]
    assert files_on_page(follower) == files_on_page(follower)
    assert serial_reads == []
    assert follower.page_cache.hits >= 2


def test_a_write_returns_only_after_followers_took_it_in(pair, monkeypatch):
    writer, follower = pair
    files_on_page(follower)
    slow = follower.page_cache.caught_up

    def slow_caught_up(serial):
        time.sleep(0.3)  # the follower's push is slow: the writer must wait for it, not answer before
        slow(serial)

    monkeypatch.setattr(follower.page_cache, "caught_up", slow_caught_up)
    Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    assert "hello_pkg-1.1-py3-none-any.whl" in files_on_page(follower)


def test_listener_reconnects_after_its_connection_is_killed(pair, postgresql_dsn):
    writer, follower = pair
    files_on_page(follower)
    [pid] = listener_pids(postgresql_dsn, follower)
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
    wait_until(lambda: not follower.page_cache.pushed or listener_pids(postgresql_dsn, follower) != [pid])
    # without the push (or back already), a write is still seen at once: per-request check meanwhile
    Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    assert "hello_pkg-1.1-py3-none-any.whl" in files_on_page(follower)
    wait_until(lambda: follower.page_cache.pushed)
    [new_pid] = listener_pids(postgresql_dsn, follower)
    assert new_pid != pid
    Filler(writer).file("alice/dev", "hello-pkg", "1.2")
    assert "hello_pkg-1.2-py3-none-any.whl" in files_on_page(follower)


def test_a_peer_that_died_does_not_hold_writers_up(pair, postgresql_dsn, caplog):
    """A dead process's row stays until the next listener starts; writers skip it by its backend."""
    writer, follower = pair
    with psycopg.connect(postgresql_dsn, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {writer.storage.schema}.peers VALUES (1, now(), -1)")
    Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    assert "did not confirm" not in caplog.text  # the writer did not wait for it
    assert "hello_pkg-1.1-py3-none-any.whl" in files_on_page(follower)


def test_a_stuck_peer_delays_a_write_boundedly(pair, monkeypatch, caplog):
    writer, follower = pair
    stuck = threading.Event()
    monkeypatch.setattr(follower.page_cache, "caught_up", lambda serial: stuck.wait(30))
    try:
        Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    finally:
        stuck.set()
    assert "1 process(es) did not confirm serial" in caplog.text


def count_peer_questions(app, monkeypatch) -> list:
    calls = []
    push = app.storage._push
    original = push.count_behind
    monkeypatch.setattr(push, "count_behind", lambda conn, serial: calls.append(serial) or original(conn, serial))
    return calls


def test_a_writer_without_peers_asks_once_in_its_commit(make_app, postgresql_dsn, monkeypatch):
    writer = make_app(storage="postgresql", postgresql_dsn=postgresql_dsn,
                      postgresql_schema="p_" + uuid.uuid4().hex[:12])
    assert writer.follow_other_processes()
    wait_until(lambda: writer.page_cache.pushed)
    questions = count_peer_questions(writer, monkeypatch)
    Filler(writer).user("alice")
    assert questions  # one question per commit, in the commit's pipeline, none after it
    assert len(questions) == len(set(questions))


def test_acks_name_their_peer_for_the_writer_to_tick_off(pair, postgresql_dsn):
    writer, follower = pair
    assert writer.follow_other_processes()
    wait_until(lambda: writer.page_cache.pushed)
    [follower_pid] = [pid for pid in listener_pids(postgresql_dsn, follower) if pid != writer.storage._push.listener_pid]
    Filler(writer).file("alice/dev", "hello-pkg", "1.1")
    serial = writer.storage.last_serial()
    # the writer's listener heard the follower's ack, pid and serial: it needs no query to know
    wait_until(lambda: writer.storage._push._acked_by.get(follower_pid, -1) >= serial)
    assert "hello_pkg-1.1-py3-none-any.whl" in files_on_page(follower)
