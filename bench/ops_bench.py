#!/usr/bin/env python
"""Export and import: satchel against devpi-server 6.20.3 (issue 5).

Both servers are filled over HTTP with the same N wheels (one sequential client each, the two
fills run at the same time), then stopped. Then, per round, interleaved and into fresh
directories each time:

    satchel export, devpi-export, satchel import, devpi-import, satchel import --from-devpi

The last one is the migration path: satchel reading devpi's own dump of this round, compared with
devpi-import reading the same dump. Each command is timed as a whole (process spawn to exit). MB/s = bytes of the uploaded release
files / seconds (MB = 10^6 bytes). After each round both imported serverdirs are started and must
serve the same set of N files (all simple pages are walked); a sample of files is downloaded and
checked against its sha256.

    python bench/ops_bench.py                                  # 2,000 files x 200 KiB, 3 rounds
    python bench/ops_bench.py --files 10000 --size-kib 200     # issue 5's full size (~2 GB)
    python bench/ops_bench.py --write-results                  # append the report to RESULTS.md

Exit status 2: a precondition failed (a server or command failed, counts differ).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import (
    OpsError,
    append_results,
    command_line,
    dataset,
    devpi_init,
    devpi_server,
    dir_bytes,
    fill_parallel,
    fmt,
    log_problems,
    machine_facts,
    median,
    ratio,
    row,
    run_checked,
    satchel_launcher,
    satchel_server,
    served_files,
    verify_downloads,
)
from envsetup import ensure_devpi, log
from procstat import CpuSampler
from servers import ServerError, ServerProcess

LABELS = ("satchel", "devpi")
OPS = ("export", "import")


@dataclass
class Sample:
    round: int
    op: str
    label: str
    seconds: float
    neighbours: float
    out_files: int
    out_bytes: int


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=2000, help="number of release files (default 2000)")
    p.add_argument("--size-kib", type=int, default=200, help="size of each file in KiB (default 200)")
    p.add_argument("--per-project", type=int, default=20,
                   help="versions (files) per project (default 20)")
    p.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    p.add_argument("--hard-links", action="store_true",
                   help="pass --hard-links to all four commands (default: copy)")
    p.add_argument("--check", choices=("all", "last", "none"), default="all",
                   help="start imported servers and compare served files after each round (all), "
                        "after the last round only, or never")
    p.add_argument("--verify-sample", type=int, default=25,
                   help="files downloaded and sha256-checked per imported server (default 25)")
    p.add_argument("--workdir", type=Path, default=None,
                   help="parent of the temporary directory (default: system temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--write-results", action="store_true", help="append the report to RESULTS.md")
    return p.parse_args(argv)


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="ops-bench-", dir=args.workdir))
        self.bindir: Path | None = None
        self.samples: list[Sample] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.payload_bytes = 0
        self.running: list[ServerProcess] = []

    # -- helpers ------------------------------------------------------------------------------
    def start(self, server: ServerProcess) -> ServerProcess:
        self.running.append(server)
        server.start()
        server.wait_ready(timeout=180)
        return server

    def stop_all(self) -> None:
        for server in self.running:
            server.stop()
        self.running.clear()

    def cmd(self, label: str, op: str, src: Path, dst: Path) -> list[str]:
        hl = ["--hard-links"] if self.args.hard_links else []
        if label == "satchel":
            if op == "export":
                return satchel_launcher() + ["export", str(dst), "--serverdir", str(src), *hl]
            return satchel_launcher() + ["import", str(src), "--serverdir", str(dst), *hl]
        if op == "export":
            return [str(self.bindir / "devpi-export"), "--serverdir", str(src), str(dst), *hl]
        return [str(self.bindir / "devpi-import"), "--serverdir", str(dst), str(src), *hl]

    # -- steps --------------------------------------------------------------------------------
    def fill(self) -> None:
        a = self.args
        releases = dataset(a.files, a.size_kib, a.per_project)
        src = {lab: self.work / lab / "source" for lab in LABELS}
        devpi_init(self.bindir, src["devpi"])
        servers = {
            "satchel": satchel_server("satchel", src["satchel"], self.work / "satchel" / "source.log"),
            "devpi": devpi_server("devpi", self.bindir, src["devpi"], self.work / "devpi" / "source.log"),
        }
        try:
            for s in servers.values():
                self.start(s)
            log(f"filling both servers with {a.files} files of {a.size_kib} KiB over HTTP")
            t0 = time.monotonic()
            filled = fill_parallel({k: s.base_url for k, s in servers.items()}, releases)
            log(f"filled in {time.monotonic() - t0:.0f} s")
            sizes = {v[1] for v in filled.values()}
            assert len(sizes) == 1, sizes
            self.payload_bytes = sizes.pop()
            for lab, (secs, nbytes) in filled.items():
                self.notes.append(f"{lab}: fill {a.files} uploads in {secs:.0f} s of request time "
                                  f"({a.files / secs:.0f} uploads/s, {nbytes / secs / 1e6:.1f} MB/s; "
                                  "both fills ran at the same time)")
            self.expected = {r.filename for r in releases}
            for lab, s in servers.items():
                self.check_served(lab, "source", s)
        finally:
            self.stop_all()
        for lab in LABELS:
            n, b = dir_bytes(src[lab])
            self.notes.append(f"{lab}: source serverdir {n} files, {b / 1e6:,.0f} MB")
        self.sources = src

    def check_served(self, label: str, what: str, server: ServerProcess) -> None:
        files = served_files(server.base_url)
        names = set(files)
        if names != self.expected:
            missing = len(self.expected - names)
            extra = len(names - self.expected)
            raise OpsError(f"{label} {what}: serves {len(names)} files, expected {len(self.expected)} "
                           f"({missing} missing, {extra} unexpected)")
        step = max(1, len(files) // max(self.args.verify_sample, 1))
        sample = sorted(files)[::step][: self.args.verify_sample]
        bad = verify_downloads([files[n] for n in sample])
        if bad:
            raise OpsError(f"{label} {what}: download check failed: {bad[:5]}")
        log(f"{label} {what}: serves all {len(names)} files; {len(sample)} downloads verified")

    def round(self, rnd: int) -> None:
        rdir = self.work / f"round{rnd}"
        dumps = {lab: rdir / f"{lab}-dump" for lab in LABELS}
        imported = {lab: rdir / f"{lab}-imported" for lab in LABELS}
        logs = {lab: rdir / f"{lab}-commands.log" for lab in LABELS}
        for op in OPS:
            for lab in LABELS:
                if op == "export":
                    argv = self.cmd(lab, op, self.sources[lab], dumps[lab])
                    out = dumps[lab]
                else:
                    argv = self.cmd(lab, op, dumps[lab], imported[lab])
                    out = imported[lab]
                sampler = CpuSampler({})
                sampler.start()
                secs = run_checked(argv, f"{lab} {op}", logs[lab])
                cpu = sampler.stop()
                n, b = dir_bytes(out)
                self.samples.append(Sample(rnd, op, lab, secs, cpu.neighbours, n, b))
                log(f"round {rnd} {lab} {op}: {secs:.2f} s, "
                    f"{self.payload_bytes / secs / 1e6:.0f} MB/s, neighbours {cpu.neighbours:.2f}")
        migrated = rdir / "satchel-migrated"
        argv = satchel_launcher() + ["import", "--from-devpi", str(dumps["devpi"]), "--serverdir", str(migrated)]
        sampler = CpuSampler({})
        sampler.start()
        secs = run_checked(argv, "satchel import --from-devpi", logs["satchel"])
        cpu = sampler.stop()
        n, b = dir_bytes(migrated)
        self.samples.append(Sample(rnd, "migrate", "satchel", secs, cpu.neighbours, n, b))
        log(f"round {rnd} satchel import --from-devpi: {secs:.2f} s, "
            f"{self.payload_bytes / secs / 1e6:.0f} MB/s, neighbours {cpu.neighbours:.2f}")
        for lab in LABELS:
            for line in log_problems(logs[lab]):
                self.problems.append(f"round {rnd} {lab} command log: {line[:300]}")
        if self.args.check == "all" or (self.args.check == "last" and rnd == self.args.rounds):
            self.check_imported(rnd, imported)
            self.check_imported(rnd, {"satchel": migrated}, what="migration from devpi")
        if not self.args.keep:
            shutil.rmtree(rdir, ignore_errors=True)

    def check_imported(self, rnd: int, imported: dict[str, Path], what: str = "import") -> None:
        for lab in imported:
            log_path = imported[lab].parent / f"{imported[lab].name}.log"
            if lab == "satchel":
                server = satchel_server(lab, imported[lab], log_path)
            else:
                server = devpi_server(lab, self.bindir, imported[lab], log_path)
            try:
                self.start(server)
                self.check_served(lab, f"round {rnd} {what}", server)
            finally:
                self.stop_all()
            for line in log_problems(log_path):
                self.problems.append(f"round {rnd} {lab} imported server log: {line[:300]}")

    # -- report -------------------------------------------------------------------------------
    def report(self) -> str:
        a = self.args
        mb = self.payload_bytes / 1e6
        lines = [
            f"Command: `{command_line()}`",
            "",
            "Machine: " + ", ".join(f"{k} {v}" for k, v in machine_facts().items()),
            "",
            f"Data: {a.files:,} wheels of {a.size_kib} KiB ({mb:,.0f} MB of release files, "
            f"{a.per_project} per project, {a.files // a.per_project:,} projects) in `alice/dev`, "
            "uploaded over HTTP to both servers. "
            "Order per round: satchel export, devpi export, satchel import, devpi import, "
            "satchel import --from-devpi of devpi's dump; "
            f"{a.rounds} rounds, fresh target directories each time; files "
            f"{'hard-linked' if a.hard_links else 'copied'} (defaults of both tools"
            f"{'' if a.hard_links else ', no --hard-links'}). Time = whole command, spawn to exit. "
            "MB/s = release-file bytes / time. Medians over rounds; ratio = satchel/devpi "
            "(MB/s: above 1 is better; target ≥ 2).",
            "",
            row(["operation", "metric", "satchel", "devpi", "satchel/devpi"]),
            row(["---", "---", "---:", "---:", "---:"]),
        ]
        targets = []
        for op in OPS:
            secs = {lab: median([s.seconds for s in self.samples if s.op == op and s.label == lab])
                    for lab in LABELS}
            rate = {lab: (mb / v if v else None) for lab, v in secs.items()}
            lines.append(row([op, "seconds", fmt(secs["satchel"]), fmt(secs["devpi"]),
                              ratio(secs["satchel"], secs["devpi"])]))
            lines.append(row([op, "MB/s", fmt(rate["satchel"], 1), fmt(rate["devpi"], 1),
                              ratio(rate["satchel"], rate["devpi"])]))
            if rate["satchel"] and rate["devpi"]:
                r = rate["satchel"] / rate["devpi"]
                targets.append(f"{op}: satchel/devpi MB/s = {r:.2f} (target ≥ 2): "
                               f"{'met' if r >= 2 else 'NOT met'}")
        migrate = median([s.seconds for s in self.samples if s.op == "migrate"])
        devpi_import = median([s.seconds for s in self.samples if s.op == "import" and s.label == "devpi"])
        if migrate and devpi_import:
            lines.append(row(["devpi's dump → satchel import --from-devpi (vs devpi-import)", "MB/s",
                              fmt(mb / migrate, 1), fmt(mb / devpi_import, 1),
                              ratio(mb / migrate, mb / devpi_import)]))
        dump = {lab: median([s.out_bytes for s in self.samples if s.op == "export" and s.label == lab])
                for lab in LABELS}
        lines.append(row(["export", "dump size MB", fmt(dump["satchel"] / 1e6, 0),
                          fmt(dump["devpi"] / 1e6, 0), ratio(dump["satchel"], dump["devpi"])]))
        lines.append("")
        noisy = [s for s in self.samples if s.neighbours > 0.25]
        if noisy:
            lines.append("**Noisy neighbours** (more than 0.25 of a core used by other processes): "
                         + "; ".join(f"round {s.round} {s.label} {s.op} {s.neighbours:.2f}"
                                     for s in noisy))
        else:
            lines.append("Neighbours stayed under 0.25 of a core in every measurement.")
        lines += ["", "Targets (issue 5):", ""] + [f"- {t}" for t in targets] + [""]
        check = {"all": "after every round", "last": "after the last round", "none": "never"}[a.check]
        self.notes.append(f"imported servers checked {check}: both serve the same {a.files:,} files "
                          f"(all simple pages walked; {a.verify_sample} downloads per server "
                          "sha256-checked)" if a.check != "none" else "imported servers not checked")
        self.notes.append("devpi-import ran with its defaults (events processed during import; "
                          "devpi-web not installed)")
        self.notes.append("page cache: the source serverdirs were just written, so exports read "
                          "mostly from memory on this machine (caches were not dropped)")
        lines += [f"- {n}" for n in self.notes]
        if self.problems:
            lines += ["", "Errors seen in logs:", ""] + [f"- `{p}`" for p in self.problems[:30]]
        lines += ["", "<details><summary>All samples</summary>", "",
                  row(["round", "operation", "server", "seconds", "MB/s", "output files",
                       "output MB", "neighbours CPU (cores)"]),
                  row(["---:", "---", "---", "---:", "---:", "---:", "---:", "---:"])]
        for s in self.samples:
            lines.append(row([str(s.round), s.op, s.label, fmt(s.seconds), fmt(mb / s.seconds, 1),
                              str(s.out_files), fmt(s.out_bytes / 1e6, 0), f"{s.neighbours:.2f}"]))
        lines += ["", "</details>", ""]
        return "\n".join(lines)

    def run(self) -> str:
        self.bindir = ensure_devpi()
        log(f"work directory {self.work}")
        self.fill()
        for rnd in range(1, self.args.rounds + 1):
            self.round(rnd)
        return self.report()

    def cleanup(self) -> None:
        self.stop_all()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work}")


def main(argv=None) -> int:
    args = parse_args(argv)
    bench = Bench(args)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        report = bench.run()
    except (OpsError, ServerError) as exc:
        log(f"FAILED: {exc}")
        args.keep = True  # keep logs and serverdirs for a look
        return 2
    finally:
        bench.cleanup()
    print(report)
    if args.write_results:
        append_results("export/import (bench/ops_bench.py)", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
