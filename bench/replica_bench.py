#!/usr/bin/env python
"""Replication: satchel against devpi-server 6.20.3.

Each server kind gets a primary (`--role primary`) and replicas of it, all on 127.0.0.1.

(b) initial sync (`sync`): the primary holds N wheels (default 2,000 x 200 KiB, uploaded over
    HTTP). A fresh replica is spawned on an empty serverdir and the clock runs from spawn until
    - satchel: its /+status `serial` equals the primary's, `files-pending` is 0 and the replica's
      blob store holds as many files and bytes as the primary's;
    - devpi: its /+status `serial` equals the primary's, `replica-in-sync-at` is set, the file
      download queue metric is 0 and its `+files` holds as many files and bytes as the primary's.
    Rounds are interleaved (satchel, devpi, satchel, ...), each with a fresh replica. Afterwards
    the replica must list all N files and a sample downloads with the right sha256.
(a) latency (`latency`): with primary and replica running (the last sync round's replica, or a
    fresh one), a new wheel is uploaded to the primary; the clock starts when the upload's 200
    arrives and stops when the replica's simple page lists the file AND the file downloads from
    the replica with the right sha256 (pip's view: installable). Samples are interleaved.

    python bench/replica_bench.py                         # both parts, defaults
    python bench/replica_bench.py --parts latency --samples 40
    python bench/replica_bench.py --files 10000 --write-results

Exit status 2: a precondition failed (a server failed, a replica never caught up, ...).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import signal
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common_ops import (
    PASSWORD,
    STAGE,
    USER,
    BigRelease,
    OpsError,
    append_results,
    command_line,
    create_user_and_index,
    dataset,
    devpi_init,
    devpi_server,
    dir_bytes,
    fmt,
    get_status,
    log_problems,
    login,
    machine_facts,
    median,
    quantile,
    ratio,
    row,
    run_checked,
    satchel_server,
    served_files,
    session,
    simple_links,
    upload,
    verify_downloads,
)
from envsetup import ensure_devpi, log
from procstat import CpuSampler
from servers import ServerError, ServerProcess

LABELS = ("satchel", "devpi")
LAT_PROJECT = "lat-proj"
DEVPI_QUEUE_METRIC = "devpi_server_replica_file_download_queue_size"


@dataclass
class SyncSample:
    round: int
    label: str
    to_ready: float      # spawn -> first 200 on /+status
    to_serial: float     # spawn -> replica serial == primary serial
    to_synced: float     # spawn -> serial and all files present
    cpu_primary: float
    cpu_replica: float
    neighbours: float


@dataclass
class LatSample:
    index: int
    label: str
    listed: float        # upload 200 -> replica page lists the file
    installable: float   # upload 200 -> listed and downloaded with the right sha256
    polls: int


@dataclass
class Side:
    """One server kind: its primary, the running replica and their directories."""

    label: str
    primary: ServerProcess
    primary_dir: Path
    secret: Path
    replica: ServerProcess | None = None
    replica_dir: Path | None = None
    replica_logs: list[Path] = field(default_factory=list)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default="sync,latency", help="sync,latency (default both)")
    p.add_argument("--files", type=int, default=2000, help="files on the primary for sync (default 2000)")
    p.add_argument("--size-kib", type=int, default=200, help="size of each file in KiB (default 200)")
    p.add_argument("--per-project", type=int, default=20, help="versions per project (default 20)")
    p.add_argument("--sync-rounds", type=int, default=2, help="fresh replicas per server (default 2)")
    p.add_argument("--sync-timeout", type=float, default=1800, help="seconds per sync at most")
    p.add_argument("--samples", type=int, default=20, help="latency samples per server (default 20)")
    p.add_argument("--latency-size-kib", type=int, default=200,
                   help="size of each latency upload in KiB (default 200)")
    p.add_argument("--latency-timeout", type=float, default=120, help="seconds per sample at most")
    p.add_argument("--poll-interval", type=float, default=0.005,
                   help="pause between replica polls in seconds (default 0.005)")
    p.add_argument("--pause", type=float, default=0.5, help="pause between latency samples (s)")
    p.add_argument("--verify-sample", type=int, default=25,
                   help="files downloaded from each synced replica and sha256-checked (default 25)")
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temporary directory")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--write-results", action="store_true", help="append the report to RESULTS.md")
    args = p.parse_args(argv)
    args.parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    for part in args.parts:
        if part not in ("sync", "latency"):
            p.error(f"unknown part {part!r}")
    return args


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="replica-bench-", dir=args.workdir))
        self.bindir: Path | None = None
        self.sides: dict[str, Side] = {}
        self.sync: list[SyncSample] = []
        self.lat: list[LatSample] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.payload_bytes = 0
        self.expected: set[str] = set()
        self.replica_count = 0

    # -- servers ------------------------------------------------------------------------------
    def start_primaries(self) -> None:
        sat_dir = self.work / "satchel" / "primary"
        sat = satchel_server("satchel-primary", sat_dir, self.work / "satchel" / "primary.log",
                             "--role", "primary")
        dev_dir = self.work / "devpi" / "primary"
        secret = self.work / "devpi" / "secret"
        secret.parent.mkdir(parents=True, exist_ok=True)
        run_checked([str(self.bindir / "devpi-gen-secret"), "--secretfile", str(secret)],
                    "devpi-gen-secret")
        devpi_init(self.bindir, dev_dir, "--role", "primary")  # devpi-init has no --secretfile
        dev = devpi_server("devpi-primary", self.bindir, dev_dir, self.work / "devpi" / "primary.log",
                           "--role", "primary", "--secretfile", str(secret))
        self.sides = {"satchel": Side("satchel", sat, sat_dir, sat_dir / ".secret"),
                      "devpi": Side("devpi", dev, dev_dir, secret)}
        for side in self.sides.values():
            side.primary.start()
        for side in self.sides.values():
            side.primary.wait_ready(timeout=180)
        for side in self.sides.values():
            with session() as s:
                create_user_and_index(s, side.primary.base_url)
        if not self.sides["satchel"].secret.exists():
            raise OpsError(f"satchel primary wrote no secret at {self.sides['satchel'].secret}")

    def new_replica(self, side: Side) -> ServerProcess:
        self.replica_count += 1
        rdir = self.work / side.label / f"replica{self.replica_count}"
        log_path = self.work / side.label / f"replica{self.replica_count}.log"
        side.replica_logs.append(log_path)
        url = side.primary.base_url
        if side.label == "satchel":
            server = satchel_server("satchel-replica", rdir, log_path,
                                    "--primary-url", url, "--secretfile", str(side.secret))
        else:
            devpi_init(self.bindir, rdir, "--primary-url", url)
            server = devpi_server("devpi-replica", self.bindir, rdir, log_path,
                                  "--primary-url", url, "--secretfile", str(side.secret))
        side.replica, side.replica_dir = server, rdir
        return server

    def stop_replica(self, side: Side, remove: bool = True) -> None:
        if side.replica is not None:
            side.replica.stop()
            side.replica = None
            if remove and not self.args.keep and side.replica_dir is not None:
                shutil.rmtree(side.replica_dir, ignore_errors=True)

    def stop_all(self) -> None:
        for side in self.sides.values():
            self.stop_replica(side, remove=False)
            side.primary.stop()

    # -- file stores --------------------------------------------------------------------------
    @staticmethod
    def store(label: str, serverdir: Path) -> Path:
        return serverdir / ("+blobs" if label == "satchel" else "+files")

    def store_stats(self, label: str, serverdir: Path) -> tuple[int, int]:
        return dir_bytes(self.store(label, serverdir))

    # -- (b) initial sync ---------------------------------------------------------------------
    def fill_primaries(self) -> None:
        a = self.args
        releases = dataset(a.files, a.size_kib, a.per_project)
        self.expected = {r.filename for r in releases}
        log(f"filling both primaries with {a.files} files of {a.size_kib} KiB over HTTP")
        import threading
        out: dict[str, tuple[float, int]] = {}
        errors: list[BaseException] = []

        def work(side: Side):
            try:
                with session() as s:
                    auth = login(s, side.primary.base_url, USER, PASSWORD)
                    spent, nbytes = 0.0, 0
                    for i, rel in enumerate(releases, 1):
                        content = rel.content()
                        nbytes += len(content)
                        t0 = time.monotonic()
                        upload(s, side.primary.base_url, auth, rel, content)
                        spent += time.monotonic() - t0
                        if i % 500 == 0:
                            log(f"{side.label}: {i}/{len(releases)} uploaded")
                    out[side.label] = (spent, nbytes)
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(side,)) for side in self.sides.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.payload_bytes = out["satchel"][1]
        for lab, (secs, nbytes) in out.items():
            self.notes.append(f"{lab}: primary filled with {a.files:,} uploads in {secs:.0f} s of "
                              f"request time ({a.files / secs:.0f}/s; both fills at the same time)")
        for side in self.sides.values():
            n, b = self.store_stats(side.label, side.primary_dir)
            self.notes.append(f"{side.label}: primary file store {n:,} files, {b / 1e6:,.0f} MB")

    def sync_once(self, rnd: int, side: Side) -> SyncSample:
        a = self.args
        with session() as s:
            pstatus = get_status(s, side.primary.base_url)
            if not pstatus:
                raise OpsError(f"{side.label} primary: no /+status")
            pserial = pstatus["serial"]
            want = self.store_stats(side.label, side.primary_dir)
            server = self.new_replica(side)
            sampler = CpuSampler({"primary": side.primary.pid})
            sampler.start()
            server.start()
            sampler.server_pids["replica"] = server.pid
            sampler._srv0["replica"] = 0
            t0 = server.spawned_at
            to_ready = to_serial = None
            last: dict | None = None
            deadline = t0 + a.sync_timeout
            while True:
                now = time.monotonic()
                if now > deadline:
                    raise OpsError(f"{side.label} replica not in sync after {a.sync_timeout:.0f} s; "
                                   f"last status {last}; store {self.store_stats(side.label, server_dir(side))} "
                                   f"want {want}; log tail:\n{server.log_tail()}")
                if server.proc.poll() is not None:
                    raise OpsError(f"{side.label} replica exited with {server.proc.returncode}; "
                                   f"log tail:\n{server.log_tail()}")
                st = get_status(s, server.base_url, timeout=5)
                if st is None:
                    time.sleep(0.05)
                    continue
                last = st
                if to_ready is None:
                    to_ready = time.monotonic() - t0
                if st.get("serial", -1) >= pserial:
                    if to_serial is None:
                        to_serial = time.monotonic() - t0
                    if self.files_done(side.label, st) and \
                            self.store_stats(side.label, server_dir(side)) == want:
                        done = time.monotonic() - t0
                        break
                time.sleep(0.1)
            cpu = sampler.stop()
        errors = last.get("replication-errors") if last else None
        if errors:
            self.problems.append(f"{side.label} replica round {rnd}: replication-errors {str(errors)[:300]}")
        sample = SyncSample(rnd, side.label, to_ready, to_serial, done,
                            cpu.servers.get("primary", 0.0), cpu.servers.get("replica", 0.0),
                            cpu.neighbours)
        log(f"sync round {rnd} {side.label}: ready {to_ready:.2f} s, serial {to_serial:.2f} s, "
            f"all files {done:.2f} s ({self.payload_bytes / done / 1e6:.1f} MB/s), "
            f"neighbours {cpu.neighbours:.2f}")
        self.check_replica(side, f"sync round {rnd}")
        return sample

    @staticmethod
    def files_done(label: str, st: dict) -> bool:
        if label == "satchel":
            return st.get("files-pending") == 0 and st.get("replication-lag-serials", 1) == 0
        if st.get("replica-in-sync-at") is None:
            return False
        for metric in st.get("metrics", []):
            if metric and metric[0] == DEVPI_QUEUE_METRIC:
                return metric[-1] == 0
        return True

    def check_replica(self, side: Side, what: str) -> None:
        files = served_files(side.replica.base_url)
        names = set(files) - {n for n in files if n.startswith(LAT_PROJECT.replace("-", "_"))}
        if names != self.expected:
            raise OpsError(f"{side.label} replica {what}: lists {len(names)} files, expected "
                           f"{len(self.expected)}")
        step = max(1, len(files) // max(self.args.verify_sample, 1))
        sample = sorted(names)[::step][: self.args.verify_sample]
        bad = verify_downloads([files[n] for n in sample])
        if bad:
            raise OpsError(f"{side.label} replica {what}: download check failed: {bad[:5]}")
        log(f"{side.label} replica {what}: lists all {len(names)} files; {len(sample)} downloads verified")

    def run_sync(self) -> None:
        for rnd in range(1, self.args.sync_rounds + 1):
            order = LABELS if rnd % 2 else LABELS[::-1]
            for lab in order:
                side = self.sides[lab]
                self.sync.append(self.sync_once(rnd, side))
                last_round = rnd == self.args.sync_rounds
                if not last_round:
                    self.stop_replica(side)

    # -- (a) latency --------------------------------------------------------------------------
    def ensure_replicas(self) -> None:
        for side in self.sides.values():
            if side.replica is None:
                server = self.new_replica(side)
                server.start()
                server.wait_ready(timeout=180)

    def wait_in_sync(self, side: Side, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        with session() as s:
            while time.monotonic() < deadline:
                p = get_status(s, side.primary.base_url)
                r = get_status(s, side.replica.base_url)
                if p and r and r.get("serial", -1) >= p["serial"]:
                    return
                time.sleep(0.05)
        raise OpsError(f"{side.label} replica did not reach the primary's serial within {timeout:.0f} s")

    def latency_once(self, i: int, side: Side, s, auth: dict, rel: BigRelease) -> LatSample:
        a = self.args
        content = rel.content()
        sha = hashlib.sha256(content).hexdigest()
        path = f"/{STAGE}/+simple/{LAT_PROJECT}/"
        upload(s, side.primary.base_url, auth, rel, content)
        t0 = time.monotonic()
        listed = None
        polls = 0
        while True:
            now = time.monotonic()
            if now - t0 > a.latency_timeout:
                raise OpsError(f"{side.label}: {rel.filename} not installable from the replica "
                               f"after {a.latency_timeout:.0f} s (listed: {listed})")
            polls += 1
            status, links = simple_links(s, side.replica.base_url, path, timeout=30)
            url = next((u for u in links
                        if urllib.parse.urlsplit(u).path.endswith("/" + rel.filename)), None)
            if url is not None:
                if listed is None:
                    listed = time.monotonic() - t0
                resp = s.get(url.partition("#")[0], headers={"User-Agent": "pip/24.0"}, timeout=60)
                if resp.status_code == 200 and hashlib.sha256(resp.content).hexdigest() == sha:
                    return LatSample(i, side.label, listed, time.monotonic() - t0, polls)
            time.sleep(a.poll_interval)

    def run_latency(self) -> None:
        a = self.args
        self.ensure_replicas()
        sessions = {}
        auths = {}
        for lab, side in self.sides.items():
            sessions[lab] = session()
            auths[lab] = login(sessions[lab], side.primary.base_url, USER, PASSWORD)
            self.wait_in_sync(side)
            # warm-up: creates the project on both sides, unrecorded
            self.latency_once(0, side, sessions[lab], auths[lab],
                              BigRelease(LAT_PROJECT, "2.0", a.latency_size_kib))
        for i in range(1, a.samples + 1):
            order = LABELS if i % 2 else LABELS[::-1]
            for lab in order:
                side = self.sides[lab]
                self.wait_in_sync(side)
                time.sleep(a.pause)
                sample = self.latency_once(i, side, sessions[lab], auths[lab],
                                           BigRelease(LAT_PROJECT, f"2.{i}", a.latency_size_kib))
                self.lat.append(sample)
                log(f"latency {i} {lab}: listed {sample.listed * 1000:.0f} ms, "
                    f"installable {sample.installable * 1000:.0f} ms ({sample.polls} polls)")
        for s in sessions.values():
            s.close()

    # -- report -------------------------------------------------------------------------------
    def report(self) -> str:
        a = self.args
        lines = [f"Command: `{command_line()}`", "",
                 "Machine: " + ", ".join(f"{k} {v}" for k, v in machine_facts().items()), ""]
        targets = []
        if self.lat:
            vals = {lab: [x.installable for x in self.lat if x.label == lab] for lab in LABELS}
            listed = {lab: [x.listed for x in self.lat if x.label == lab] for lab in LABELS}
            med = {lab: median(v) for lab, v in vals.items()}
            p90 = {lab: quantile(v, 90) for lab, v in vals.items()}
            lmed = {lab: median(v) for lab, v in listed.items()}
            lines += [
                f"**(a) Replication latency**: {a.samples} samples per server, interleaved (order "
                f"alternates). A {a.latency_size_kib} KiB wheel is uploaded to the primary; time from "
                "the upload's 200 until the replica's simple page lists it and the file downloads from "
                f"the replica with the right sha256. Replica polled every {a.poll_interval * 1000:.0f} ms "
                "(plus the request time). Ratio = satchel/devpi (below 1 is better).",
                "",
                row(["metric", "satchel", "devpi", "satchel/devpi"]),
                row(["---", "---:", "---:", "---:"]),
                row(["installable, median ms", fmt(_ms(med["satchel"]), 0), fmt(_ms(med["devpi"]), 0),
                     ratio(med["satchel"], med["devpi"])]),
                row(["installable, p90 ms", fmt(_ms(p90["satchel"]), 0), fmt(_ms(p90["devpi"]), 0),
                     ratio(p90["satchel"], p90["devpi"])]),
                row(["installable, max ms", fmt(_ms(max(vals["satchel"], default=None)), 0),
                     fmt(_ms(max(vals["devpi"], default=None)), 0), "–"]),
                row(["listed on page, median ms", fmt(_ms(lmed["satchel"]), 0),
                     fmt(_ms(lmed["devpi"]), 0), ratio(lmed["satchel"], lmed["devpi"])]),
                "",
            ]
            if med["satchel"] is not None and med["devpi"]:
                speed = med["devpi"] / med["satchel"]
                ok = med["satchel"] < 1 and speed >= 2
                targets.append(f"latency: satchel median {med['satchel']:.3f} s (target < 1 s), "
                               f"{speed:.1f}x faster than devpi (target ≥ 2x): "
                               f"{'met' if ok else 'NOT met'}")
        if self.sync:
            mb = self.payload_bytes / 1e6
            per = {lab: [x for x in self.sync if x.label == lab] for lab in LABELS}
            done = {lab: median([x.to_synced for x in v]) for lab, v in per.items()}
            ready = {lab: median([x.to_ready for x in v]) for lab, v in per.items()}
            serial = {lab: median([x.to_serial for x in v]) for lab, v in per.items()}
            after_ready = {lab: median([x.to_synced - x.to_ready for x in v]) for lab, v in per.items()}
            rate = {lab: (mb / v if v else None) for lab, v in done.items()}
            rate_r = {lab: (mb / v if v else None) for lab, v in after_ready.items()}
            lines += [
                f"**(b) Initial sync**: primary with {a.files:,} wheels of {a.size_kib} KiB "
                f"({mb:,.0f} MB, {a.per_project} per project); a fresh replica is spawned on an empty "
                "serverdir; time until its serial equals the primary's and every file is stored "
                "(satchel: `files-pending` 0; devpi: `replica-in-sync-at` set and download queue 0; "
                "both: replica file store holds the primary's number of files and bytes). "
                f"{a.sync_rounds} round(s), interleaved; medians. The devpi replica's serverdir is "
                "prepared with `devpi-init` beforehand (not timed). MB/s = release-file bytes / time. "
                "Ratio = satchel/devpi.",
                "",
                row(["metric", "satchel", "devpi", "satchel/devpi"]),
                row(["---", "---:", "---:", "---:"]),
                row(["spawn → first 200 on /+status, s", fmt(ready["satchel"]), fmt(ready["devpi"]),
                     ratio(ready["satchel"], ready["devpi"])]),
                row(["spawn → serial = primary's, s", fmt(serial["satchel"]), fmt(serial["devpi"]),
                     ratio(serial["satchel"], serial["devpi"])]),
                row(["spawn → all files, s", fmt(done["satchel"]), fmt(done["devpi"]),
                     ratio(done["satchel"], done["devpi"])]),
                row(["MB/s (from spawn)", fmt(rate["satchel"], 1), fmt(rate["devpi"], 1),
                     ratio(rate["satchel"], rate["devpi"])]),
                row(["MB/s (from first answer)", fmt(rate_r["satchel"], 1), fmt(rate_r["devpi"], 1),
                     ratio(rate_r["satchel"], rate_r["devpi"])]),
                "",
            ]
            if rate["satchel"] and rate["devpi"]:
                r = rate["satchel"] / rate["devpi"]
                targets.append(f"initial sync: satchel/devpi MB/s = {r:.2f} (target ≥ 2): "
                               f"{'met' if r >= 2 else 'NOT met'}")
        noisy = [f"sync round {x.round} {x.label} {x.neighbours:.2f}" for x in self.sync
                 if x.neighbours > 0.25]
        if noisy:
            lines.append("**Noisy neighbours** (more than 0.25 of a core used by other processes): "
                         + "; ".join(noisy))
            lines.append("")
        if targets:
            lines += ["Targets:", ""] + [f"- {t}" for t in targets] + [""]
        self.notes.append("both replicas use their default file replication settings "
                          "(devpi: 5 file replication threads)")
        lines += [f"- {n}" for n in self.notes]
        if self.problems:
            lines += ["", "Errors seen (server logs, status):", ""] + \
                [f"- `{p}`" for p in self.problems[:40]]
        lines += ["", "<details><summary>All samples</summary>", ""]
        if self.sync:
            lines += [row(["round", "server", "ready s", "serial s", "all files s", "MB/s",
                           "primary CPU", "replica CPU", "neighbours CPU"]),
                      row(["---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"])]
            for x in self.sync:
                lines.append(row([str(x.round), x.label, fmt(x.to_ready), fmt(x.to_serial),
                                  fmt(x.to_synced), fmt(self.payload_bytes / 1e6 / x.to_synced, 1),
                                  f"{x.cpu_primary:.2f}", f"{x.cpu_replica:.2f}", f"{x.neighbours:.2f}"]))
            lines.append("")
        if self.lat:
            lines += [row(["sample", "server", "listed ms", "installable ms", "polls"]),
                      row(["---:", "---", "---:", "---:", "---:"])]
            for x in self.lat:
                lines.append(row([str(x.index), x.label, fmt(x.listed * 1000, 0),
                                  fmt(x.installable * 1000, 0), str(x.polls)]))
            lines.append("")
        lines += ["</details>", ""]
        return "\n".join(lines)

    def collect_log_problems(self) -> None:
        for side in self.sides.values():
            for path in [self.work / side.label / "primary.log", *side.replica_logs]:
                for line in log_problems(path):
                    self.problems.append(f"{side.label} {path.name}: {line[:300]}")

    def run(self) -> str:
        self.bindir = ensure_devpi()
        log(f"work directory {self.work}")
        self.start_primaries()
        if "sync" in self.args.parts:
            self.fill_primaries()
            self.run_sync()
        if "latency" in self.args.parts:
            self.run_latency()
        self.stop_all()
        self.collect_log_problems()
        return self.report()

    def cleanup(self) -> None:
        self.stop_all()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log(f"kept {self.work}")


def server_dir(side: Side) -> Path:
    assert side.replica_dir is not None
    return side.replica_dir


def _ms(v: float | None) -> float | None:
    return None if v is None else v * 1000


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
        args.keep = True
        return 2
    finally:
        bench.cleanup()
    print(report)
    if args.write_results:
        append_results("replication (bench/replica_bench.py)", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
