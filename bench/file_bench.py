#!/usr/bin/env python
"""File serving (issue 15.5): MB/s of one 20 MB wheel from satchel alone (no nginx) and from nginx.

satchel stores the wheel through its upload API and serves it from its file blob store; nginx serves the
same bytes from a plain file (``sendfile on``: the physical limit of this machine). Each measurement is
``wrk -t2 -c8`` on the file's URL for ``--duration`` seconds, the two servers interleaved per round.
MB/s = complete answers × file size ÷ seconds (MB = 10^6 bytes); CPU is the server's, in cores.

    python bench/file_bench.py                     # 20 MB, 3 rounds of 10 s
    python bench/file_bench.py --size-mb 50 --rounds 1 --duration 5

Exit status 2: a precondition failed (no wrk, a server did not start or answered other bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import io
import random
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path
from urllib.parse import urljoin

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from envsetup import ensure_nginx, ensure_wrk, log  # noqa: E402
from fixtures import INDEX, USER  # noqa: E402
from httpfill import create_user_and_index  # noqa: E402
from loadgen import WrkLoad  # noqa: E402
from procstat import CpuSampler  # noqa: E402
from scenario_bare import write_nginx_conf  # noqa: E402
from servers import HOST, ServerProcess, free_port  # noqa: E402
from targets import SatchelTarget  # noqa: E402

PROJECT, VERSION = "big-pkg", "1.0"
FILENAME = f"big_pkg-{VERSION}-py3-none-any.whl"


def big_wheel(size: int) -> bytes:
    """A valid wheel of about ``size`` bytes: one stored member of seeded random (incompressible) bytes."""
    payload = random.Random(15).randbytes(size)
    info = f"big_pkg-{VERSION}.dist-info"
    members = {"big_pkg/data.bin": payload,
                f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {VERSION}\n".encode(),
                f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: satchel-bench\nRoot-Is-Purelib: true\n"
                                 b"Tag: py3-none-any\n"}
    members[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in [*members, f"{info}/RECORD"]).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def upload(base_url: str, content: bytes) -> str:
    """Upload the wheel as alice to alice/dev; return its file path on the server."""
    with requests.Session() as session:
        auth = create_user_and_index(session, base_url)
        form = {":action": "file_upload", "name": PROJECT, "version": VERSION, "protocol_version": "1",
                "sha256_digest": hashlib.sha256(content).hexdigest()}
        reply = session.post(f"{base_url}/{USER}/{INDEX}/", data=form, headers=auth, timeout=300,
                             files={"content": (FILENAME, content, "application/octet-stream")})
        reply.raise_for_status()
        page = session.get(f"{base_url}/{USER}/{INDEX}/+simple/{PROJECT}/", timeout=60,
                           headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        page.raise_for_status()
    url = page.json()["files"][0]["url"]
    return urljoin(f"/{USER}/{INDEX}/+simple/{PROJECT}/", url)


def nginx_config(workdir: Path, port: int) -> Path:
    """nginx sending files from ``workdir/www`` with ``sendfile``."""
    return write_nginx_conf(workdir, port, """
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;""", f"""
      root {workdir / "www"};""")


def fetch_checked(server: ServerProcess, path: str, content: bytes) -> None:
    """GET the file once (as pip asks, gzip accepted); it must be the very bytes, not re-encoded."""
    connection = http.client.HTTPConnection(HOST, server.port, timeout=120)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip, deflate"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200 or body != content or response.getheader("Content-Encoding"):
        raise SystemExit(f"{server.label} answered {response.status} with {len(body)} bytes "
                         f"(Content-Encoding {response.getheader('Content-Encoding')!r}), wanted the file")


def measure(load: WrkLoad, server: ServerProcess, path: str, size: int, duration: float) -> dict:
    sampler = CpuSampler({server.label: server.pid})
    sampler.start()
    result = load.run(server.base_url + path, {"User-Agent": "pip/24.0"}, duration)
    cpu = sampler.stop()
    return {"mb_s": result.requests * size / result.seconds / 1e6, "p50": result.p50_ms, "p99": result.p99_ms,
            "errors": result.errors + result.bad_status, "cpu": cpu.servers[server.label],
            "neighbours": cpu.neighbours}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=20.0, help="size of the wheel in MB (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    wrk, nginx = ensure_wrk(), ensure_nginx()
    if wrk is None or nginx is None:
        log("wrk and nginx are needed for this benchmark")
        return 2
    content = big_wheel(int(args.size_mb * 1e6))
    load = WrkLoad(wrk, threads=2, connections=args.connections, timeout=30)
    samples: dict[str, list[dict]] = {}
    running: list[ServerProcess] = []
    with tempfile.TemporaryDirectory(prefix="satchel-files-") as scratch:
        workdir = Path(scratch)
        try:
            satchel = SatchelTarget("satchel", workdir).process()
            running.append(satchel)
            satchel.start()
            satchel.wait_ready()
            path = upload(satchel.base_url, content)
            (workdir / "www" / path.lstrip("/")).parent.mkdir(parents=True)
            (workdir / "www" / path.lstrip("/")).write_bytes(content)
            port = free_port()
            server = ServerProcess("nginx", [nginx, "-c", str(nginx_config(workdir, port)), "-p", str(workdir)],
                                   port, workdir / "nginx.log")
            running.append(server)
            server.start()
            server.wait_ready()
            for each in running:
                fetch_checked(each, path, content)
                log(f"{each.label}: answers the {len(content):,} bytes of {path}")
            for each in running:  # warm-up: the file in the page cache, both servers past their first answers
                load.run(each.base_url + path, {}, 2)
            for round_number in range(args.rounds):
                for each in running:
                    log(f"round {round_number + 1}: {each.label}")
                    samples.setdefault(each.label, []).append(
                        measure(load, each, path, len(content), args.duration))
        finally:
            for each in running:
                each.stop()
    print(render(samples, args, len(content)))
    return 0


def render(samples: dict[str, list[dict]], args, size: int) -> str:
    lines = [f"### File serving (issue 15.5)\n\nOne {size / 1e6:.1f} MB wheel, `wrk -t2 -c{args.connections} "
             f"-d{args.duration:.0f}s`, {args.rounds} rounds interleaved; medians. satchel alone (waitress, "
             "`wsgi.file_wrapper`) against nginx (`sendfile on`) serving the same bytes.\n",
             "| server | MB/s | p50 ms | p99 ms | server CPU (cores) | neighbours CPU | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    rates = {}
    for label, runs in samples.items():
        rates[label] = statistics.median(run["mb_s"] for run in runs)
        lines.append(f"| {label} | {rates[label]:,.0f} | {statistics.median(r['p50'] for r in runs):,.0f} | "
                     f"{statistics.median(r['p99'] for r in runs):,.0f} | "
                     f"{statistics.median(r['cpu'] for r in runs):.2f} | "
                     f"{statistics.median(r['neighbours'] for r in runs):.2f} | {sum(r['errors'] for r in runs)} |")
    if rates.get("nginx"):
        lines.append(f"\nsatchel ÷ nginx: {rates['satchel'] / rates['nginx']:.2f}")
    lines.append("\nPer round (MB/s): " + "; ".join(
        f"{label} " + ", ".join(f"{run['mb_s']:,.0f}" for run in runs) for label, runs in samples.items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
