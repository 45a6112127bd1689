"""The web UI against devpi-server + devpi-web (issue 14): version page, a 2,000-version project page,
a 2,000-project index page and searches, requests/s interleaved; RSS after indexing N projects.

Both servers get the same data: index alice/big with 2,000 projects (one registered version each,
summary and description), a project with 2,000 versions, a release with a wheel and a
reStructuredText description; index alice/rest with the remaining projects (N in all). Registering
that over HTTP took devpi-server 677 s for just 5,000 registrations (each slower than the last), so
``prepare`` registers a few releases on devpi over HTTP, exports them with ``devpi-export``,
writes a dump of the whole data set in that format, and loads it into both servers
(``devpi-import --no-events``, ``satchel import --from-devpi``); each server is then started alone
and timed until a search finds the last project (devpi-web's Whoosh indexing runs then), and its RSS
taken. ``measure`` restarts both on the prepared serverdirs and measures with browser headers
(Accept: text/html, a Mozilla User-Agent): run it inside ``/work/bin/quiet``, ``prepare`` outside.

Usage: python bench/web_bench.py prepare DIR [--projects 10000]
       python bench/web_bench.py measure DIR [--rounds 3] [--duration 10] [--write-results]
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import (append_results, create_user_and_index, devpi_init, devpi_server,  # noqa: E402
                        run_checked, satchel_launcher, satchel_server, session)
from envsetup import BENCH_DIR, ensure_devpi, ensure_wrk, log, venv_bin  # noqa: E402
from loadgen import PythonLoad, WrkLoad  # noqa: E402
from measure import BenchAbort, LoadSpec, fetch_page, measure_load, settled_rss, warm_up  # noqa: E402
from report import Metric, Results, summary_table  # noqa: E402

from satchel.testing.fixtures import make_wheel  # noqa: E402

WEB_VENV = BENCH_DIR / ".venv-devpi-web"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
           "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) bench"}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}
BIG = 2000
TOPICS = [f"topic{n}" for n in range(50)]
DESCRIPTION = "Overview\n========\n\nThis package does *useful* things.\n\n- one\n- two\n\n``code`` here.\n" * 3


def ensure_devpi_web():
    bindir = ensure_devpi(WEB_VENV)
    probe = subprocess.run([str(venv_bin("python", WEB_VENV)), "-c", "import devpi_web"], capture_output=True)
    if probe.returncode != 0:
        log(f"installing devpi-web into {WEB_VENV}")
        subprocess.run([str(venv_bin("python", WEB_VENV)), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "devpi-server==6.20.3", "devpi-web"], check=True)
    return bindir


def registrations(total: int, big: int = BIG) -> list[tuple[str, str, str, dict]]:
    """``(index, name, version, fields)`` for every registration, in a fixed order."""
    items = []
    for n in range(total):
        index = "big" if n < big else "rest"
        name = f"proj-{n:05d}"
        fields = {"summary": f"{name} helps with {TOPICS[n % 50]} and {TOPICS[(n * 7 + 3) % 50]}",
                  "description": DESCRIPTION, "keywords": f"bench {TOPICS[n % 50]}"}
        items.append((index, name, "1.0", fields))
    items += [("big", "manyver", f"1.{n}", {"summary": "a project of many versions"}) for n in range(big)]
    return items


def fill(base: str, total: int, label: str, big: int = BIG) -> float:
    """Register ``registrations(total, big)`` over HTTP (4 clients); seconds taken."""
    s = session()
    auth = create_user_and_index(s, base)  # alice and alice/dev
    for index in ("big", "rest"):
        reply = s.put(f"{base}/alice/{index}", json={"bases": []}, headers={**JSON, **auth}, timeout=120)
        assert reply.ok, reply.text
    filename, content = make_wheel("hello-web", "1.0")
    form = {":action": "file_upload", "name": "hello-web", "version": "1.0", "protocol_version": "1",
            "summary": "A greeting machine", "description": DESCRIPTION}
    reply = s.post(f"{base}/alice/big/", data=form, files={"content": (filename, content)}, headers=auth,
                   timeout=120)
    assert reply.ok, reply.text
    items = registrations(total, big)
    started = time.monotonic()

    def register(item):
        index, name, version, fields = item
        with session() as own:
            form = {":action": "submit", "name": name, "version": version, **fields}
            answer = own.post(f"{base}/alice/{index}/", data=form, headers=auth, timeout=300)
            assert answer.ok, (name, version, answer.status_code, answer.text[:200])

    with ThreadPoolExecutor(4) as pool:
        for number, _ in enumerate(pool.map(register, items), 1):
            if number % 2000 == 0:
                log(f"{label}: {number}/{len(items)} registered")
    return time.monotonic() - started


def wait_searchable(base: str, name: str, label: str, limit: float) -> float:
    """Seconds until a search finds ``name`` (devpi-web indexes in the background)."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            _, body = fetch_page(f"{base}/+search?query={name}", BROWSER, timeout=120)
        except BenchAbort as exc:  # devpi-web answers errors while its index is being built
            log(f"{label}: {exc}")
            body = ""
        if name in body:
            return time.monotonic() - started
        time.sleep(1)
    log(f"{label}: {name} not searchable after {limit:.0f} s")
    return float("nan")


def template_dump(bindir: Path, work: Path) -> Path:
    """devpi's own export of a few releases over HTTP: the dump format, users and the wheel file."""
    target = work / "template"
    if not (target / "dataindex.json").exists():
        devpi_init(bindir, work / "devpi-template")
        server = devpi_server("devpi-template", bindir, work / "devpi-template", work / "devpi-template.log")
        server.start()
        try:
            server.wait_ready()
            fill(server.base_url, 3, "devpi-template", big=2)
        finally:
            server.stop()
        run_checked([str(bindir / "devpi-export"), "--serverdir", str(work / "devpi-template"), str(target)],
                    "devpi-export")
    return target


def write_dump(template: Path, target: Path, total: int) -> int:
    """``template`` with the projects of ``registrations(total)``; returns the registrations written."""
    shutil.copytree(template, target)
    data = json.loads((template / "dataindex.json").read_text())
    big = data["indexes"]["alice/big"]["projects"]
    sample = big["proj-00001"]["1.0"]  # devpi's record of a registration: every metadata field
    projects = {"big": {"hello-web": big["hello-web"]}, "rest": {}}
    items = registrations(total)
    for index, name, version, fields in items:
        record = {**sample, "name": name, "version": version, "description": "", "keywords": "", **fields}
        projects[index].setdefault(name, {})[version] = record
    for index, found in projects.items():
        data["indexes"][f"alice/{index}"]["projects"] = found
    (target / "dataindex.json").write_text(json.dumps(data))
    return len(items)


def server_for(label: str, bindir: Path, work: Path):
    if label == "satchel":
        return satchel_server("satchel", work / "satchel", work / "satchel.log")
    return devpi_server("devpi", bindir, work / "devpi", work / "devpi.log", "--keyfs-cache-size", "200000")


def prepare(args) -> int:
    work = Path(args.dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    bindir = ensure_devpi_web()
    dump = work / "dump"
    if dump.exists():
        shutil.rmtree(dump)
    written = write_dump(template_dump(bindir, work), dump, args.projects)
    facts = {"projects": args.projects, "registrations": written, "import": {}, "searchable": {}, "rss": {},
             "ready": {}}
    for label, argv in (
            ("devpi", [str(bindir / "devpi-import"), "--serverdir", str(work / "devpi"), "--no-root-pypi",
                       "--no-events", str(dump)]),
            ("satchel", [*satchel_launcher(), "import", "--from-devpi", "--serverdir", str(work / "satchel"),
                         str(dump)])):
        if (work / label).exists():
            shutil.rmtree(work / label)
        facts["import"][label] = run_checked(argv, f"{label} import", work / f"{label}-import.log")
        log(f"{label}: imported {written:,} registrations in {facts['import'][label]:.0f} s")
        server = server_for(label, bindir, work)
        server.start()
        try:
            facts["ready"][label] = server.wait_ready(timeout=600)
            # from the process start: devpi-web indexes the imported data once the server runs
            waited = wait_searchable(server.base_url, f"proj-{args.projects - 1:05d}", label, args.search_wait)
            facts["searchable"][label] = waited + facts["ready"][label]
            facts["rss"][label] = settled_rss(server)
            log(f"{label}: searchable {facts['searchable'][label]:.1f} s after start, "
                f"RSS {facts['rss'][label]:.0f} MiB")
        finally:
            server.stop()
    (work / "prepared.json").write_text(json.dumps(facts, indent=1))
    return 0


def single_client(base: str, paths: list[str], count: int, warm: bool = True) -> tuple[float, float]:
    """p50 and max ms of ``count`` requests one after the other, round robin over ``paths`` (after one
    unmeasured request unless ``warm`` is False: then each path is requested once, never seen before)."""
    if warm:
        fetch_page(base + paths[0], BROWSER, timeout=300)
    times = []
    for number in range(count):
        started = time.perf_counter()
        fetch_page(base + paths[number % len(paths)], BROWSER, timeout=300)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return times[len(times) // 2], times[-1]


def measure(args) -> int:
    work = Path(args.dir).resolve()
    facts = json.loads((work / "prepared.json").read_text())
    projects = facts["projects"]
    bindir = ensure_devpi_web()
    wrk = ensure_wrk()
    load = WrkLoad(wrk, threads=2, connections=8) if wrk else PythonLoad(connections=8)
    # devpi-web needs seconds for its index and big project pages: 2 connections and a 2-minute timeout
    slow_duration = args.slow_duration
    slow = WrkLoad(wrk, threads=2, connections=2, timeout=120) if wrk else PythonLoad(connections=2)
    res = Results("satchel", "devpi")
    res.load_tool = load.describe(args.duration)
    specs = [LoadSpec("web-version", ["/alice/big/hello-web/1.0"], BROWSER),
             LoadSpec("web-search", ["/+search?query=topic17"], BROWSER),
             LoadSpec(f"web-search-all-{projects}", ["/+search?query=proj"], BROWSER)]
    slow_specs = [LoadSpec("web-project-2000-versions", ["/alice/big/manyver"], BROWSER),
                  LoadSpec("web-index-2000-projects", ["/alice/big"], BROWSER)]
    last = f"proj-{projects - 1:05d}"
    servers = {label: server_for(label, bindir, work) for label in ("satchel", "devpi")}
    latencies = {}
    try:
        for label, server in servers.items():
            server.start()
            server.wait_ready(timeout=600)
            wait_searchable(server.base_url, last, label, 600)
        for label, server in servers.items():
            for spec in specs + slow_specs:
                ctype, body = fetch_page(server.base_url + spec.paths[0], BROWSER, timeout=300)
                res.notes.append(f"{label} {spec.scenario}: `{spec.paths[0]}` {len(body.encode()):,} bytes, "
                                 f"{ctype}")
                if "html" not in ctype:
                    raise SystemExit(f"{label} {spec.paths[0]} answered {ctype}, not a page")
        for spec in specs + slow_specs:
            latencies[spec.scenario] = {label: single_client(server.base_url, spec.paths,
                                                             20 if label == "satchel" else 5)
                                        for label, server in servers.items()}
        # searches nobody asked before (satchel keeps result pages: these are never kept ones)
        fresh = {"web-search, 20 different words, each once": [f"/+search?query=topic{n}" for n in range(20, 40)],
                 f"web-search-all-{projects}, pages 2-21, each once": [f"/+search?query=proj&page={n}"
                                                                        for n in range(2, 22)]}
        for scenario, paths in fresh.items():
            latencies[scenario] = {label: single_client(server.base_url, paths, 20 if label == "satchel" else 5,
                                                        warm=False)
                                   for label, server in servers.items()}
        warm_up(load, servers, specs, args.warmup)
        measure_load(load, servers, specs, args.rounds, args.duration, res)
        measure_load(slow, servers, slow_specs, args.rounds, slow_duration, res)
        after = {label: settled_rss(server) for label, server in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    registrations_total = facts["registrations"]
    res.metrics += [
        Metric("fill", f"s to import {registrations_total:,} registrations ({projects:,} projects) "
                       "from one devpi dump", facts["import"]),
        Metric("search index", "s from the server's start until a search finds the last project",
               facts["searchable"]),
        Metric("memory", f"RSS MiB after indexing {projects:,} projects", facts["rss"], 0),
        Metric("memory", "RSS MiB after the page load", after, 0)]
    ratios = {}
    for spec in specs + slow_specs:
        mine = [s.result.rps for s in res.load if s.scenario == spec.scenario and s.label == "satchel"]
        theirs = [s.result.rps for s in res.load if s.scenario == spec.scenario and s.label == "devpi"]
        theirs_median = sorted(theirs)[len(theirs) // 2]
        ratios[spec.scenario] = (sorted(mine)[len(mine) // 2] / theirs_median) if theirs_median else None
    lines = [f"Command: `python bench/web_bench.py prepare DIR --projects {projects}` (outside the quiet hold), "
             f"then `/work/bin/quiet python bench/web_bench.py measure DIR --rounds {args.rounds} "
             f"--duration {args.duration:g} --slow-duration {args.slow_duration:g}`; devpi-server 6.20.3 with devpi-web (Whoosh search); both loaded "
             "from the same devpi dump; browser headers; {}; the 2,000-version project and 2,000-project index pages "
             "with wrk -t2 -c2 -d{}s --timeout 120s."
             .format(res.load_tool, slow_duration), "", *summary_table(res), "",
             "One client, one request after the other (p50 / max ms; satchel 20 requests, devpi 5):", "",
             "| page | satchel p50 | satchel max | devpi p50 | devpi max |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {scenario} | {v['satchel'][0]:.1f} | {v['satchel'][1]:.1f} | {v['devpi'][0]:.1f} | "
              f"{v['devpi'][1]:.1f} |" for scenario, v in latencies.items()]
    lines += [""]
    lines += [f"- {scenario}: satchel/devpi-web {ratio:.1f}x requests/s (issue 14 wants at least 5x): "
              f"{'met' if ratio >= 5 else 'NOT met'}" if ratio is not None else
              f"- {scenario}: devpi-web completed no request in the run (ratio not measurable)"
              for scenario, ratio in ratios.items()]
    lines += ["- The index page differs by design: devpi-web lists all 2,000 projects on one page, satchel "
              "100 per page (with paging and a filter).",
              "- The 2,000-version project: satchel lists every version (registered-only ones too); compare the "
              "page sizes below.", ""]
    lines += [f"- {note}" for note in res.notes]
    warnings = res.neighbour_warnings()
    if warnings:
        lines += ["", "Noisy measurements (other processes' CPU): " + "; ".join(warnings)]
    report = "\n".join(lines)
    print(report)
    if args.write_results:
        append_results("web UI against devpi-web (bench/web_bench.py)", report)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="step", required=True)
    first = sub.add_parser("prepare", help="load the data set into both servers and time their indexing")
    first.add_argument("dir")
    first.add_argument("--projects", type=int, default=10000)
    first.add_argument("--search-wait", type=float, default=1800,
                       help="seconds to wait for the last project to become searchable")
    second = sub.add_parser("measure", help="load both prepared servers with browser requests")
    second.add_argument("dir")
    second.add_argument("--rounds", type=int, default=3)
    second.add_argument("--duration", type=float, default=10)
    second.add_argument("--slow-duration", type=float, default=30,
                        help="seconds per run of the two big pages (2 connections)")
    second.add_argument("--warmup", type=float, default=2)
    second.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    return prepare(args) if args.step == "prepare" else measure(args)


if __name__ == "__main__":
    raise SystemExit(main())
