#!/usr/bin/env python
"""Connection pressure (issue 15.6): is a new client answered while many keep-alive clients load the server?

For each level of busy clients (default 100 and 200) wrk holds that many keep-alive connections and
requests ``/+api`` as fast as the server answers; meanwhile a probe opens a new TCP connection every
``duration / probes`` seconds and times connect + ``GET /+api`` until its answer (5 s at most: slower is
an error). satchel and devpi-server 6.20.3 are measured interleaved (the order turns every round), after an
unrecorded warm-up of each server at the highest level. Each run records the server's CPU use and the
neighbours' (other processes plus the hypervisor's steal, which on this machine swings the load figures by
a factor of three); runs with neighbours over 0.25 of a core are flagged and left out of the medians
when quieter runs of the same server and level exist.

    python bench/connection_bench.py                      # 100 and 200 busy clients, both servers
    python bench/connection_bench.py --busy 200 --no-devpi --rounds 1
    python bench/connection_bench.py --write-results      # append the table to bench/RESULTS.md
    python bench/connection_bench.py --no-devpi --old-limit 0 --baseline-python /path/to/main/.venv/bin/python
                                                          # before/after: satchel of another checkout too

Exit status 2: a precondition failed (no wrk, a server did not start).
"""

from __future__ import annotations

import argparse
import http.client
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from envsetup import BENCH_DIR, DEVPI_VENV, ensure_devpi, ensure_wrk, log  # noqa: E402
from loadgen import WrkLoad  # noqa: E402
from procstat import CpuSampler  # noqa: E402
from report import NEIGHBOUR_LIMIT, append_results  # noqa: E402
from servers import HOST  # noqa: E402
from targets import DevpiTarget, SatchelTarget  # noqa: E402

PROBE_TIMEOUT = 5.0
WARM_UP_SECONDS = 4.0
API = {"Accept": "application/json", "User-Agent": "pip/24.0"}


class LimitedSatchel(SatchelTarget):
    """satchel with another ``--connection-limit`` (waitress' old default of 100: the before figure)."""

    def __init__(self, label: str, workdir: Path, limit: int):
        super().__init__(label, workdir)
        self.limit = limit

    def command(self, port: int) -> list[str]:
        return super().command(port) + ["--connection-limit", str(self.limit)]


class BaselineSatchel(SatchelTarget):
    """satchel as installed in another interpreter (e.g. the main branch's checkout): a before figure."""

    def __init__(self, label: str, workdir: Path, python: Path):
        super().__init__(label, workdir)
        self.python = python

    def command(self, port: int) -> list[str]:
        command = super().command(port)
        return [str(self.python), "-m", "satchel"] + command[command.index("serve"):]


def probe_once(port: int) -> float | None:
    """Seconds from connect to a complete answer on a new connection; None on error or timeout."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(HOST, port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/+api", headers=API)
        response = connection.getresponse()
        response.read()
        ok = response.status == 200
    except OSError:
        ok = False
    finally:
        connection.close()
    elapsed = time.perf_counter() - started
    return elapsed if ok and elapsed <= PROBE_TIMEOUT else None


def measure(server, wrk: str, busy: int, duration: float, probes: int) -> dict:
    """wrk with ``busy`` connections for ``duration`` seconds; ``probes`` new connections during it."""
    load = WrkLoad(wrk, threads=2, connections=busy)
    outcome = {}
    loader = threading.Thread(target=lambda: outcome.setdefault("wrk", load.run(
        server.base_url + "/+api", API, duration)))
    sampler = CpuSampler({"server": server.pid})
    sampler.start()
    loader.start()
    time.sleep(min(2.0, duration / 4))  # let wrk open its connections first
    timings = []
    gap = (duration - 2 * min(2.0, duration / 4)) / probes
    for _ in range(probes):
        timings.append(probe_once(server.port))
        time.sleep(gap)
    loader.join()
    cpu = sampler.stop()
    answered = [t for t in timings if t is not None]
    result = outcome.get("wrk")
    return {"answered": answered, "failed": len(timings) - len(answered),
            "rps": result.rps if result else 0.0,
            "wrk_errors": (result.errors + result.bad_status) if result else None,
            "server_cores": cpu.servers["server"], "neighbours": cpu.neighbours, "steal": cpu.steal}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--busy", default="100,200", help="busy client levels, comma-separated")
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--probes", type=int, default=5, help="new connections per measurement")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-devpi", action="store_true", help="measure satchel alone")
    parser.add_argument("--old-limit", type=int, default=100,
                        help="also measure satchel with this --connection-limit (0: don't)")
    parser.add_argument("--baseline-python", type=Path, default=None,
                        help="also measure the satchel installed in this interpreter (label satchel-baseline)")
    parser.add_argument("--devpi-venv", type=Path, default=DEVPI_VENV,
                        help="virtualenv holding devpi-server (created when missing)")
    parser.add_argument("--write-results", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()
    if wrk is None:
        log("wrk is needed for this scenario")
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # wrk and the servers inherit it
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    levels = [int(level) for level in args.busy.split(",")]
    with tempfile.TemporaryDirectory(prefix="satchel-conn-") as scratch:
        workdir = Path(scratch)
        targets = [SatchelTarget("satchel", workdir)]
        if args.old_limit:
            targets.append(LimitedSatchel(f"satchel-limit{args.old_limit}", workdir, args.old_limit))
        if args.baseline_python:
            targets.append(BaselineSatchel("satchel-baseline", workdir, args.baseline_python))
        if not args.no_devpi:
            targets.append(DevpiTarget("devpi", workdir, ensure_devpi(args.devpi_venv)))
        samples: dict[tuple[str, int], list[dict]] = {}
        servers = {}
        try:
            for target in targets:
                target.prepare([])
                servers[target.label] = server = target.process()
                server.start()
                server.wait_ready()
            for target in targets:  # unrecorded: first connections, thread and connection caches
                log(f"warm-up: {target.label}, {max(levels)} busy clients")
                WrkLoad(wrk, threads=2, connections=max(levels)).run(servers[target.label].base_url + "/+api",
                                                                       API, WARM_UP_SECONDS)
            for round_number in range(args.rounds):
                for busy in levels:
                    for target in (targets if round_number % 2 == 0 else targets[::-1]):
                        log(f"round {round_number + 1}: {target.label}, {busy} busy clients")
                        sample = measure(servers[target.label], wrk, busy, args.duration, args.probes)
                        log(f"  {sample['rps']:.0f} req/s, server {sample['server_cores']:.2f} cores, neighbours "
                            f"{sample['neighbours']:.2f} (steal {sample['steal']:.2f}), probes "
                            f"{', '.join(f'{t * 1000:.0f} ms' for t in sample['answered'])}, "
                            f"failed {sample['failed']}")
                        samples.setdefault((target.label, busy), []).append(sample)
        finally:
            for server in servers.values():
                server.stop()
    report = render(samples, args)
    print(report)
    if args.write_results:
        append_results(BENCH_DIR / "RESULTS.md", report)
    return 0


def quiet_runs(runs: list[dict]) -> list[dict]:
    """The runs whose neighbours stayed under the limit, or all of them when none did."""
    quiet = [run for run in runs if run["neighbours"] <= NEIGHBOUR_LIMIT]
    return quiet or runs


def render(samples: dict, args) -> str:
    lines = [f"### Connection pressure (issue 15.6)\n\nwrk -t2 -cN on `/+api` for {args.duration:.0f} s; "
             f"{args.probes} new connections per run, each timed from connect to the answer "
             f"(over {PROBE_TIMEOUT:.0f} s counts as failed); {args.rounds} rounds, interleaved, after a "
             f"{WARM_UP_SECONDS:.0f} s warm-up; medians over the runs whose neighbours (other processes and the "
             f"hypervisor's steal) stayed under {NEIGHBOUR_LIMIT} of a core (all runs when none did).\n",
             "| server | busy clients | runs kept | probes answered | p50 new connection | max | failed "
             "| load req/s | load errors | server cores | neighbours (steal) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for (label, busy), runs in samples.items():
        kept = quiet_runs(runs)
        answered = [t for run in kept for t in run["answered"]]
        failed = sum(run["failed"] for run in runs)  # a failed probe counts whatever the neighbours did
        rps = statistics.median(run["rps"] for run in kept)
        p50 = f"{statistics.median(answered) * 1000:.0f} ms" if answered else "-"
        worst = f"{max(answered) * 1000:.0f} ms" if answered else "-"
        errors = sum(run["wrk_errors"] or 0 for run in kept)
        cores = statistics.median(run["server_cores"] for run in kept)
        neighbours = statistics.median(run["neighbours"] for run in kept)
        steal = statistics.median(run["steal"] for run in kept)
        lines.append(f"| {label} | {busy} | {len(kept)} of {len(runs)} | {len(answered)} | {p50} | {worst} "
                     f"| {failed} | {rps:.0f} | {errors} | {cores:.2f} | {neighbours:.2f} ({steal:.2f}) |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
