"""Search of the web UI at N projects, satchel only (no devpi): the worst case of issue 14's "results for
10,000 projects in under 100 ms", a word found in every project, computed fresh for every page.

Fills a serverdir (sqlite) or a database (postgresql: a server this script starts with ``initdb``)
through the model API with the projects of ``web_bench.registrations`` (N projects, one version each,
and a project of 2,000 versions), then times, one request after the other, pages 2-21 of the search
``proj`` (every project) and 20 different narrow words, each asked once:

- in process: the search backend's ``search()``, no page cache in front (``--storage`` each);
- over HTTP: ``satchel serve`` on the same data, browser headers, each URL never asked before (so the
  kept result pages cannot answer).

Usage: /work/bin/quiet python bench/search_bench.py [--projects 10000] [--storage sqlite,postgresql]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import satchel_server  # noqa: E402
from envsetup import log  # noqa: E402
from measure import fetch_page  # noqa: E402
from web_bench import BROWSER, TOPICS, registrations  # noqa: E402

from satchel.app import create_app  # noqa: E402
from satchel.model import indexes, projects, users  # noqa: E402
from satchel.testing.pgserver import PostgresServer, Unavailable  # noqa: E402
from satchel_web import search_query  # noqa: E402
from satchel_web.state import web_state  # noqa: E402

PAGES = range(2, 22)
WORDS = [TOPICS[n] for n in range(20, 40)]


def fill(options: dict, total: int) -> float:
    """Register the data set through the model (one transaction) and let the search index catch up;
    seconds taken."""
    started = time.perf_counter()
    app = create_app(options)
    try:
        with app.storage.write() as tx:
            users.create_user(tx, "alice", password="pw")
            stages = {name: indexes.create_index(tx, app, "alice", name, {"type": "stage", "bases": []})
                      for name in ("big", "rest")}
            for index, name, version, fields in registrations(total):
                projects.replace_version_metadata(tx, stages[index], name, version,
                                                  {"name": name, "version": version, **fields})
        web_state(app).search.sync()
    finally:
        app.close()
    return time.perf_counter() - started


def summary(times: list[float]) -> str:
    return f"p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms ({len(times)} requests)"


def in_process(options: dict) -> dict[str, list[float]]:
    """ms of each backend search: pages of ``proj``, then the narrow words (first page each)."""
    app = create_app(options)
    try:
        backend = web_state(app).search
        backend.sync()
        readable = {"alice/big", "alice/rest", "alice/dev"}.__contains__
        found = {}
        times = {"all": [], "narrow": []}
        for label, asks in (("all", [("proj", page) for page in PAGES]), ("narrow", [(w, 1) for w in WORDS])):
            for text, page in asks:
                query = search_query.parse(text)
                started = time.perf_counter()
                result = backend.search(query, readable, offset=(page - 1) * 20, limit=20)
                times[label].append((time.perf_counter() - started) * 1000)
                found[label] = result.total
        log(f"  in process, found {found}")
        return times
    finally:
        app.close()


def over_http(serverdir: Path, env: dict | None) -> dict[str, list[float]]:
    server = satchel_server("satchel", serverdir, serverdir.parent / f"{serverdir.name}.log")
    server.env = env
    server.start()
    try:
        server.wait_ready(timeout=300)
        fetch_page(server.base_url + "/+search?query=warmup", BROWSER)
        times = {"all": [], "narrow": []}
        for label, paths in (("all", [f"/+search?query=proj&page={page}" for page in PAGES]),
                             ("narrow", [f"/+search?query={word}" for word in WORDS])):
            for path in paths:
                started = time.perf_counter()
                _, body = fetch_page(server.base_url + path, BROWSER, timeout=120)
                times[label].append((time.perf_counter() - started) * 1000)
                assert "projects found" in body, path
        return times
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--storage", type=lambda text: text.split(","), default=["sqlite", "postgresql"])
    args = parser.parse_args()
    postgres = None
    with tempfile.TemporaryDirectory(prefix="search-bench-") as tmp:
        try:
            for storage in args.storage:
                serverdir = Path(tmp) / storage
                options, env = {"serverdir": str(serverdir), "storage": storage}, None
                if storage == "postgresql":
                    if postgres is None:
                        try:
                            postgres = PostgresServer().start()
                        except Unavailable as exc:
                            log(f"PostgreSQL: {exc}")
                            return 2
                    options["postgresql_dsn"] = postgres.create_database("search")
                    env = {**os.environ, "SATCHEL_STORAGE": "postgresql",
                           "SATCHEL_POSTGRESQL_DSN": options["postgresql_dsn"]}
                log(f"{storage}: filled {args.projects:,} projects in {fill(options, args.projects):.1f} s")
                measured = {"in process": in_process(options), "over HTTP": over_http(serverdir, env)}
                for where, times in measured.items():
                    log(f"  {storage} {where}: search matching every project, pages 2-21 each once: "
                        f"{summary(times['all'])}")
                    log(f"  {storage} {where}: 20 different narrow words, each once: {summary(times['narrow'])}")
        finally:
            if postgres is not None:
                postgres.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
