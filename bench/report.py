"""Collected measurements and their Markdown report."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from loadgen import LoadResult
from procstat import CpuUse

NEIGHBOUR_LIMIT = 0.25  # cores; above this a measurement is suspect


@dataclass
class LoadSample:
    round: int
    scenario: str
    label: str
    result: LoadResult
    cpu: CpuUse


@dataclass
class StartSample:
    round: int
    label: str
    seconds: float
    cpu: CpuUse


@dataclass
class Metric:
    """One summary row outside the load scenarios (uploads, mirror counts, memory, ...)."""

    scenario: str
    metric: str
    values: dict[str, float | None]  # label -> value
    digits: int = 1
    ratio: bool = True  # False: the ratio column stays empty (e.g. a count that must be 1)


@dataclass
class Results:
    """Everything one benchmark run measured."""

    candidate: str  # e.g. "satchel"
    baseline: str   # e.g. "devpi"
    load_tool: str = ""
    page: str = ""  # what the load scenarios request, for the report
    software: dict[str, str] = field(default_factory=dict)  # name -> version
    load: list[LoadSample] = field(default_factory=list)
    startup: list[StartSample] = field(default_factory=list)
    memory: dict[tuple[str, str], float] = field(default_factory=dict)  # (phase, label) -> MiB
    notes: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)  # goals from the issues, met or not
    details: list[str] = field(default_factory=list)  # extra Markdown (tables) for the samples part
    extra_warnings: list[str] = field(default_factory=list)
    sections: list[str] = field(default_factory=list)  # extra Markdown after the summary table

    @property
    def labels(self) -> tuple[str, str]:
        return self.candidate, self.baseline

    def scenarios(self) -> list[str]:
        return list(dict.fromkeys(s.scenario for s in self.load))

    def neighbour_warnings(self) -> list[str]:
        """Measurements during which other processes used too much CPU, in order taken."""
        samples = [(s.round, "startup", s.label, s.cpu) for s in self.startup]
        samples += [(s.round, s.scenario, s.label, s.cpu) for s in self.load]
        return [f"round {rnd} {scenario} {label}: neighbours used {cpu.neighbours:.2f} cores"
                for rnd, scenario, label, cpu in samples
                if cpu.neighbours > NEIGHBOUR_LIMIT] + self.extra_warnings


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "–"
    return f"{a / b:.2f}"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def summary_table(res: Results) -> list[str]:
    """Medians per scenario and server, with the candidate/baseline ratio."""
    cand, base = res.labels
    lines = [_row(["scenario", "metric", cand, base, f"{cand}/{base}"]),
             _row(["---", "---", "---:", "---:", "---:"])]

    def add(scenario: str, metric: str, values: dict[str, float | None], digits: int = 1):
        lines.append(_row([scenario, metric, _fmt(values[cand], digits),
                           _fmt(values[base], digits), _ratio(values[cand], values[base])]))

    for scenario in res.scenarios():
        per = {lab: [s.result for s in res.load if s.scenario == scenario and s.label == lab]
               for lab in res.labels}
        add(scenario, "requests/s", {k: _median([r.rps for r in v]) for k, v in per.items()}, 0)
        add(scenario, "p50 ms", {k: _median([r.p50_ms for r in v]) for k, v in per.items()})
        add(scenario, "p99 ms", {k: _median([r.p99_ms for r in v]) for k, v in per.items()})
    if res.startup:
        add("startup", "s to first 200 on /+api",
            {lab: _median([s.seconds for s in res.startup if s.label == lab])
             for lab in res.labels}, 2)
    for phase in ("idle", "after load"):
        if any(p == phase for p, _ in res.memory):
            add("memory", f"RSS MiB, {phase}",
                {lab: res.memory.get((phase, lab)) for lab in res.labels}, 0)
    for m in res.metrics:
        values = {lab: m.values.get(lab) for lab in res.labels}
        lines.append(_row([m.scenario, m.metric, _fmt(values[cand], m.digits),
                           _fmt(values[base], m.digits),
                           _ratio(values[cand], values[base]) if m.ratio else "–"]))
    return lines


def samples_table(res: Results) -> list[str]:
    """Every individual measurement in the order taken, with the CPU use seen during it."""
    lines = [_row(["round", "scenario", "server", "req/s", "p50 ms", "p99 ms",
                   "server CPU (cores)", "neighbours CPU (cores)"]),
             _row(["---:", "---", "---", "---:", "---:", "---:", "---:", "---:"])]
    for s in res.startup:
        lines.append(_row([str(s.round), "startup", s.label, "–",
                           f"{s.seconds:.2f} s", "–", "–", f"{s.cpu.neighbours:.2f}"]))
    for s in res.load:
        lines.append(_row([str(s.round), s.scenario, s.label, _fmt(s.result.rps, 0),
                           _fmt(s.result.p50_ms), _fmt(s.result.p99_ms),
                           f"{s.cpu.servers.get(s.label, 0):.2f}",
                           f"{s.cpu.neighbours:.2f}"]))
    return lines


def first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mem_total_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def machine_facts(extra: dict[str, str]) -> dict[str, str]:
    """Facts that make a result comparable (or not) with another."""
    facts = {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": _cpu_model(),
        "memory": _mem_total_gib(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    facts.update(extra)
    return facts


def render(res: Results, facts: dict[str, str], command: str) -> str:
    """The full Markdown report."""
    cand, base = res.labels
    parts = [
        f"Command: `{command}`",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in facts.items()),
        "",
        f"Load: {res.load_tool}" + (f"; page {res.page}" if res.page else "") + ". "
        f"Medians over rounds; ratio = {cand}/{base} "
        "(above 1 is better for requests/s, below 1 is better for latency, start-up and memory).",
        "",
        *summary_table(res),
        "",
    ]
    for block in res.sections:
        parts += [block, ""]
    warnings = res.neighbour_warnings()
    if warnings:
        parts += [f"**Noisy neighbours** (more than {NEIGHBOUR_LIMIT} of a core used by other "
                  "processes; consider rerunning):", ""]
        parts += [f"- {w}" for w in warnings] + [""]
    else:
        parts += [f"Neighbours stayed under {NEIGHBOUR_LIMIT} of a core in every measurement.", ""]
    if res.targets:
        parts += ["Targets (from the issues):", ""]
        parts += [f"- {t}" for t in res.targets] + [""]
    parts += [f"- {n}" for n in res.notes]
    if res.notes:
        parts.append("")
    parts += ["<details><summary>All samples</summary>", ""]
    if res.startup or res.load:
        parts += [*samples_table(res), ""]
    for block in res.details:
        parts += [block, ""]
    parts += ["</details>", ""]
    return "\n".join(parts)


def append_results(path: Path, report: str) -> None:
    """Append a dated section to RESULTS.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = "" if path.exists() else "# satchel benchmark results\n\nNewest at the bottom; " \
        "produced by `python bench/run.py --write-results`.\n\n"
    with path.open("a") as fh:
        fh.write(f"{header}## {stamp}\n\n{report}\n")
