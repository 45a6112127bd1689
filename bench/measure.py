"""Shared measurement helpers: page checks, interleaved load runs, settling memory."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from envsetup import log
from procstat import CpuSampler
from report import NEIGHBOUR_LIMIT, LoadSample, Results
from servers import ServerProcess

PIP_UA = "pip/24.0"
PEP691_ACCEPT = ("application/vnd.pypi.simple.v1+json, "
                 "application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01")
HTML_HEADERS = {"User-Agent": PIP_UA, "Accept": "text/html"}
PIP_HEADERS = {"User-Agent": PIP_UA, "Accept": PEP691_ACCEPT}


class BenchAbort(RuntimeError):
    """A precondition failed; the message says which."""


@dataclass
class LoadSpec:
    """What one load scenario requests: one path, or several round robin."""

    scenario: str
    paths: list[str]
    headers: dict[str, str]


def fetch_page(url: str, headers: dict[str, str], timeout: float = 60) -> tuple[str, str]:
    """GET a page; return (content type, body). Raise BenchAbort unless 200."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.headers.get("Content-Type", ""), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        raise BenchAbort(f"GET {url} answered {exc.code}, expected 200") from exc
    except OSError as exc:
        raise BenchAbort(f"GET {url} failed: {exc}") from exc


def wants_json(headers: dict[str, str]) -> bool:
    return "json" in headers.get("Accept", "")


def count_files(url: str, ctype: str, body: str, want_json: bool) -> int:
    """Number of files a simple page lists (JSON "files" or HTML anchors)."""
    if not want_json:
        return body.count("<a ")
    if "json" not in ctype:
        raise BenchAbort(f"GET {url} with the PEP 691 Accept header answered {ctype!r}, "
                         "expected application/vnd.pypi.simple.v1+json")
    return len(json.loads(body).get("files", []))


def check_page(label: str, server: ServerProcess, path: str, headers: dict[str, str],
               expected: int, res: Results, what: str) -> None:
    """The page must answer 200 listing `expected` files; its size goes into the notes."""
    url = server.base_url + path
    ctype, body = fetch_page(url, headers)
    found = count_files(url, ctype, body, want_json=wants_json(headers))
    if found != expected:
        raise BenchAbort(f"{label} {what}: {url} lists {found} files, expected {expected}")
    size = len(body.encode())
    res.notes.append(f"{label} {what}: `{path}` 200, {found} files, {size:,} bytes, {ctype}")
    log(f"{label} {what}: 200 with {found} files, {size} bytes")


def warn_if_noisy(neighbours: float) -> None:
    if neighbours > NEIGHBOUR_LIMIT:
        log(f"WARNING: other processes used {neighbours:.2f} cores during that measurement "
            f"(limit {NEIGHBOUR_LIMIT}); consider rerunning")


def run_load(load, server: ServerProcess, spec: LoadSpec, duration: float):
    paths = spec.paths if len(spec.paths) > 1 else None
    return load.run(server.base_url + spec.paths[0], spec.headers, duration, paths)


def warm_up(load, servers: dict[str, ServerProcess], specs: list[LoadSpec], seconds: float) -> None:
    if seconds <= 0:
        return
    for spec in specs:
        for server in servers.values():
            run_load(load, server, spec, seconds)


def measure_load(load, servers: dict[str, ServerProcess], specs: list[LoadSpec], rounds: int,
                 duration: float, res: Results) -> None:
    """A B A B ... for every scenario, `rounds` times."""
    sampler = CpuSampler({label: s.pid for label, s in servers.items()})
    for rnd in range(1, rounds + 1):
        for spec in specs:
            for label, server in servers.items():
                sampler.start()
                result = run_load(load, server, spec, duration)
                cpu = sampler.stop()
                if result.errors or result.bad_status:
                    res.notes.append(f"round {rnd} {spec.scenario} {label}: {result.errors} socket "
                                     f"errors, {result.bad_status} non-2xx/3xx answers")
                res.load.append(LoadSample(rnd, spec.scenario, label, result, cpu))
                log(f"round {rnd} {spec.scenario} {label}: {result.rps:.0f} req/s, "
                    f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
                    f"neighbours {cpu.neighbours:.2f} cores")
                warn_if_noisy(cpu.neighbours)


def settled_rss(server: ServerProcess, minimum: float = 5.0, stable_for: float = 3.0,
                tolerance_mib: float = 1.0, limit: float = 90.0) -> float:
    """RSS once it has stopped changing: at least `minimum` s after the call, then unchanged
    (within `tolerance_mib`) for `stable_for` s; at most `limit` s."""
    started = time.monotonic()
    readings: list[tuple[float, float]] = []
    while True:
        now = time.monotonic()
        rss = server.rss_mib()
        readings.append((now, rss))
        if now - started >= limit:
            log(f"{server.label}: RSS still changing after {limit:.0f} s, taking {rss:.0f} MiB")
            return rss
        if now - started >= minimum:
            window = [r for t, r in readings if now - t <= stable_for]
            span = readings[0][0] <= now - stable_for
            if span and max(window) - min(window) <= tolerance_mib:
                return rss
        time.sleep(0.5)
