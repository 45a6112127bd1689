#!/usr/bin/env python
"""Scale-out (issue 16): simple-page requests/s with 1, 2 and 4 satchel processes on SQLite and on PostgreSQL,
the CPU each process uses, SQLite against PostgreSQL on one process, and uploads/s of satchel on PostgreSQL
against devpi-server 6.20.3 (its SQLite), all interleaved.

Each backend gets one main process and three ``--requests-only`` workers on one storage (SQLite: one
serverdir; PostgreSQL: a server this script starts with ``initdb``, as the ``postgres`` user when root), filled
with the 200-file page of bench/run.py. The front is nginx with the ``upstream`` block that
``satchel gen-config --gen-workers N-1`` writes for N processes, its simple-page cache turned off (so satchel's
own page cache answers), one nginx worker. Load: ``wrk -t2 -c16`` with pip's User-Agent on
``/alice/dev/+simple/hello-pkg/``. In each round every (processes, backend) pair is measured once, and the
single process also directly (no nginx) for SQLite against PostgreSQL. Uploads: one sequential client, new
projects, blocks of ``--upload-block`` alternating between satchel (PostgreSQL, main process) and devpi.

    python bench/scale_bench.py                       # 3 rounds of 10 s, 600 uploads each (~9 min)
    python bench/scale_bench.py --rounds 1 --uploads 0 --no-devpi
    python bench/scale_bench.py --uploads-only        # uploads alone: PostgreSQL (main + 3 workers) and devpi
    python bench/scale_bench.py --write-results       # append the report to bench/RESULTS.md

PostgreSQL runs with its durable defaults (``fsync``, ``synchronous_commit`` and ``full_page_writes`` on; the
report says which were in force), as devpi-server's SQLite commits are durable too; the tests' servers turn
``fsync`` off.

Exit status 2: a precondition failed (no wrk, no nginx, no PostgreSQL, a server did not start).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402

from envsetup import ensure_devpi, ensure_nginx, ensure_wrk, log  # noqa: E402
from fixtures import PASSWORD, USER, project_files, release_files, simple_path  # noqa: E402
from httpfill import fill_over_http, login, upload_request  # noqa: E402
from loadgen import WrkLoad  # noqa: E402
from procstat import CpuSampler, process_tree  # noqa: E402
from report import append_results, machine_facts  # noqa: E402
from servers import HOST, ServerProcess, free_port  # noqa: E402
from targets import DevpiTarget  # noqa: E402

from satchel.testing.nginx import NginxProcess, nginx_prefix  # noqa: E402
from satchel.testing.pgserver import PostgresServer, Unavailable  # noqa: E402

PIP_HTML = {"User-Agent": "pip/24.0 CPython/3.11", "Accept": "text/html"}
PROCESS_COUNTS = (1, 2, 4)
BACKENDS = ("sqlite", "postgresql")


def consecutive_ports(count: int) -> int:
    """A port P with P..P+count-1 free (gen-config gives worker N the port ``--port`` + N)."""
    for _ in range(50):
        base = free_port()
        try:
            for port in range(base, base + count):
                with socket.socket() as sock:
                    sock.bind((HOST, port))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


def satchel_argv(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "satchel"
    return ([str(script)] if script.exists() else [sys.executable, "-m", "satchel"]) + list(args)


class Cluster:
    """A main process and three workers of one backend, and an nginx front per process count."""

    def __init__(self, backend: str, workdir: Path, env: dict[str, str]):
        self.backend, self.workdir, self.env = backend, workdir / backend, env
        self.serverdir = self.workdir / "serverdir"
        self.port = consecutive_ports(max(PROCESS_COUNTS))
        self.processes: list[ServerProcess] = []
        self.fronts: dict[int, NginxProcess] = {}

    def start(self, releases, fronts: bool = True) -> None:
        for number in range(max(PROCESS_COUNTS)):
            extra = ["--requests-only"] if number else []
            process = ServerProcess(f"{self.backend}-{number}", satchel_argv(
                "serve", "--serverdir", str(self.serverdir), "--host", HOST, "--port", str(self.port + number),
                "--no-root-pypi", *extra), self.port + number, self.workdir / f"server-{number}.log", env=self.env)
            self.processes.append(process)
            process.start()
            process.wait_ready()
            if number == 0:  # the main process initialized the storage: fill it before workers start
                rate = fill_over_http(process.base_url, releases)
                log(f"{self.backend}: {len(releases)} files uploaded ({rate:.0f}/s)")
        for count in PROCESS_COUNTS if fronts else ():
            self.fronts[count] = self._front(count)

    def _front(self, count: int) -> NginxProcess:
        """nginx on the gen-config site for ``count`` processes, without its simple-page cache."""
        front_port = free_port()
        out = self.workdir / f"gen-config-{count}"
        subprocess.run(satchel_argv("gen-config", str(out), "--serverdir", str(self.serverdir), "--port",
                                    str(self.port), "--gen-workers", str(count - 1), "--outside-url",
                                    f"http://{HOST}:{front_port}"),
                       check=True, capture_output=True, env=self.env)
        site = out / "nginx-satchel.conf"
        zone = f"proxy_cache satchel_{self.port}_simple;"
        if zone not in site.read_text():
            raise RuntimeError(f"{site} has no line {zone!r}")
        prefix = nginx_prefix(out, site, replace={zone: "proxy_cache off;"})
        return NginxProcess(prefix, front_port).start()

    def pids(self) -> dict[str, int]:
        found = {process.label: process.pid for process in self.processes}
        found.update({f"nginx-{self.backend}-{count}": front.process.pid for count, front in self.fronts.items()})
        return found

    def stop(self) -> None:
        for front in self.fronts.values():
            front.stop()
        for process in self.processes:
            process.stop()


class WorkersSet:
    """``satchel serve --workers N-1`` on the cluster's storage: N processes accepting on one socket."""

    def __init__(self, cluster: Cluster, count: int):
        self.cluster, self.count = cluster, count
        port = free_port()
        self.server = ServerProcess(f"{cluster.backend}-set", satchel_argv(
            "serve", "--serverdir", str(cluster.serverdir), "--host", HOST, "--port", str(port), "--no-root-pypi",
            "--workers", str(count - 1)), port, cluster.workdir / f"workers-{count}.log", env=cluster.env)

    def start(self, warmup: float, wrk: WrkLoad) -> dict[str, int]:
        """Started, every process answering (warmed up); ``{label: pid}`` of the processes."""
        self.server.start()
        self.server.wait_ready()
        deadline = time.monotonic() + 60
        while len(self.workers()) < self.count - 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        wrk.run(self.server.base_url + simple_path(), PIP_HTML, warmup)
        labels = {f"{self.cluster.backend}-0": self.server.pid}
        labels.update({f"{self.cluster.backend}-{n}": pid for n, pid in enumerate(self.workers(), 1)})
        return labels

    def workers(self) -> list[int]:
        return sorted(pid for pid in process_tree(self.server.pid) if pid != self.server.pid
                      and "--requests-only" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"))


def measure_pages(clusters: dict[str, Cluster], postgres: PostgresServer, wrk: WrkLoad, rounds: int,
                  duration: float, fronts: list[str], warmup: float) -> list[dict]:
    """Every (front or direct, processes, backend) once per round; rps and each process's CPU in cores
    (PostgreSQL's server counted as the process ``postgres``, with its backends)."""
    cases = [(backend, count, via) for via in fronts for count in PROCESS_COUNTS for backend in BACKENDS]
    cases += [(backend, 1, "direct") for backend in BACKENDS]
    postmaster = int((postgres.datadir / "postmaster.pid").read_text().split()[0])
    samples = []
    for rnd in range(1, rounds + 1):
        for backend, count, via in cases:
            cluster = clusters[backend]
            pids = {"postgres": postmaster}
            workers_set = None
            if via == "workers":
                workers_set = WorkersSet(cluster, count)
                pids.update(workers_set.start(warmup, wrk))
                url = workers_set.server.base_url + simple_path()
            else:
                pids.update(cluster.pids())
                url = (f"http://{HOST}:{cluster.fronts[count].port}" if via == "nginx"
                       else cluster.processes[0].base_url) + simple_path()
            sampler = CpuSampler(pids)
            sampler.start()
            try:
                result = wrk.run(url, PIP_HTML, duration)
                cpu = sampler.stop()
            finally:
                if workers_set:
                    workers_set.server.stop()
            if via == "workers":  # the main process's tree holds its workers: its own share is the rest
                main = f"{backend}-0"
                cpu.servers[main] -= sum(v for k, v in cpu.servers.items() if k.startswith(backend) and k != main)
            # this backend's satchel processes, and the nginx that carried the load
            own = {label: cores for label, cores in cpu.servers.items()
                   if label.startswith(backend + "-") or (via == "nginx" and label == f"nginx-{backend}-{count}")
                   or (backend == "postgresql" and label == "postgres")}
            sample = {"round": rnd, "backend": backend, "processes": count, "via": via, "rps": result.rps,
                      "p50": result.p50_ms, "p99": result.p99_ms, "errors": result.errors + result.bad_status,
                      "cpu": own, "harness": cpu.harness, "neighbours": cpu.neighbours}
            samples.append(sample)
            log(f"round {rnd} {backend} x{count} via {via}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"cpu {', '.join(f'{k} {v:.2f}' for k, v in own.items() if v >= 0.01)}, "
                f"neighbours {cpu.neighbours:.2f}")
    return samples


def measure_uploads(targets: dict[str, str], count: int, block: int) -> dict[str, list[float]]:
    """Sequential uploads of new projects to each base URL, interleaved in blocks; seconds per upload."""
    sessions, prepared, seconds = {}, {}, {}
    for label, base_url in targets.items():
        session = requests.Session()
        session.trust_env = False
        auth = login(session, base_url, USER, PASSWORD)  # alice/dev exists: the fill made it
        sessions[label] = session
        prepared[label] = [upload_request(session, base_url, auth, release)
                           for release in project_files(count, version="2.0")]
        seconds[label] = []
    for start in range(0, count, block):
        for label in targets:
            for request in prepared[label][start:start + block]:
                began = time.perf_counter()
                response = sessions[label].send(request, timeout=120)
                seconds[label].append(time.perf_counter() - began)
                if response.status_code != 200:
                    raise RuntimeError(f"{label}: upload answered {response.status_code} {response.text[:200]}")
    return seconds


def postgres_settings(postgres: PostgresServer) -> str:
    """The durability settings in force on the bench's PostgreSQL server, for the report."""
    import psycopg

    names = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_sync_method")
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        return ", ".join(f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}" for name in names)


def median(values):
    return statistics.median(values) if values else float("nan")


def render(samples: list[dict], uploads: dict[str, list[float]], facts: dict[str, str], command: str,
           args) -> str:
    lines = [f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC — scale-out (bench/scale_bench.py, issue 16)",
             "", f"Command: `{command}`."]
    if samples:
        lines += render_pages(samples, args)
    if uploads:
        lines += ["", "| uploads (one sequential client, new projects, interleaved blocks of "
                  f"{args.upload_block}) | uploads/s | median ms |", "|---|---|---|"]
        for label, times in uploads.items():
            lines.append(f"| {label} | {len(times) / sum(times):.1f} | {median(times) * 1000:.1f} |")
        if len(uploads) == 2:
            (a, ta), (b, tb) = uploads.items()
            lines.append(f"\n{a} / {b} upload rate: {(len(ta) / sum(ta)) / (len(tb) / sum(tb)):.2f}x.")
    lines += ["", "Machine: " + "; ".join(f"{key}: {value}" for key, value in facts.items()), ""]
    if samples:
        lines += ["<details><summary>samples</summary>", "", "| round | backend | processes | front | req/s | "
                  "CPU per process | neighbours |", "|---|---|---|---|---|---|---|"]
        for s in samples:
            cpu = ", ".join(f"{k} {v:.2f}" for k, v in s["cpu"].items() if v >= 0.01)
            lines.append(f"| {s['round']} | {s['backend']} | {s['processes']} | {s['via']} | {s['rps']:.0f} | "
                         f"{cpu} | {s['neighbours']:.2f} |")
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def render_pages(samples: list[dict], args) -> list[str]:
    """The page table and the page targets."""
    by = {}
    for sample in samples:
        by.setdefault((sample["backend"], sample["processes"], sample["via"]), []).append(sample)
    rps = {key: median([s["rps"] for s in group]) for key, group in by.items()}
    lines = [f"Load: `wrk -t2 -c{args.connections} -d{int(args.duration)}s`, "
             f"{args.rounds} rounds, interleaved; page `{simple_path()}` ({args.files} files, HTML, pip User-Agent); "
             "fronts: `nginx` is nginx with gen-config's upstream block for N processes (main + N-1 "
             "`--requests-only` workers), its page cache off, 1 nginx worker; `workers` is `satchel serve --workers "
             "N-1` (N processes accepting on one socket, started for each measurement); `direct` is wrk on the "
             "main process. CPU in cores (1.0 = one core busy), medians.", "",
             "| backend | processes | front | req/s | p50 ms | p99 ms | vs 1 process | CPU per satchel process | "
             "PostgreSQL CPU | nginx CPU | wrk+script CPU | neighbours |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (backend, count, via), group in sorted(by.items(), key=lambda item: (item[0][2], item[0][1], item[0][0])):
        per_process = [f"{median([s['cpu'].get(f'{backend}-{number}', 0.0) for s in group]):.2f}"
                       for number in range(count)]
        nginx = median([s["cpu"].get(f"nginx-{backend}-{count}", 0.0) for s in group]) if via == "nginx" else 0.0
        lines.append(f"| {backend} | {count} | {via} | {rps[(backend, count, via)]:.0f} | "
                     f"{median([s['p50'] for s in group]):.1f} | {median([s['p99'] for s in group]):.1f} | "
                     f"{rps[(backend, count, via)] / rps[(backend, 1, via)]:.2f}x | {' / '.join(per_process)} | "
                     f"{median([s['cpu'].get('postgres', 0.0) for s in group]):.2f} | {nginx:.2f} | "
                     f"{median([s['harness'] for s in group]):.2f} | "
                     f"{max(s['neighbours'] for s in group):.2f} (max) |")
    errors = sum(s["errors"] for s in samples)
    lines += ["", f"Errors and non-2xx answers over all samples: {errors}.", ""]
    pg1, sq1 = rps.get(("postgresql", 1, "direct")), rps.get(("sqlite", 1, "direct"))
    if pg1 and sq1:
        ratio = pg1 / sq1
        lines.append(f"- Target: PostgreSQL single-process page rate within 20% of SQLite's (direct, no front): "
                     f"{pg1:.0f} vs {sq1:.0f} req/s, ratio {ratio:.2f}: **{'met' if ratio >= 0.8 else 'not met'}**.")
    for backend, via in [(backend, via) for via in ("nginx", "workers") for backend in BACKENDS]:
        one, two = rps.get((backend, 1, via)), rps.get((backend, 2, via))
        if one and two:
            lines.append(f"- Target: 2 processes ≥ 1.6x one process ({backend}, front {via}): "
                         f"{two:.0f} vs {one:.0f} req/s = {two / one:.2f}x: "
                         f"**{'met' if two / one >= 1.6 else 'not met'}**.")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--uploads", type=int, default=600, help="per server (0: no upload measurement)")
    parser.add_argument("--upload-block", type=int, default=50)
    parser.add_argument("--no-devpi", action="store_true", help="uploads on satchel only")
    parser.add_argument("--uploads-only", action="store_true",
                        help="no page measurement: only the PostgreSQL processes (no SQLite, no nginx) and devpi")
    parser.add_argument("--fronts", type=lambda text: text.split(","), default=["nginx"],
                        help="nginx (gen-config's upstream), workers (serve --workers N-1: one socket), or both")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args(argv)
    wrk_path, nginx_path = ensure_wrk(), ensure_nginx()
    if not wrk_path or not nginx_path:
        log("wrk and nginx are needed (apt-get install wrk nginx-light)")
        return 2
    wrk = WrkLoad(wrk_path, threads=2, connections=args.connections)
    devpi_bin = None if args.no_devpi or not args.uploads else ensure_devpi()
    postgres = PostgresServer(durable=True)
    pg_settings = "not started"
    clusters: dict[str, Cluster] = {}
    devpi: ServerProcess | None = None
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as tmp:
        workdir = Path(tmp)
        try:
            try:
                postgres.start()
            except Unavailable as exc:
                log(f"PostgreSQL: {exc}")
                return 2
            pg_settings = postgres_settings(postgres)
            envs = {"sqlite": None, "postgresql": {
                **os.environ, "SATCHEL_STORAGE": "postgresql",
                "SATCHEL_POSTGRESQL_DSN": postgres.create_database("bench")}}
            releases = release_files(args.files)
            for backend in ("postgresql",) if args.uploads_only else BACKENDS:
                clusters[backend] = Cluster(backend, workdir, envs[backend])
                clusters[backend].start(releases, fronts=not args.uploads_only)
            for cluster in clusters.values():  # warm every process's page cache and the fronts
                for count in PROCESS_COUNTS if not args.uploads_only else ():
                    wrk.run(f"http://{HOST}:{cluster.fronts[count].port}{simple_path()}", PIP_HTML, args.warmup)
            load_before = os.getloadavg()
            samples = [] if args.uploads_only else measure_pages(clusters, postgres, wrk, args.rounds, args.duration,
                                                                 args.fronts, args.warmup)
            uploads = {}
            if args.uploads:
                targets = {"satchel-postgresql": clusters["postgresql"].processes[0].base_url}
                if devpi_bin:
                    target = DevpiTarget("devpi", workdir, devpi_bin, keyfs_cache_size=200000)
                    target.prepare([])  # devpi-init, then alice and alice/dev over HTTP
                    devpi = target.process()
                    devpi.start()
                    devpi.wait_ready()
                    targets["devpi-server (sqlite)"] = devpi.base_url
                uploads = measure_uploads(targets, args.uploads, args.upload_block)
        finally:
            if devpi is not None:
                devpi.stop()
            for cluster in clusters.values():
                cluster.stop()
            postgres.stop()
    command = "python bench/scale_bench.py " + " ".join(argv if argv is not None else sys.argv[1:])
    facts = machine_facts({"PostgreSQL settings": pg_settings, "load average (1/5/15 min) before / after": " / ".join(
        ", ".join(f"{value:.2f}" for value in load) for load in (load_before, os.getloadavg()))})
    report = render(samples, uploads, facts, command.strip(), args)
    print(report)
    if args.write_results:
        append_results(Path(__file__).resolve().parent / "RESULTS.md", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
