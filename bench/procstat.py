"""Linux /proc readings: process trees, resident memory and CPU use."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in (PROC / str(pid) / "task").iterdir():
            text = (task / "children").read_text()
            kids.extend(int(tok) for tok in text.split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return kids


def process_tree(pid: int) -> list[int]:
    """Return `pid` and all its descendants that are still alive."""
    seen: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen or not (PROC / str(current)).exists():
            continue
        seen.append(current)
        todo.extend(_children(current))
    return seen


def _vmrss_kib(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    return sum(_vmrss_kib(p) for p in process_tree(pid)) / 1024


def _proc_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    fields = raw.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def tree_ticks(pid: int) -> int:
    return sum(_proc_ticks(p) for p in process_tree(pid))


def _system_ticks() -> tuple[int, int, int]:
    """Return (busy, total, steal) ticks summed over all CPUs from /proc/stat."""
    first = (PROC / "stat").read_text().splitlines()[0].split()
    values = [int(v) for v in first[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    # guest time is already counted in user/nice
    total = sum(values[:8])
    steal = values[7] if len(values) > 7 else 0  # time the hypervisor gave other guests
    return total - idle, total, steal


def _own_seconds() -> float:
    """CPU seconds of this process plus its reaped children (e.g. wrk)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class CpuUse:
    """CPU use during one measurement, in cores (1.0 = one core busy)."""

    total: float
    servers: dict[str, float]
    harness: float  # this script plus the load generator
    steal: float = 0.0  # taken by the hypervisor for other machines (part of the neighbours)

    @property
    def neighbours(self) -> float:
        """Everything else on the machine: other people's work."""
        return max(0.0, self.total - sum(self.servers.values()) - self.harness)


class CpuSampler:
    """Measures machine-wide and per-server CPU use between start() and stop()."""

    def __init__(self, server_pids: dict[str, int]):
        self.server_pids = server_pids

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._sys0 = _system_ticks()
        self._srv0 = {k: tree_ticks(p) for k, p in self.server_pids.items()}
        self._own0 = _own_seconds()

    def stop(self) -> CpuUse:
        elapsed = max(time.monotonic() - self._t0, 1e-6)
        busy1, total1, steal1 = _system_ticks()
        busy0, total0, steal0 = self._sys0
        total_cores = (busy1 - busy0) / max(total1 - total0, 1) * NCPU
        steal = (steal1 - steal0) / max(total1 - total0, 1) * NCPU
        servers = {
            k: (tree_ticks(p) - self._srv0[k]) / CLK_TCK / elapsed
            for k, p in self.server_pids.items()
        }
        harness = (_own_seconds() - self._own0) / elapsed
        return CpuUse(total=total_cores, servers=servers, harness=harness, steal=steal)
