"""``bare`` (issue 15): satchel's cached page against the bare stack serving the very same bytes.

Three servers, interleaved per round and form: satchel; a minimal waitress app with the same thread
count replaying the status, headers and body satchel sent (``bare_app.py``); nginx serving the same
bytes from files (the physical limit). Forms: HTML and PEP 691 JSON, each plain and gzipped.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit

from envsetup import BENCH_DIR, ensure_nginx, log
from fixtures import simple_path
from measure import HTML_HEADERS, PIP_HEADERS, BenchAbort, LoadSpec, measure_load, warm_up
from report import NEIGHBOUR_LIMIT, Results
from servers import HOST, ServerProcess, free_port

GZIP = {"Accept-Encoding": "gzip"}
FORMS = {  # scenario -> (headers, json?, gzip?)
    "bare-html": (HTML_HEADERS, False, False),
    "bare-json": (PIP_HEADERS, True, False),
    "bare-html-gzip": ({**HTML_HEADERS, **GZIP}, False, True),
    "bare-json-gzip": ({**PIP_HEADERS, **GZIP}, True, True),
}
SKIPPED_HEADERS = {"date", "server", "connection"}  # the server adds its own
BARE, NGINX = "bare-waitress", "nginx"
TARGET_RATIO = 0.85
TARGET_P99_MS = 10.0


def record(url: str, headers: dict[str, str]) -> tuple[str, list[tuple[str, str]], bytes]:
    """The answer exactly as sent: status line, headers and the body undecoded."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request("GET", parts.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    if resp.status != 200:
        raise BenchAbort(f"GET {url} answered {resp.status}, expected 200")
    kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in SKIPPED_HEADERS]
    return f"{resp.status} {resp.reason}", kept, body


def write_manifest(satchel: ServerProcess, workdir: Path) -> tuple[Path, dict[str, int]]:
    """Record satchel's four forms of the page into files; return the manifest and body sizes."""
    workdir.mkdir(parents=True, exist_ok=True)
    entries, sizes = [], {}
    for scenario, (headers, is_json, is_gzip) in FORMS.items():
        status, kept, body = record(satchel.base_url + simple_path(), headers)
        encoding = dict((k.lower(), v) for k, v in kept).get("content-encoding", "")
        if is_gzip != (encoding == "gzip"):
            raise BenchAbort(f"satchel answered {scenario} with Content-Encoding {encoding!r}")
        body_file = workdir / f"{scenario}.body"
        body_file.write_bytes(body)
        entries.append({"json": is_json, "gzip": is_gzip, "status": status, "headers": kept,
                        "body": str(body_file)})
        sizes[scenario] = len(body)
    manifest = workdir / "manifest.json"
    manifest.write_text(json.dumps(entries, indent=1))
    return manifest, sizes


def nginx_config(workdir: Path, manifest: Path, port: int) -> Path:
    """nginx serving the recorded bodies by Accept and Accept-Encoding, with satchel's headers."""
    www = workdir / "www"
    for sub in ("plain", "gzip"):
        (www / sub).mkdir(parents=True, exist_ok=True)
    extra: dict[str, dict[str, str]] = {}
    for entry in json.loads(manifest.read_text()):
        kind = "json" if entry["json"] else "html"
        coding = "gzip" if entry["gzip"] else "plain"
        shutil.copyfile(entry["body"], www / coding / f"page.{kind}")
        for name, value in entry["headers"]:
            if name.lower() not in ("content-type", "content-length", "etag"):
                extra.setdefault(name, {})[f"{kind}.{coding}"] = value
    adds = []
    for number, (name, by_form) in enumerate(sorted(extra.items())):
        cases = "".join(f'    "{form}" "{value}";\n' for form, value in by_form.items())
        adds.append((f"map $form.$coding $h{number} {{\n    default \"\";\n{cases}}}\n",
                     f"add_header {name} $h{number};"))
    return write_nginx_conf(workdir, port, f"""
  etag off;
  types {{ text/html html; application/vnd.pypi.simple.v1+json json; }}
  map $http_accept $form {{ default html; "~json" json; }}
  map $http_accept_encoding $coding {{ default plain; "~gzip" gzip; }}
  {"".join(block for block, _ in adds)}""", f"""
      root {www};
      {" ".join(line for _, line in adds)}
      try_files /$coding/page.$form =404;""")


def write_nginx_conf(workdir: Path, port: int, http: str, location: str) -> Path:
    """``workdir/nginx.conf``: nginx in the foreground as root, no access log, temp files in ``workdir``,
    ``/+api`` answering 200 (readiness), ``http`` directives and the ``location /`` body given."""
    for sub in ("tmp", "logs"):
        (workdir / sub).mkdir(exist_ok=True)
    temp = workdir / "tmp"
    conf = workdir / "nginx.conf"
    conf.write_text(f"""
user root;
worker_processes auto;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/logs/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fcgi;
  uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;{http}
  server {{
    listen {HOST}:{port};
    location = /+api {{ default_type application/json; return 200 "{{}}"; }}
    location / {{{location}
    }}
  }}
}}
""")
    return conf


def start(server: ServerProcess, running: list[ServerProcess]) -> ServerProcess:
    running.append(server)
    server.start()
    server.wait_ready()
    return server


def run_bare(load, servers: dict[str, ServerProcess], workdir: Path, running: list[ServerProcess],
             rounds: int, duration: float, warmup: float, res: Results) -> None:
    satchel = servers[res.candidate]
    base = workdir / "bare"
    manifest, sizes = write_manifest(satchel, base)
    port = free_port()
    bare = start(ServerProcess(BARE, [sys.executable, str(BENCH_DIR / "bare_app.py"), "--manifest",
                                      str(manifest), "--port", str(port), "--threads", "8"],
                               port, base / "bare.log"), running)
    trio = {res.candidate: satchel, BARE: bare}
    nginx = ensure_nginx()
    if nginx:
        port = free_port()
        conf = nginx_config(base, manifest, port)
        trio[NGINX] = start(ServerProcess(NGINX, [nginx, "-c", str(conf), "-p", str(base)], port,
                                          base / "nginx.log"), running)
    else:
        res.notes.append("nginx could not be installed: the bare scenario has no nginx column")
    for scenario, (headers, _, _) in FORMS.items():
        for label, server in trio.items():
            _, kept, body = record(server.base_url + simple_path(), headers)
            if len(body) != sizes[scenario]:
                raise BenchAbort(f"{label} answered {scenario} with {len(body)} bytes, "
                                 f"satchel with {sizes[scenario]}")
    specs = [LoadSpec(scenario, [simple_path()], headers) for scenario, (headers, _, _) in FORMS.items()]
    scratch = Results(candidate=res.candidate, baseline=BARE)
    warm_up(load, trio, specs, warmup)
    measure_load(load, trio, specs, rounds, duration, scratch)
    bare_report(scratch, list(trio), sizes, res)
    for label in (BARE, NGINX):
        if label in trio:
            trio[label].stop()


def bare_report(scratch: Results, labels: list[str], sizes: dict[str, int], res: Results) -> None:
    cand = res.candidate
    head = ["scenario", "bytes"] + [f"{label} req/s" for label in labels] + [
        f"{cand} ÷ {BARE}", f"{cand} p50 / p99 ms", f"{BARE} p50 / p99 ms"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for scenario in FORMS:
        rps, p50, p99 = {}, {}, {}
        for label in labels:
            samples = [s.result for s in scratch.load if s.scenario == scenario and s.label == label]
            rps[label] = statistics.median(r.rps for r in samples)
            p50[label] = statistics.median(r.p50_ms for r in samples)
            p99[label] = statistics.median(r.p99_ms for r in samples)
        ratio = rps[cand] / rps[BARE]
        lines.append("| " + " | ".join(
            [scenario, f"{sizes[scenario]:,}"] + [f"{rps[label]:,.0f}" for label in labels]
            + [f"{ratio:.2f}", f"{p50[cand]:.1f} / {p99[cand]:.1f}", f"{p50[BARE]:.1f} / {p99[BARE]:.1f}"]) + " |")
        met = "met" if ratio >= TARGET_RATIO and p99[cand] < TARGET_P99_MS else "NOT met"
        res.targets.append(f"{scenario}: {cand} ÷ bare waitress requests/s {ratio:.2f} (at least "
                           f"{TARGET_RATIO} wanted), p99 {p99[cand]:.1f} ms (under {TARGET_P99_MS:.0f} ms "
                           f"wanted) (issue 15): {met}")
    res.sections.append("\n".join(["Bare stack (issue 15): the same bytes and headers from a bare waitress "
                                   "app (8 threads) and from nginx; medians over rounds, interleaved.", "",
                                   *lines]))
    noisy = [f"round {s.round} {s.scenario} {s.label}: neighbours used {s.cpu.neighbours:.2f} cores"
             for s in scratch.load if s.cpu.neighbours > NEIGHBOUR_LIMIT]
    res.extra_warnings.extend(noisy)
    sample_lines = ["| round | scenario | server | req/s | p50 ms | p99 ms | server CPU | neighbours CPU |",
                    "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for s in scratch.load:
        sample_lines.append(f"| {s.round} | {s.scenario} | {s.label} | {s.result.rps:,.0f} | "
                            f"{s.result.p50_ms:.1f} | {s.result.p99_ms:.1f} | "
                            f"{s.cpu.servers.get(s.label, 0):.2f} | {s.cpu.neighbours:.2f} |")
    res.details.append("\n".join(["Bare-stack samples:", "", *sample_lines]))
    res.notes.extend(scratch.notes)
    log("bare: " + "; ".join(t for t in res.targets if t.startswith("bare")))
