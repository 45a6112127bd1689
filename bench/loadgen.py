"""HTTP load generation: wrk with a Lua script, or a Python fallback."""

from __future__ import annotations

import http.client
import json
import math
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

RESULT_MARK = "BENCH_RESULT "

_LUA_DONE = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT {\"requests\": %d, \"duration_us\": %d, \"p50_us\": %d, " ..
    "\"p99_us\": %d, \"errors\": %d, \"bad_status\": %d}\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
'''


@dataclass
class LoadResult:
    """Outcome of one load run."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0      # socket errors and timeouts
    bad_status: int = 0  # answers other than 2xx/3xx

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII text is a valid Lua literal


def lua_script(headers: dict[str, str], paths: list[str] | None = None) -> str:
    """A wrk script that sets `headers` and prints a machine-readable summary.

    With several `paths`, each wrk thread requests them round robin.
    """
    lines = [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    if paths and len(paths) > 1:
        lines += [
            "local paths = {" + ", ".join(_lua_string(p) for p in paths) + "}",
            "local next_path = 0",
            "request = function()",
            "  next_path = next_path % #paths + 1",
            "  return wrk.format(nil, paths[next_path])",
            "end",
        ]
    return "\n".join(lines) + "\n" + _LUA_DONE


def parse_wrk_output(stdout: str) -> LoadResult:
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            data = json.loads(line[len(RESULT_MARK):])
            return LoadResult(
                requests=data["requests"], seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                errors=data["errors"], bad_status=data["bad_status"])
    raise RuntimeError(f"no result line in wrk output:\n{stdout}")


def _whole(seconds: float) -> int:
    """wrk takes whole seconds only."""
    return max(1, math.ceil(seconds))


class WrkLoad:
    """Runs `wrk -tT -cC -dDs --latency -s script URL`."""

    name = "wrk"

    def __init__(self, wrk: str, threads: int = 2, connections: int = 8, timeout: float = 10):
        self.wrk = wrk
        self.threads = threads
        self.connections = connections
        self.timeout = timeout  # seconds after which wrk counts a request as failed

    def describe(self, duration: float) -> str:
        return f"wrk -t{self.threads} -c{self.connections} -d{_whole(duration)}s"

    def run(self, url: str, headers: dict[str, str], duration: float,
            paths: list[str] | None = None) -> LoadResult:
        """Load `url`; with `paths`, request those paths (of url's server) round robin."""
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(lua_script(headers, paths))
        try:
            out = subprocess.run(
                [self.wrk, f"-t{self.threads}", f"-c{self.connections}",
                 f"-d{_whole(duration)}s", "--timeout", f"{_whole(self.timeout)}s", "-s", script.name, url],
                capture_output=True, text=True, timeout=duration + self.timeout + 60, check=True)
        finally:
            Path(script.name).unlink(missing_ok=True)
        return parse_wrk_output(out.stdout)


class PythonLoad:
    """Fallback when wrk is unavailable: one keep-alive connection per thread.

    It burns CPU in this process (the GIL limits it to about one core), so its
    figures are lower than wrk's; use only to compare servers within one run.
    """

    name = "python"

    def __init__(self, connections: int = 8):
        self.connections = connections

    def describe(self, duration: float) -> str:
        return f"python http.client load, {self.connections} connections, {duration:g}s"

    def run(self, url: str, headers: dict[str, str], duration: float,
            paths: list[str] | None = None) -> LoadResult:
        parts = urlsplit(url)
        rotation = paths or [parts.path + (f"?{parts.query}" if parts.query else "")]
        deadline = time.monotonic() + duration
        latencies: list[float] = []
        counters = {"errors": 0, "bad_status": 0}
        lock = threading.Lock()

        def worker() -> None:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
            local: list[float] = []
            errors = bad = 0
            turn = 0
            while time.monotonic() < deadline:
                path = rotation[turn % len(rotation)]
                turn += 1
                started = time.perf_counter()
                try:
                    conn.request("GET", path, headers=headers)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                    continue
                local.append(time.perf_counter() - started)
                if resp.status >= 400:
                    bad += 1
            conn.close()
            with lock:
                latencies.extend(local)
                counters["errors"] += errors
                counters["bad_status"] += bad

        started = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(self.connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        return _result_from_latencies(latencies, elapsed, **counters)


def _result_from_latencies(latencies: list[float], elapsed: float,
                           errors: int, bad_status: int) -> LoadResult:
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50 = p99 = latencies[0] if latencies else 0.0
    return LoadResult(requests=len(latencies), seconds=elapsed, p50_ms=p50 * 1000,
                      p99_ms=p99 * 1000, errors=errors, bad_status=bad_status)
