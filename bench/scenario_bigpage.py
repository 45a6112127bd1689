"""Big-page figures for ``inherit`` (issue 15 point 7): page bytes plain and gzipped, p99 targets."""

from __future__ import annotations

import statistics

from fixtures import USER
from measure import HTML_HEADERS, PIP_HEADERS, LoadSpec
from report import Results
from scenario_bare import record
from servers import ServerProcess

P99_TARGET_MS = 50.0
GZIP = {"Accept-Encoding": "gzip"}


def big_page_specs(path: str) -> list[LoadSpec]:
    return [LoadSpec("inherit", [path], HTML_HEADERS), LoadSpec("inherit-json", [path], PIP_HEADERS)]


def page_bytes(server: ServerProcess, path: str, headers: dict[str, str]) -> tuple[int, int, bool]:
    """(plain bytes, bytes when gzip is accepted, whether the server compressed)."""
    plain = len(record(server.base_url + path, headers)[2])
    _, kept, zipped = record(server.base_url + path, {**headers, **GZIP})
    compressed = any(k.lower() == "content-encoding" and v == "gzip" for k, v in kept)
    return plain, len(zipped), compressed


def report_big_page(servers: dict[str, ServerProcess], path: str, res: Results) -> None:
    cand, base = res.labels
    for spec in big_page_specs(path):
        sizes = {label: page_bytes(server, path, spec.headers) for label, server in servers.items()}
        for label, (plain, zipped, compressed) in sizes.items():
            res.notes.append(f"{label} {spec.scenario} (`{path}`, {USER}/c <- b <- a): {plain:,} bytes, "
                             f"{zipped:,} bytes with Accept-Encoding: gzip"
                             + ("" if compressed else " (not compressed)"))
        p99 = statistics.median(s.result.p99_ms for s in res.load
                                if s.scenario == spec.scenario and s.label == cand)
        met = "met" if p99 < P99_TARGET_MS else "NOT met"
        res.targets.append(f"{spec.scenario}: {cand} p99 {p99:.1f} ms at 8 connections, under "
                           f"{P99_TARGET_MS:.0f} ms wanted (issue 15): {met}")
        if spec.scenario == "inherit":
            mine, theirs = sizes[cand][0], sizes[base][0]
            met = "met" if mine <= theirs else "NOT met"
            res.targets.append(f"inherit: {cand} HTML page {mine:,} bytes, {base} {theirs:,} "
                               f"({mine / theirs:.2f}x), no larger wanted (issue 15): {met}; gzipped "
                               f"{sizes[cand][1]:,} bytes")
