#!/usr/bin/env python3
"""Benchmark satchel against devpi-server 6.20.3 on the same machine, interleaved.

    python bench/run.py [--rounds N] [--duration S] [--scenarios html,json,startup,memory]
                        [--aa] [--write-results] [--keep]

See bench/README.md for the method. Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from envsetup import BENCH_DIR, DEVPI_VERSION, ensure_devpi, ensure_wrk, log  # noqa: E402
from fixtures import DEFAULT_COUNT, release_files, simple_path  # noqa: E402
from loadgen import PythonLoad, WrkLoad  # noqa: E402
from procstat import CpuSampler  # noqa: E402
from report import (  # noqa: E402
    NEIGHBOUR_LIMIT,
    LoadSample,
    Results,
    StartSample,
    append_results,
    first_line,
    machine_facts,
    render,
)
from servers import ServerError, ServerProcess  # noqa: E402
from targets import DevpiTarget, SatchelTarget, Target, remove_tree  # noqa: E402

PIP_UA = "pip/24.0"
PEP691_ACCEPT = ("application/vnd.pypi.simple.v1+json, "
                 "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
LOAD_SCENARIOS = {
    "html": {"User-Agent": PIP_UA, "Accept": "text/html"},
    "json": {"User-Agent": PIP_UA, "Accept": PEP691_ACCEPT},
}
ALL_SCENARIOS = ["html", "json", "startup", "memory"]
SETTLE_SECONDS = 2.0
RESULTS_FILE = BENCH_DIR / "RESULTS.md"


class BenchAbort(RuntimeError):
    """A precondition failed; the message says which."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3,
                   help="measurements per server and scenario, interleaved (default 3)")
    p.add_argument("--duration", type=float, default=10.0,
                   help="seconds per load measurement (default 10)")
    p.add_argument("--warmup", type=float, default=2.0,
                   help="seconds of unrecorded load per server and scenario first (default 2)")
    p.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                   help="comma-separated subset of: " + ",".join(ALL_SCENARIOS))
    p.add_argument("--aa", action="store_true",
                   help="A/A check: devpi against devpi, to show the noise floor")
    p.add_argument("--files", type=int, default=DEFAULT_COUNT,
                   help=f"release files on the page (default {DEFAULT_COUNT})")
    p.add_argument("--satchel-fill", choices=["model", "http"], default="model",
                   help="fill satchel through its Python model API (default) or over HTTP")
    p.add_argument("--load", choices=["auto", "wrk", "python"], default="auto",
                   help="load generator (default: wrk, Python fallback if unavailable)")
    p.add_argument("--pin", action="store_true",
                   help="for the load scenarios, pin the servers to one CPU and the load generator "
                        "to another")
    p.add_argument("--write-results", action="store_true",
                   help=f"append a dated section to {RESULTS_FILE.relative_to(BENCH_DIR.parent)}")
    p.add_argument("--keep", action="store_true",
                   help="keep the temporary serverdirs and logs")
    args = p.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(ALL_SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.rounds < 1 or args.duration <= 0:
        p.error("--rounds must be >= 1 and --duration > 0")
    return args


# ---------------------------------------------------------------- set-up

def pick_load_generator(choice: str):
    """wrk if available (installed via apt-get when missing), else Python."""
    if choice in ("auto", "wrk"):
        wrk = ensure_wrk()
        if wrk:
            return WrkLoad(wrk, threads=2, connections=8)
        if choice == "wrk":
            raise BenchAbort("wrk requested but it could not be found or installed")
        log("wrk unavailable: falling back to the Python load generator")
    return PythonLoad(connections=8)


def make_targets(args: argparse.Namespace, workdir: Path) -> tuple[Target, Target]:
    """(candidate, baseline): satchel vs devpi, or devpi vs devpi with --aa."""
    bindir = ensure_devpi()
    if args.aa:
        return DevpiTarget("devpi-B", workdir, bindir), DevpiTarget("devpi-A", workdir, bindir)
    check_satchel_importable()
    return SatchelTarget("satchel", workdir, args.satchel_fill), DevpiTarget("devpi", workdir, bindir)


def pin_cpus(targets: tuple[Target, Target]) -> str:
    """--pin: load-test servers on one CPU, this process (so the load generator) on another.

    Start-up measurements keep all CPUs.

    Multi-threaded Python servers lose throughput when the GIL moves between
    cores, so unpinned figures depend on what other processes happen to do.
    """
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise BenchAbort("--pin needs at least two CPUs")
    server_cpu, load_cpu = allowed[0], allowed[1]
    os.sched_setaffinity(0, {load_cpu})
    for target in targets:
        target.cpus = frozenset({server_cpu})
        target.free_cpus = frozenset(allowed)
    return f"servers pinned to CPU {server_cpu}, load generator to CPU {load_cpu}"


def check_satchel_importable() -> None:
    try:
        from satchel.model import projects  # noqa: F401
        projects.add_release_file  # noqa: B018
    except (ImportError, AttributeError) as exc:
        raise BenchAbort(
            f"satchel is not usable in {sys.executable} ({exc}); "
            "install it with `pip install -e .` or run with --aa") from exc


# ---------------------------------------------------------------- checks

def fetch_page(url: str, headers: dict[str, str]) -> tuple[str, str]:
    """GET a simple page; return (content type, body). Raise BenchAbort unless 200."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.headers.get("Content-Type", ""), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise BenchAbort(f"GET {url} answered {exc.code}, expected 200") from exc
    except OSError as exc:
        raise BenchAbort(f"GET {url} failed: {exc}") from exc


def count_files(url: str, ctype: str, body: str, want_json: bool) -> int:
    """Number of files a simple page lists (JSON "files" or HTML anchors)."""
    if not want_json:
        return body.count("<a ")
    if "json" not in ctype:
        raise BenchAbort(f"GET {url} with the PEP 691 Accept header answered {ctype!r}, "
                         "expected application/vnd.pypi.simple.v1+json")
    return len(json.loads(body).get("files", []))


def check_pages(servers: dict[str, ServerProcess], scenarios: list[str], expected: int,
                res: Results) -> None:
    """Every server must answer 200 listing `expected` files in every load scenario."""
    for label, server in servers.items():
        for scenario in scenarios:
            url = server.base_url + simple_path()
            ctype, body = fetch_page(url, LOAD_SCENARIOS[scenario])
            found = count_files(url, ctype, body, want_json=(scenario == "json"))
            if found != expected:
                raise BenchAbort(f"{label} {scenario}: {url} lists {found} files, "
                                 f"expected {expected}")
            size = len(body.encode())
            res.notes.append(f"{label} {scenario}: 200, {found} files, {size:,} bytes, {ctype}")
            log(f"{label} {scenario}: 200 with {found} files, {size} bytes")


# ---------------------------------------------------------------- measurements

def measure_startup(targets: tuple[Target, Target], rounds: int, res: Results) -> None:
    """Spawn-to-first-200 on /+api, interleaved, stopping the server after each start."""
    for rnd in range(1, rounds + 1):
        for target in targets:
            server = target.process()
            sampler = CpuSampler({})
            sampler.start()
            server.start()
            try:
                seconds = server.wait_ready()
            finally:
                server.stop()
            cpu = sampler.stop()
            res.startup.append(StartSample(rnd, target.label, seconds, cpu))
            log(f"startup round {rnd} {target.label}: {seconds:.2f} s")
            warn_if_noisy(cpu.neighbours)


def warn_if_noisy(neighbours: float) -> None:
    if neighbours > NEIGHBOUR_LIMIT:
        log(f"WARNING: other processes used {neighbours:.2f} cores during that measurement "
            f"(limit {NEIGHBOUR_LIMIT}); consider rerunning")


def measure_memory(servers: dict[str, ServerProcess], phase: str, res: Results) -> None:
    for label, server in servers.items():
        res.memory[(phase, label)] = server.rss_mib()
        log(f"memory {phase} {label}: {res.memory[(phase, label)]:.0f} MiB")


def run_load(load, server: ServerProcess, scenario: str, duration: float):
    return load.run(server.base_url + simple_path(), LOAD_SCENARIOS[scenario], duration)


def warm_up(load, servers: dict[str, ServerProcess], scenarios: list[str], seconds: float) -> None:
    if seconds <= 0:
        return
    for scenario in scenarios:
        for server in servers.values():
            run_load(load, server, scenario, seconds)


def measure_load(load, servers: dict[str, ServerProcess], scenarios: list[str],
                 args: argparse.Namespace, res: Results) -> None:
    """A B A B ... for every scenario, `rounds` times."""
    sampler = CpuSampler({label: s.pid for label, s in servers.items()})
    for rnd in range(1, args.rounds + 1):
        for scenario in scenarios:
            for label, server in servers.items():
                sampler.start()
                result = run_load(load, server, scenario, args.duration)
                cpu = sampler.stop()
                if result.errors or result.bad_status:
                    res.notes.append(f"round {rnd} {scenario} {label}: {result.errors} socket "
                                     f"errors, {result.bad_status} non-2xx/3xx answers")
                res.load.append(LoadSample(rnd, scenario, label, result, cpu))
                log(f"round {rnd} {scenario} {label}: {result.rps:.0f} req/s, "
                    f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"neighbours {cpu.neighbours:.2f} cores")
                warn_if_noisy(cpu.neighbours)


def start_servers(targets: tuple[Target, Target], running: list[ServerProcess]) -> dict[str, ServerProcess]:
    servers = {}
    for target in targets:
        server = target.process(pinned=True)
        running.append(server)
        server.start()
        server.wait_ready()
        servers[target.label] = server
    return servers


# ---------------------------------------------------------------- main flow

def benchmark(args: argparse.Namespace, workdir: Path, running: list[ServerProcess]) -> Results:
    load_scenarios = [s for s in args.scenarios if s in LOAD_SCENARIOS]
    load = pick_load_generator(args.load) if load_scenarios else None
    targets = make_targets(args, workdir)
    load_tool = load.describe(args.duration) if load else "none"
    if args.pin:
        load_tool += "; " + pin_cpus(targets)
    res = Results(candidate=targets[0].label, baseline=targets[1].label,
                  load_tool=load_tool, software=versions(args, load))
    releases = release_files(args.files)
    res.page = f"`{simple_path()}` ({len(releases)} files)"
    for target in targets:
        log(f"preparing {target.label} in {target.serverdir}")
        target.prepare(releases)
        if "uploads_per_s" in target.fill_info:
            res.notes.append(f"{target.label}: {len(releases)} uploads over HTTP, one client, "
                             f"{target.fill_info['uploads_per_s']:.0f}/s (single sample)")

    if "startup" in args.scenarios:
        measure_startup(targets, args.rounds, res)

    if not load_scenarios and "memory" not in args.scenarios:
        return res
    servers = start_servers(targets, running)
    if "memory" in args.scenarios:
        time.sleep(SETTLE_SECONDS)
        measure_memory(servers, "idle", res)
    if load_scenarios:
        check_pages(servers, load_scenarios, len(releases), res)
        warm_up(load, servers, load_scenarios, args.warmup)
        measure_load(load, servers, load_scenarios, args, res)
        if "memory" in args.scenarios:
            time.sleep(SETTLE_SECONDS)
            measure_memory(servers, "after load", res)
    return res


def versions(args: argparse.Namespace, load) -> dict[str, str]:
    """Versions of the software measured, for the report's machine line."""
    facts = {"devpi-server": DEVPI_VERSION}
    if isinstance(load, WrkLoad):
        facts["wrk"] = first_line([load.wrk, "--version"]).split(" [")[0]
    if not args.aa:
        try:
            from importlib.metadata import version
            facts["satchel"] = version("satchel")
        except Exception:  # noqa: BLE001 - any metadata problem just means "unknown"
            facts["satchel"] = "?"
    return facts


def _interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """Turn Ctrl-C, SIGTERM and SIGHUP into KeyboardInterrupt so clean-up runs.

    SIGINT is set explicitly: a shell starting us in the background would
    otherwise leave it ignored.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


def cleanup(running: list[ServerProcess], workdir: Path, keep: bool) -> None:
    """Stop every server still running and remove the work directory.

    Further signals are ignored meanwhile so a second Ctrl-C cannot leave
    servers behind (each stop is bounded: SIGTERM, then SIGKILL).
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    for server in running:
        server.stop()
    if keep:
        log(f"kept work directory {workdir}")
    else:
        remove_tree(workdir)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    command = "python bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    workdir = Path(tempfile.mkdtemp(prefix="satchel-bench-"))
    running: list[ServerProcess] = []
    try:
        res = benchmark(args, workdir, running)
    except (BenchAbort, ServerError) as exc:
        log(f"ABORTED: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        cleanup(running, workdir, keep=args.keep)
    report = render(res, machine_facts(res.software), command.strip())
    print(report)
    if args.write_results:
        append_results(RESULTS_FILE, report)
        log(f"appended to {RESULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
