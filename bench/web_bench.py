"""The web UI against devpi-server + devpi-web (issue 14): version page, a 2,000-version project page,
a 2,000-project index page and a search, requests/s interleaved; RSS after indexing N projects.

Both servers get the same data over HTTP: index alice/big with 2,000 projects (one registered
version each, summary and description), a project with 2,000 versions, a release with a wheel and
a reStructuredText description; index alice/rest with the remaining projects (N in all). Browser
headers (Accept: text/html, a Mozilla User-Agent).
Usage: python bench/web_bench.py [--projects 10000] [--rounds 3] [--duration 10] [--write-results]
"""

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import (append_results, create_user_and_index, devpi_init, devpi_server,  # noqa: E402
                        satchel_server, session)
from envsetup import BENCH_DIR, ensure_devpi, ensure_wrk, log, venv_bin  # noqa: E402
from loadgen import PythonLoad, WrkLoad  # noqa: E402
from measure import LoadSpec, fetch_page, measure_load, settled_rss, warm_up  # noqa: E402
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
    import subprocess
    probe = subprocess.run([str(venv_bin("python", WEB_VENV)), "-c", "import devpi_web"], capture_output=True)
    if probe.returncode != 0:
        log(f"installing devpi-web into {WEB_VENV}")
        subprocess.run([str(venv_bin("python", WEB_VENV)), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "devpi-server==6.20.3", "devpi-web"], check=True)
    return bindir


def registrations(total: int) -> list[tuple[str, str, str, dict]]:
    """``(index, name, version, fields)`` for every registration, in a fixed order."""
    items = []
    for n in range(total):
        index = "big" if n < BIG else "rest"
        name = f"proj-{n:05d}"
        fields = {"summary": f"{name} helps with {TOPICS[n % 50]} and {TOPICS[(n * 7 + 3) % 50]}",
                  "description": DESCRIPTION, "keywords": f"bench {TOPICS[n % 50]}"}
        items.append((index, name, "1.0", fields))
    items += [("big", "manyver", f"1.{n}", {"summary": "a project of many versions"}) for n in range(BIG)]
    return items


def fill(base: str, total: int, label: str) -> float:
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
    items = registrations(total)
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
        _, body = fetch_page(f"{base}/+search?query={name}", BROWSER)
        if name in body:
            return time.monotonic() - started
        time.sleep(2)
    log(f"{label}: {name} not searchable after {limit:.0f} s")
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--search-wait", type=float, default=600,
                        help="seconds to wait for the last project to become searchable (then measure anyway)")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    bindir = ensure_devpi_web()
    wrk = ensure_wrk()
    load = WrkLoad(wrk, threads=2, connections=8) if wrk else PythonLoad(connections=8)
    res = Results("satchel", "devpi")
    res.load_tool = load.describe(args.duration)
    specs = [LoadSpec("web-version", ["/alice/big/hello-web/1.0"], BROWSER),
             LoadSpec("web-project-2000-versions", ["/alice/big/manyver"], BROWSER),
             LoadSpec("web-index-2000-projects", ["/alice/big"], BROWSER),
             LoadSpec("web-search", ["/+search?query=topic17"], BROWSER)]
    last = f"proj-{args.projects - 1:05d}"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        devpi_init(bindir, tmp / "devpi")
        servers = {"satchel": satchel_server("satchel", tmp / "satchel", tmp / "satchel.log"),
                   "devpi": devpi_server("devpi", bindir, tmp / "devpi", tmp / "devpi.log",
                                         "--keyfs-cache-size", "200000")}
        try:
            for server in servers.values():
                server.start()
                server.wait_ready()
            fills, searchable, rss = {}, {}, {}
            for label, server in servers.items():
                fills[label] = fill(server.base_url, args.projects, label)
                searchable[label] = wait_searchable(server.base_url, last, label, args.search_wait)
                rss[label] = settled_rss(server)
                log(f"{label}: filled in {fills[label]:.0f} s, searchable after {searchable[label]:.1f} s more, "
                    f"RSS {rss[label]:.0f} MiB")
            for label, server in servers.items():
                for spec in specs:
                    ctype, body = fetch_page(server.base_url + spec.paths[0], BROWSER)
                    res.notes.append(f"{label} {spec.scenario}: `{spec.paths[0]}` {len(body.encode()):,} bytes, "
                                     f"{ctype}")
                    if "html" not in ctype:
                        raise SystemExit(f"{label} {spec.paths[0]} answered {ctype}, not a page")
            warm_up(load, servers, specs, args.warmup)
            measure_load(load, servers, specs, args.rounds, args.duration, res)
            after = {label: settled_rss(server) for label, server in servers.items()}
        finally:
            for server in servers.values():
                server.stop()
    total = args.projects + BIG
    res.metrics += [
        Metric("fill", f"s to register {total:,} versions ({args.projects:,} projects), 4 clients", fills),
        Metric("search index", "s after the fill until the last project is found", searchable),
        Metric("memory", f"RSS MiB after indexing {args.projects:,} projects", rss, 0),
        Metric("memory", "RSS MiB after the page load", after, 0)]
    ratios = {}
    for spec in specs:
        mine = [s.result.rps for s in res.load if s.scenario == spec.scenario and s.label == "satchel"]
        theirs = [s.result.rps for s in res.load if s.scenario == spec.scenario and s.label == "devpi"]
        theirs_median = sorted(theirs)[len(theirs) // 2]
        ratios[spec.scenario] = (sorted(mine)[len(mine) // 2] / theirs_median) if theirs_median else None
    lines = [f"Command: `python bench/web_bench.py --projects {args.projects} --rounds {args.rounds} "
             f"--duration {args.duration:g}`; devpi-server 6.20.3 with devpi-web (Whoosh search), both filled "
             "over HTTP with the same data; browser headers; {}.".format(res.load_tool), "",
             *summary_table(res), ""]
    lines += [f"- {scenario}: satchel/devpi-web {ratio:.1f}x requests/s (issue 14 wants at least 5x): "
              f"{'met' if ratio >= 5 else 'NOT met'}" if ratio is not None else
              f"- {scenario}: devpi-web completed no request within {args.duration:g} s (met)"
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


if __name__ == "__main__":
    raise SystemExit(main())
