"""The `mirror` scenario: warm mirror pages, one cold file for many clients, the project list.

A fake upstream index (``satchel.testing.fake_upstream.FakeUpstream``, a waitress server in a
thread of this process, on 127.0.0.1) stands in for the real one, so nothing leaves the machine
and the upstream can count what it is asked for. Both servers get a mirror index ``root/fake``
pointing at it (``mirror_cache_expiry`` 3600 on both).

1. Warm pages: three projects with 100, 500 and 2,000 files (ten wheels per version, hashes,
   requires-python, upload-time and core metadata, like a big project's page on the real index).
   Each server fetches each page until it lists every file, then wrk requests the three pages
   round robin with pip's headers (PEP 691 Accept), interleaved like the other load scenarios.
2. Cold file: `--cold-clients` clients (default 50) ask one server at the same moment for one
   file it has not cached yet; the upstream dribbles that file out over `--cold-seconds` seconds
   (default 2) so that the requests overlap. The upstream counts its downloads of the file.
   satchel first, then devpi, each its own cold first request.
3. Project list and memory: a second upstream lists `--mirror-names` project names (default
   300,000). Each server is restarted and its RSS read once it has settled (mirror of three
   projects only); then ``root/names`` is created pointing at the big list, the server is
   restarted again and its settled RSS read; then ``/root/names/+simple/`` is requested once
   (timed, names counted) and RSS read again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import statistics
import threading
import time
from collections.abc import Callable
from urllib.parse import urljoin

import requests
from envsetup import log
from httpfill import FillError, create_index, login
from measure import (
    PIP_HEADERS,
    BenchAbort,
    LoadSpec,
    check_page,
    count_files,
    fetch_page,
    measure_load,
    settled_rss,
    warm_up,
)
from report import Metric, Results
from servers import ServerProcess

MIRROR = "root/fake"
NAMES_MIRROR = "root/names"
PROJECTS = (("fake-small", 100), ("fake-medium", 500), ("fake-large", 2000))
TAGS = [f"cp3{minor}-cp3{minor}-{plat}" for minor in range(9, 14)
        for plat in ("manylinux_2_17_x86_64", "win_amd64")]  # ten wheels per version
COLD_PROJECT = "fake-cold"
COLD_SIZE = 8 << 20
UPSTREAM_THREADS = 64  # more than the cold-file clients: the upstream itself never queues them


def fake_upstream_class():
    try:
        from satchel.testing.fake_upstream import FakeUpstream
    except ImportError as exc:
        raise BenchAbort(f"satchel.testing.fake_upstream is not importable ({exc})") from exc
    return FakeUpstream


def populate(up, projects=PROJECTS) -> None:
    """Add the warm-page projects to the fake upstream."""
    for name, count in projects:
        dist = name.replace("-", "_")
        for i in range(count):
            version = f"1.{i // len(TAGS)}"
            filename = f"{dist}-{version}-{TAGS[i % len(TAGS)]}.whl"
            meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" \
                   f"Requires-Python: >=3.9\n".encode()
            up.add_file(name, filename, f"content of {filename}\n".encode(),
                        requires_python=">=3.9", metadata=meta,
                        upload_time=f"2024-01-{1 + i % 28:02d}T00:00:00Z")


def page_paths(index: str = MIRROR) -> list[str]:
    return [f"/{index}/+simple/{name}/" for name, _ in PROJECTS]


def _root_session(server: ServerProcess) -> tuple[requests.Session, dict[str, str]]:
    session = requests.Session()
    session.trust_env = False
    try:
        auth = login(session, server.base_url, "root", "")
    except FillError as exc:
        session.close()
        raise BenchAbort(f"{server.label}: {exc}") from exc
    return session, auth


def create_mirror(server: ServerProcess, name: str, url: str) -> None:
    session, auth = _root_session(server)
    with session:
        try:
            create_index(session, server.base_url, auth, name,
                         {"type": "mirror", "mirror_url": url, "mirror_cache_expiry": 3600})
        except FillError as exc:
            raise BenchAbort(f"{server.label}: {exc}") from exc


def warm_pages(label: str, server: ServerProcess, res: Results, limit: float = 180.0) -> None:
    """Fetch every page until it lists all its files; note the first (cold) fetch time."""
    cold = []
    for path, (_, expected) in zip(page_paths(), PROJECTS, strict=True):
        deadline = time.monotonic() + limit
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            ctype, body = fetch_page(server.base_url + path, PIP_HEADERS, timeout=limit)
            if attempts == 1:
                cold.append(f"{path.rsplit('/', 2)[-2]} {time.perf_counter() - started:.2f} s")
            found = count_files(server.base_url + path, ctype, body, want_json=True)
            if found == expected:
                break
            if time.monotonic() > deadline:
                raise BenchAbort(f"{label}: {path} lists {found} files after {limit:.0f} s of "
                                 f"warming, expected {expected}")
            time.sleep(0.5)
        if attempts > 1:
            res.notes.append(f"{label} mirror: {path} needed {attempts} requests before it listed "
                             f"all {expected} files")
    res.notes.append(f"{label} mirror: first (cold) page fetches: " + ", ".join(cold))
    log(f"{label}: mirror pages warm (cold fetches: {', '.join(cold)})")


# ---------------------------------------------------------------- cold file, many clients

def _file_url(server: ServerProcess, filename: str) -> str:
    page = server.base_url + f"/{MIRROR}/+simple/{COLD_PROJECT}/"
    ctype, body = fetch_page(page, PIP_HEADERS, timeout=120)
    if "json" not in ctype:
        raise BenchAbort(f"{server.label}: {page} answered {ctype!r}, expected JSON")
    for entry in json.loads(body).get("files", []):
        if entry.get("filename") == filename:
            return urljoin(page, entry["url"])
    raise BenchAbort(f"{server.label}: {page} does not list {filename}")


def _many_clients(url: str, clients: int, want: str) -> tuple[list[tuple[bool, float, str]], float]:
    """`clients` threads GET `url` at the same moment; (ok, seconds, problem) each, and wall time."""
    barrier = threading.Barrier(clients)
    outcomes: list[tuple[bool, float, str]] = []
    lock = threading.Lock()

    def client() -> None:
        barrier.wait()
        started = time.perf_counter()
        try:
            resp = requests.get(url, timeout=300, headers={"User-Agent": "pip/24.0"})
            ok = resp.status_code == 200 and hashlib.sha256(resp.content).hexdigest() == want
            why = "" if ok else f"HTTP {resp.status_code}, {len(resp.content)} bytes"
        except requests.RequestException as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append((ok, time.perf_counter() - started, why))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.monotonic() - started


def add_cold_file(up, dribble: float):
    """The file of the cold-file test, served slowly. Added before the mirrors are created:
    devpi answers 404 for projects missing from the upstream list it fetched."""
    content = random.Random(20240101).randbytes(COLD_SIZE)
    fake = up.add_file(COLD_PROJECT, "fake_cold-1.0-py3-none-any.whl", content, requires_python=">=3.8")
    up.fail(fake.path, f"slow:{dribble:g}")
    return fake


def cold_file(up, fake, servers: dict[str, ServerProcess], clients: int, dribble: float,
              res: Results) -> None:
    filename = fake.filename
    want = fake.sha256
    downloads, wall, good, slowest = {}, {}, {}, {}
    for label, server in servers.items():
        url = _file_url(server, filename)
        before = up.count(fake.path, method="GET")
        outcomes, wall[label] = _many_clients(url, clients, want)
        time.sleep(0.5)  # let a late background fetch show up in the count
        downloads[label] = up.count(fake.path, method="GET") - before
        good[label] = sum(1 for ok, _, _ in outcomes if ok)
        slowest[label] = max(t for _, t, _ in outcomes)
        bad = [why for ok, _, why in outcomes if not ok]
        if bad:
            res.notes.append(f"**{label} cold file: {len(bad)} of {clients} clients failed**, "
                             f"first: {bad[0]}")
        log(f"{label}: cold file, {clients} clients: {downloads[label]} upstream downloads, "
            f"{good[label]} correct answers, {wall[label]:.1f} s")
    res.metrics.append(Metric("mirror", f"upstream downloads, {clients} clients, one cold file",
                              downloads, 0, ratio=False))
    res.metrics.append(Metric("mirror", f"clients answered with the right bytes (of {clients})",
                              good, 0, ratio=False))
    res.metrics.append(Metric("mirror", "s until the last client had the cold file", slowest, 2))
    cand = res.labels[0]
    met = "met" if downloads[cand] == 1 and good[cand] == clients else "NOT met"
    res.targets.append(f"mirror cold file: {cand} made {downloads[cand]} upstream download(s) for "
                       f"{clients} concurrent clients, exactly 1 wanted (issue 4): {met}")
    res.notes.append(f"cold file: {COLD_SIZE >> 20} MiB, the fake upstream dribbles it over "
                     f"{dribble:g} s per download; downloads counted as GETs of its path")


# ---------------------------------------------------------------- project list and memory

Restart = Callable[[str], ServerProcess]


def names_memory(make_upstream, servers: dict[str, ServerProcess], restart: Restart, count: int,
                 res: Results) -> None:
    big = make_upstream(threads=UPSTREAM_THREADS)
    big.start()
    try:
        log(f"names upstream: {count:,} project names")
        big.add_projects(f"project-{n:07d}" for n in range(count))
        big.clear_requests()
        idle_small, idle_big, after, seconds, listed, at_start, again = {}, {}, {}, {}, {}, {}, {}
        for label in list(servers):
            server = restart(label)
            idle_small[label] = settled_rss(server)
            log(f"{label}: settled RSS {idle_small[label]:.0f} MiB (mirror of {len(PROJECTS)} projects)")
            create_mirror(server, NAMES_MIRROR, big.url)
            server = restart(label)
            before = big.count("/simple/")
            idle_big[label] = settled_rss(server)
            at_start[label] = big.count("/simple/") - before
            log(f"{label}: settled RSS {idle_big[label]:.0f} MiB with the {count:,}-name mirror; "
                f"{at_start[label]} list requests upstream since start")
            started = time.perf_counter()
            ctype, body = fetch_page(server.base_url + f"/{NAMES_MIRROR}/+simple/",
                                     {"Accept": "text/html"}, timeout=300)
            seconds[label] = time.perf_counter() - started
            listed[label] = body.count("<a ")
            size = len(body.encode())
            del body
            started = time.perf_counter()
            fetch_page(server.base_url + f"/{NAMES_MIRROR}/+simple/", {"Accept": "text/html"},
                       timeout=300)
            again[label] = time.perf_counter() - started
            after[label] = settled_rss(server, minimum=2.0)
            log(f"{label}: +simple/ list {seconds[label]:.2f} s, again {again[label]:.2f} s, "
                f"{listed[label]:,} names, settled RSS after {after[label]:.0f} MiB")
            res.notes.append(f"{label} names mirror: {at_start[label]} upstream list requests between "
                             f"restart and the idle reading; `/{NAMES_MIRROR}/+simple/` listed "
                             f"{listed[label]:,} names, {size:,} bytes, {ctype}")
    finally:
        big.stop()
    res.metrics.append(Metric("mirror", f"RSS MiB idle after restart, mirror of {len(PROJECTS)} "
                              "projects", idle_small, 0))
    res.metrics.append(Metric("mirror", f"RSS MiB idle after restart, plus a mirror listing "
                              f"{count:,} names", idle_big, 0))
    res.metrics.append(Metric("mirror", "s for the first +simple/ project list", seconds, 2))
    res.metrics.append(Metric("mirror", "s for a second +simple/ project list", again, 2))
    res.metrics.append(Metric("mirror", "RSS MiB after those list requests (settled)", after, 0))
    idle_growth = {lab: idle_big[lab] - idle_small[lab] for lab in idle_big}
    growth = {lab: after[lab] - idle_small[lab] for lab in after}
    res.metrics.append(Metric("mirror", "RSS MiB growth from the list: idle", idle_growth, 0,
                              ratio=False))
    res.metrics.append(Metric("mirror", "RSS MiB growth from the list: after the list requests",
                              growth, 0, ratio=False))
    cand, base = res.labels
    if listed[cand] < count:
        res.notes.append(f"**{cand}: the project list showed {listed[cand]:,} of {count:,} names**")
    met = "met" if growth[cand] < max(growth[base], 0) / 4 else "NOT met"
    res.targets.append(f"mirror memory: with a {count:,}-name upstream list {cand} grew "
                       f"{idle_growth[cand]:.0f} MiB idle and {growth[cand]:.0f} MiB after two list "
                       f"requests, {base} {idle_growth[base]:.0f} / {growth[base]:.0f} MiB; wanted: no "
                       f"growth like {base}'s (issue 4; here: under a quarter of {base}'s): {met}")


# ---------------------------------------------------------------- entry point

def run_mirror(load, servers: dict[str, ServerProcess], restart: Restart, args, res: Results) -> None:
    FakeUpstream = fake_upstream_class()  # noqa: N806
    # waitress warns about every queued request; 50 parallel downloads are expected here
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    up = FakeUpstream(threads=UPSTREAM_THREADS)
    up.start()
    try:
        log(f"fake upstream at {up.url}: " + ", ".join(f"{n} ({c} files)" for n, c in PROJECTS))
        populate(up)
        cold = add_cold_file(up, args.cold_seconds)
        for label, server in servers.items():
            create_mirror(server, MIRROR, up.url)
        for label, server in servers.items():
            warm_pages(label, server, res)
        spec = LoadSpec("mirror", page_paths(), PIP_HEADERS)
        for label, server in servers.items():
            for path, (_, expected) in zip(spec.paths, PROJECTS, strict=True):
                check_page(label, server, path, spec.headers, expected, res, "mirror")
        warm_up(load, servers, [spec], args.warmup)
        page_requests = up.count("/simple/?*")
        measure_load(load, servers, [spec], args.rounds, args.duration, res)
        during = up.count("/simple/?*") - page_requests
        if during:
            res.notes.append(f"the fake upstream saw {during} page requests during the warm-page "
                             "measurements")
        cand, base = res.labels
        per = {lab: statistics.median(s.result.rps for s in res.load
                                      if s.scenario == "mirror" and s.label == lab)
               for lab in res.labels}
        if per[base]:
            ratio = per[cand] / per[base]
            met = "met" if ratio >= 5 else "NOT met"
            res.targets.append(f"mirror warm pages: {cand}/{base} requests/s {ratio:.1f}, at least "
                               f"5x wanted (issue 4): {met}")
        cold_file(up, cold, servers, args.cold_clients, args.cold_seconds, res)
        if args.mirror_names > 0:
            names_memory(FakeUpstream, servers, restart, args.mirror_names, res)
    finally:
        up.stop()
