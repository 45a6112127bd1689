#!/usr/bin/env python3
"""Benchmark satchel against devpi-server 6.20.3 on the same machine, interleaved.

    python bench/run.py [--rounds N] [--duration S] [--scenarios html,json,startup,memory,
                        upload,upload-growth,inherit,mirror] [--aa] [--write-results] [--keep]

See bench/README.md for the method. Markdown goes to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from envsetup import BENCH_DIR, DEVPI_VERSION, ensure_devpi, ensure_wrk, log  # noqa: E402
from fixtures import DEFAULT_COUNT, release_files, simple_path  # noqa: E402
from loadgen import PythonLoad, WrkLoad  # noqa: E402
from measure import (  # noqa: E402
    HTML_HEADERS,
    PIP_HEADERS,
    BenchAbort,
    LoadSpec,
    check_page,
    measure_load,
    warm_up,
    warn_if_noisy,
)
from procstat import CpuSampler  # noqa: E402
from report import (  # noqa: E402
    Results,
    StartSample,
    append_results,
    first_line,
    machine_facts,
    render,
)
from scenario_bare import run_bare  # noqa: E402
from scenario_mirror import run_mirror  # noqa: E402
from scenario_upload import run_inherit, run_uploads  # noqa: E402
from servers import ServerError, ServerProcess  # noqa: E402
from targets import DevpiTarget, SatchelTarget, Target, remove_tree  # noqa: E402

LOAD_SCENARIOS = {"html": HTML_HEADERS, "json": PIP_HEADERS}
OLD_SCENARIOS = ["html", "json", "startup", "memory"]
UPLOAD_SCENARIOS = ["upload", "upload-growth", "inherit"]
ALL_SCENARIOS = OLD_SCENARIOS + ["bare"] + UPLOAD_SCENARIOS + ["mirror"]
SETTLE_SECONDS = 2.0
# devpi-server's keyfs cache (default 10,000 entries) is too small for one project with more than
# about 550 versions: each upload then re-reads the project from disk and takes 1-3 s, so 2,000
# versions would take hours. A bigger cache keeps devpi at its best; satchel has no such setting.
DEVPI_KEYFS_CACHE = 200_000
RESULTS_FILE = BENCH_DIR / "RESULTS.md"


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
                   help=f"release files on the html/json page (default {DEFAULT_COUNT})")
    p.add_argument("--satchel-fill", choices=["model", "http"], default="http",
                   help="fill satchel over HTTP like devpi (default) or through its Python model API")
    p.add_argument("--devpi-keyfs-cache-size", type=int, default=DEVPI_KEYFS_CACHE,
                   help="devpi-server --keyfs-cache-size, 0 for devpi's default of 10000 "
                        f"(default {DEVPI_KEYFS_CACHE}: with 10000, uploads to one project slow to "
                        "about 1 per second after some 550 versions)")
    p.add_argument("--upload-files", type=int, default=2000,
                   help="upload, upload-growth, inherit: versions of one project, and projects of "
                        "the many-projects upload (default 2000)")
    p.add_argument("--upload-auth", choices=["token", "basic"], default="token",
                   help="credentials of the upload runs: X-Devpi-Auth token (default, as `devpi "
                        "upload`) or HTTP Basic (as twine; devpi checks argon2 on every request)")
    p.add_argument("--basic-uploads", type=int, default=200,
                   help="upload: projects of the extra Basic-auth run, 0 to skip (default 200)")
    p.add_argument("--upload-block", type=int, default=50,
                   help="uploads per server before switching to the other (default 50)")
    p.add_argument("--growth-window", type=int, default=50,
                   help="upload-growth: versions at the start and at the end compared (default 50)")
    p.add_argument("--cold-clients", type=int, default=50,
                   help="mirror: concurrent clients asking for one cold file (default 50)")
    p.add_argument("--cold-seconds", type=float, default=2.0,
                   help="mirror: the fake upstream dribbles the cold file over this long (default 2)")
    p.add_argument("--mirror-names", type=int, default=300_000,
                   help="mirror: project names of the big upstream list, 0 to skip that part "
                        "(default 300000)")
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
    if args.upload_files < 1 or args.upload_block < 1 or args.growth_window < 1:
        p.error("--upload-files, --upload-block and --growth-window must be >= 1")
    if args.cold_clients < 1:
        p.error("--cold-clients must be >= 1")
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
    cache = args.devpi_keyfs_cache_size
    if args.aa:
        return (DevpiTarget("devpi-B", workdir, bindir, cache),
                DevpiTarget("devpi-A", workdir, bindir, cache))
    check_satchel_importable()
    return (SatchelTarget("satchel", workdir, args.satchel_fill),
            DevpiTarget("devpi", workdir, bindir, cache))


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

def check_pages(servers: dict[str, ServerProcess], scenarios: list[str], expected: int,
                res: Results) -> None:
    """Every server must answer 200 listing `expected` files in every load scenario."""
    for label, server in servers.items():
        for scenario in scenarios:
            check_page(label, server, simple_path(), LOAD_SCENARIOS[scenario], expected, res,
                       scenario)


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


def measure_memory(servers: dict[str, ServerProcess], phase: str, res: Results) -> None:
    for label, server in servers.items():
        res.memory[(phase, label)] = server.rss_mib()
        log(f"memory {phase} {label}: {res.memory[(phase, label)]:.0f} MiB")


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

def old_specs(scenarios: list[str]) -> list[LoadSpec]:
    return [LoadSpec(s, [simple_path()], LOAD_SCENARIOS[s]) for s in scenarios]


def restarter(targets: tuple[Target, Target], servers: dict[str, ServerProcess],
              running: list[ServerProcess]):
    """A function that stops the server of a label and starts it again on a fresh port."""
    by_label = {t.label: t for t in targets}

    def restart(label: str) -> ServerProcess:
        servers[label].stop()
        server = by_label[label].process(pinned=True)
        running.append(server)
        server.start()
        server.wait_ready()
        servers[label] = server
        return server

    return restart


def benchmark(args: argparse.Namespace, workdir: Path, running: list[ServerProcess]) -> Results:
    load_scenarios = [s for s in args.scenarios if s in LOAD_SCENARIOS]
    new_scenarios = [s for s in args.scenarios if s not in OLD_SCENARIOS]
    needs_load = load_scenarios or any(s in new_scenarios for s in ("inherit", "mirror", "bare"))
    load = pick_load_generator(args.load) if needs_load else None
    targets = make_targets(args, workdir)
    load_tool = load.describe(args.duration) if load else "none"
    if args.pin:
        load_tool += "; " + pin_cpus(targets)
    res = Results(candidate=targets[0].label, baseline=targets[1].label,
                  load_tool=load_tool, software=versions(args, load))
    if args.devpi_keyfs_cache_size:
        res.notes.append(f"devpi-server runs with --keyfs-cache-size {args.devpi_keyfs_cache_size:,} "
                         "(its default of 10,000 makes uploads to one project crawl at about 1/s "
                         "after some 550 versions)")
    wants_page = bool(load_scenarios) or any(s in args.scenarios for s in ("startup", "memory", "bare"))
    releases = release_files(args.files) if wants_page else []
    if load_scenarios:
        res.page = f"`{simple_path()}` ({len(releases)} files)"
    for target in targets:
        log(f"preparing {target.label} in {target.serverdir}")
        target.prepare(releases)
        if releases and "uploads_per_s" in target.fill_info:
            res.notes.append(f"{target.label}: {len(releases)} uploads over HTTP, one client, "
                             f"{target.fill_info['uploads_per_s']:.0f}/s (single sample)")

    if "startup" in args.scenarios:
        measure_startup(targets, args.rounds, res)

    if not load_scenarios and "memory" not in args.scenarios and not new_scenarios:
        return res
    servers = start_servers(targets, running)
    if "memory" in args.scenarios:
        time.sleep(SETTLE_SECONDS)
        measure_memory(servers, "idle", res)
    if load_scenarios:
        check_pages(servers, load_scenarios, len(releases), res)
        specs = old_specs(load_scenarios)
        warm_up(load, servers, specs, args.warmup)
        measure_load(load, servers, specs, args.rounds, args.duration, res)
        if "memory" in args.scenarios:
            time.sleep(SETTLE_SECONDS)
            measure_memory(servers, "after load", res)
    if "bare" in new_scenarios:
        if args.aa:
            raise BenchAbort("the bare scenario measures satchel: not with --aa")
        run_bare(load, servers, workdir, running, args.rounds, args.duration, args.warmup, res)
    if any(s in UPLOAD_SCENARIOS for s in new_scenarios):
        run_uploads(servers, new_scenarios, args, res)
    if "inherit" in new_scenarios:
        run_inherit(load, servers, args.upload_files, args.rounds, args.duration, args.warmup, res)
    if "mirror" in new_scenarios:
        run_mirror(load, servers, restarter(targets, servers, running), args, res)
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
