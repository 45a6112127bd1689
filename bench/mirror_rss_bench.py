"""Resident memory after caching 1,000 mirrored projects: satchel against devpi-server (issue 4).

A local fake upstream serves N small projects; each server gets a mirror index of it, every
project page is requested once (pip's PEP 691 headers), then the settled RSS is read.
Usage: python bench/mirror_rss_bench.py [--projects 1000] [--write-results]
"""

import argparse
import base64
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import append_results, devpi_init, devpi_server, satchel_server  # noqa: E402
from envsetup import ensure_devpi  # noqa: E402
from measure import settled_rss  # noqa: E402

from satchel.testing.fake_upstream import FakeUpstream  # noqa: E402

PAGE = {"Accept": "application/vnd.pypi.simple.v1+json", "User-Agent": "pip/24.0"}
JSON = {"Accept": "application/json", "Content-Type": "application/json"}


def login_root(base: str) -> dict:
    token = requests.post(base + "/+login", json={"user": "root", "password": ""}, headers=JSON,
                          timeout=30).json()["result"]["password"]
    auth = {**JSON, "X-Devpi-Auth": base64.b64encode(f"root:{token}".encode()).decode()}
    return auth


def warm(base: str, names: list[str]) -> int:
    def get(name):
        return requests.get(f"{base}/root/fake/+simple/{name}/", headers=PAGE, timeout=60).status_code

    with ThreadPoolExecutor(8) as pool:
        return sum(1 for status in pool.map(get, names) if status == 200)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    bindir = ensure_devpi()
    rows = []
    with FakeUpstream() as upstream, tempfile.TemporaryDirectory() as tmp:
        names = [f"proj-{number:05d}" for number in range(args.projects)]
        for name in names:
            for version in ("1.0", "1.1"):
                upstream.add_file(name, f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
                                  f"{name} {version}".encode())
        tmp = Path(tmp)
        devpi_init(bindir, tmp / "devpi")
        servers = {"satchel": satchel_server("satchel", tmp / "satchel", tmp / "satchel.log"),
                   "devpi": devpi_server("devpi", bindir, tmp / "devpi", tmp / "devpi.log")}
        try:
            for label, server in servers.items():
                server.start()
                server.wait_ready()
                auth = login_root(server.base_url)
                config = {"type": "mirror", "mirror_url": upstream.url, "mirror_cache_expiry": 3600}
                reply = requests.put(server.base_url + "/root/fake", json=config, headers=auth, timeout=30)
                reply.raise_for_status()
                idle = settled_rss(server)
                started = time.monotonic()
                served = warm(server.base_url, names)
                seconds = time.monotonic() - started
                after = settled_rss(server)
                rows.append((label, idle, after, served, seconds))
                server.stop()
        finally:
            for server in servers.values():
                server.stop()
    satchel, devpi = rows
    lines = [f"Command: `python bench/mirror_rss_bench.py --projects {args.projects}`; a fake upstream on 127.0.0.1 "
             "with N projects of 2 wheels; one mirror index per server; every page requested once (8 threads, "
             "PEP 691 headers), then settled RSS.", "",
             "| server | RSS MiB idle | RSS MiB after caching | pages served | seconds to warm |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for label, idle, after, served, seconds in rows:
        lines.append(f"| {label} | {idle:.0f} | {after:.0f} | {served} | {seconds:.1f} |")
    lines += ["", f"satchel/devpi RSS after caching: {satchel[2] / devpi[2]:.2f} (issue 4: below devpi's wanted: "
              f"{'met' if satchel[2] < devpi[2] else 'NOT met'})", ""]
    report = "\n".join(lines)
    print(report)
    if args.write_results:
        append_results("mirror memory (bench/mirror_rss_bench.py)", report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
