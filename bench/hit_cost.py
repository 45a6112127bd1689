#!/usr/bin/env python3
"""In-process cost of one cached simple-page hit, sqlite against PostgreSQL (no HTTP, no sockets but the
database's), and what the push costs a commit on PostgreSQL.

    python bench/hit_cost.py [--hits 20000] [--rounds 5] [--commits 300]

Builds one app per backend in a temp serverdir (PostgreSQL: a throwaway server of the test kit,
``initdb`` + ``pg_ctl`` on 127.0.0.1), uploads one file, then calls the WSGI app for the same page
``--hits`` times per round and reports the best round's microseconds per hit. The hit path is the
one every installer request takes once a page is cached: it tells what the storage's freshness check
costs per request. Then it times small commits on PostgreSQL with no other process following and with
one following app (a second app on the same schema, its own connections): a commit then waits until
that follower has taken it in.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from satchel.app import create_app
from satchel.model import indexes, projects, users
from satchel.testing.fixtures import make_wheel
from satchel.testing.pgserver import PostgresServer

PATH = "/alice/dev/+simple/hello-pkg/"


def _fill(app) -> None:
    with app.storage.write() as tx:
        users.create_user(tx, "alice", password="pw")
    with app.storage.write() as tx:
        indexes.create_index(tx, app, "alice", "dev", {})
    filename, content = make_wheel("hello-pkg", "1.0")
    with app.storage.write() as tx:
        stage = indexes.get_stage(tx, app, "alice", "dev")
        projects.add_release_file(tx, app, stage, project="hello-pkg", version="1.0", filename=filename,
                                  content=content)


def per_hit(app, hits: int, rounds: int) -> float:
    environ_base = {"REQUEST_METHOD": "GET", "PATH_INFO": PATH, "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                    "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http", "HTTP_ACCEPT": "text/html",
                    "HTTP_ACCEPT_ENCODING": "gzip", "QUERY_STRING": "", "SCRIPT_NAME": ""}

    def start_response(status, headers, exc_info=None):
        assert status.startswith("200"), status

    def one():
        environ = dict(environ_base)
        environ["wsgi.input"] = None
        for _ in app.wsgi(environ, start_response):
            pass

    one()
    hits_before = app.page_cache.hits
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(hits):
            one()
        best = min(best, time.perf_counter() - started)
    assert app.page_cache.hits - hits_before == hits * rounds, "the page did not come from the cache"
    return best / hits * 1e6


def per_commit(app, commits: int) -> float:
    started = time.perf_counter()
    for number in range(commits):
        with app.storage.write() as tx:
            tx.set("users/bench-commit", {"number": number})
    return (time.perf_counter() - started) / commits * 1e3


def wait_pushed(app) -> None:
    assert app.follow_other_processes()
    deadline = time.monotonic() + 10
    while not app.page_cache.pushed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert app.page_cache.pushed, "the push did not start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commits", type=int, default=300)
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"storage": "sqlite", "serverdir": str(Path(tmp) / "sqlite")})
        try:
            _fill(app)
            results["sqlite"] = per_hit(app, args.hits, args.rounds)
        finally:
            app.close()
        server = PostgresServer()
        try:
            server.start()
            dsn = server.create_database("bench")
            options = {"storage": "postgresql", "postgresql_dsn": dsn, "serverdir": str(Path(tmp) / "pg")}
            app = create_app(options)
            try:
                _fill(app)
                results["postgresql, per-request check"] = per_hit(app, args.hits, args.rounds)
                wait_pushed(app)  # as serve does: commits of other processes pushed, no per-request check
                results["postgresql, pushed"] = per_hit(app, args.hits, args.rounds)
                commits = {"no follower": per_commit(app, args.commits)}
                follower = create_app({**options, "serverdir": str(Path(tmp) / "pg2")})
                try:
                    wait_pushed(follower)
                    commits["one follower"] = per_commit(app, args.commits)
                finally:
                    follower.close()
            finally:
                app.close()
        finally:
            server.stop()
    for name, micros in results.items():
        print(f"{name:32s} {micros:7.1f} us/hit ({1e6 / micros:7.0f} hits/s in-process, "
              f"{micros / results['sqlite']:.2f}x sqlite's time)")
    for name, millis in commits.items():
        print(f"postgresql commit, {name:13s} {millis:7.2f} ms/commit")


if __name__ == "__main__":
    main()
