"""Upload scenarios (`upload`, `upload-growth`) and the inheritance chain (`inherit`).

Uploads go through the legacy upload API, one sequential client per server (a keep-alive
`requests.Session`). Credentials: the X-Devpi-Auth token from `POST /+login` (what `devpi
upload` sends) by default, or HTTP Basic with the password on every request (what twine sends)
with `--upload-auth basic`. devpi-server checks a Basic password with argon2 on every request,
which holds it to about 5 uploads/s, so the big runs use the token; the `upload` scenario adds a
short Basic-auth run (`--basic-uploads`, default 200 projects) to show that path too. The two
servers are interleaved in blocks: BLOCK uploads to the candidate, BLOCK to the baseline, the
next BLOCK to the candidate, and so on, so that both see the same neighbours over the run.
Before each block the benchmark waits (at most 3 s) until the other server is idle, so that
leftover work of one server (devpi keeps working after it has answered) does not run during
the other's block. Only the time of each request is counted (the multipart body is encoded
beforehand).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import requests
from envsetup import log
from fixtures import PASSWORD, PROJECT, USER, ReleaseFile, project_files, release_files, simple_path
from httpfill import FillError, basic_auth, create_index, login, upload_request
from measure import HTML_HEADERS, BenchAbort, LoadSpec, check_page, measure_load, warm_up
from procstat import CLK_TCK, CpuSampler, tree_ticks
from report import NEIGHBOUR_LIMIT, Metric, Results
from scenario_bigpage import big_page_specs, report_big_page
from servers import ServerProcess

ONE_PROJECT_INDEX = "a"        # alice/a: N versions of PROJECT; the deepest base of the chain
MANY_PROJECTS_INDEX = "many"   # alice/many: N projects, one file each
BASIC_INDEX = "basic"          # alice/basic: the short Basic-auth run
CHAIN = [("b", ["a"]), ("c", ["b"])]  # alice/a <- alice/b <- alice/c


@dataclass
class UploadRun:
    """Per-upload seconds of one variant, per server, in upload order."""

    variant: str
    count: int
    block: int
    auth: str = "token"
    seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    neighbours: list[float] = field(default_factory=list)  # per block and server
    # per server: CPU (cores) the *other* server used during this server's blocks
    other_cpu: dict[str, list[float]] = field(default_factory=dict)
    # per server: seconds spent before its blocks waiting for the other server to go idle
    waited: dict[str, float] = field(default_factory=dict)

    def rate(self, label: str, start: int = 0, stop: int | None = None) -> float | None:
        times = self.seconds[label][start:stop]
        total = sum(times)
        return len(times) / total if total > 0 else None

    def p(self, label: str, q: int, start: int = 0, stop: int | None = None) -> float | None:
        """Percentile `q` of the request times in ms."""
        times = self.seconds[label][start:stop]
        if len(times) < 2:
            return None
        return statistics.quantiles(times, n=100, method="inclusive")[q - 1] * 1000


def _session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # 127.0.0.1 only: no proxies from the environment
    return session


def interleaved_uploads(servers: dict[str, ServerProcess], index: str, releases: list[ReleaseFile],
                        variant: str, block: int, auth_mode: str = "token") -> UploadRun:
    """Create alice/`index` on every server and upload `releases` there, block-interleaved."""
    run = UploadRun(variant, len(releases), block, auth_mode)
    sessions: dict[str, requests.Session] = {}
    prepared: dict[str, list[requests.PreparedRequest]] = {}
    try:
        for label, server in servers.items():
            session = sessions[label] = _session(server.base_url)
            try:
                if auth_mode == "basic":
                    auth = basic_auth(USER, PASSWORD)
                else:
                    auth = login(session, server.base_url, USER, PASSWORD)
                create_index(session, server.base_url, auth, f"{USER}/{index}",
                             {"bases": [], "volatile": True})
            except FillError as exc:
                raise BenchAbort(f"{label}: {exc}") from exc
            prepared[label] = [upload_request(session, server.base_url, auth, release,
                                              f"{USER}/{index}") for release in releases]
            run.seconds[label] = []
            run.failures[label] = []
            run.other_cpu[label] = []
            run.waited[label] = 0.0
        time.sleep(1.0)  # let work triggered by login and index creation finish first
        sampler = CpuSampler({label: s.pid for label, s in servers.items()})
        started = time.monotonic()
        for first in range(0, len(releases), block):
            for label in servers:
                run.waited[label] += wait_until_idle([s.pid for k, s in servers.items() if k != label])
                sampler.start()
                _upload_block(sessions[label], prepared[label][first:first + block],
                              releases[first:first + block], run, label)
                cpu = sampler.stop()
                run.neighbours.append(cpu.neighbours)
                run.other_cpu[label].append(sum(v for k, v in cpu.servers.items() if k != label))
            if (first // block) % 10 == 9 or first + block >= len(releases):
                done = min(first + block, len(releases))
                rates = ", ".join(f"{lab} {run.rate(lab, max(0, done - block), done) or 0:.0f}/s"
                                  for lab in servers)
                log(f"{variant}: {done}/{len(releases)} uploaded; last block {rates} "
                    f"({time.monotonic() - started:.0f} s)")
    finally:
        for session in sessions.values():
            session.close()
    return run


def wait_until_idle(pids: list[int], limit: float = 3.0, window: float = 0.2) -> float:
    """Wait (at most `limit` s) until the processes used less than 0.1 core over `window` s.

    devpi-server goes on working for a while after answering uploads; without this its leftover
    work would run during satchel's next block. Returns the seconds waited.
    """
    started = time.monotonic()
    while time.monotonic() - started < limit:
        before = sum(tree_ticks(pid) for pid in pids)
        time.sleep(window)
        used = (sum(tree_ticks(pid) for pid in pids) - before) / CLK_TCK
        if used < 0.1 * window:
            break
    return time.monotonic() - started


def _upload_block(session: requests.Session, requests_: list[requests.PreparedRequest],
                  releases: list[ReleaseFile], run: UploadRun, label: str) -> None:
    for request, release in zip(requests_, releases, strict=True):
        started = time.perf_counter()
        try:
            resp = session.send(request, timeout=300)
            body = resp.content
            ok = resp.ok
            problem = f"HTTP {resp.status_code} {body[:200]!r}"
        except requests.RequestException as exc:
            ok, problem = False, f"{type(exc).__name__}: {exc}"
        run.seconds[label].append(time.perf_counter() - started)
        if not ok:
            run.failures[label].append(f"{release.filename}: {problem}")
            if len(run.failures[label]) <= 3:
                log(f"{label}: upload of {release.filename} failed: {problem}")


# ---------------------------------------------------------------- reporting

def _window_label(start: int, stop: int) -> str:
    return f"{start + 1}–{stop}"


def report_upload(run: UploadRun, many: UploadRun | None, basic: UploadRun | None,
                  res: Results) -> None:
    """`upload`: overall rates (one project, many projects) and per-upload latency."""
    labels = res.labels
    res.metrics.append(Metric("upload", f"uploads/s, {run.count} versions of one project",
                              {lab: run.rate(lab) for lab in labels}, 0))
    res.metrics.append(Metric("upload", "p50 ms per upload, one project",
                              {lab: run.p(lab, 50) for lab in labels}))
    res.metrics.append(Metric("upload", "p99 ms per upload, one project",
                              {lab: run.p(lab, 99) for lab in labels}))
    if many is not None:
        res.metrics.append(Metric("upload", f"uploads/s, {many.count} projects, one file each",
                                  {lab: many.rate(lab) for lab in labels}, 0))
    if basic is not None:
        res.metrics.append(Metric("upload", f"uploads/s, {basic.count} projects, Basic auth (twine)",
                                  {lab: basic.rate(lab) for lab in labels}, 0))
    cand, base = labels
    for variant in (run, many, basic):
        if variant is None:
            continue
        rc, rb = variant.rate(cand), variant.rate(base)
        if rc and rb:
            met = "met" if rc / rb >= 2 else "NOT met"
            res.targets.append(f"upload ({variant.variant}, {variant.auth}): {cand}/{base} {rc / rb:.2f}, "
                               f"at least 2x wanted (issue 3): {met}")
    for variant in (run, many, basic):
        if variant is not None:
            _add_failures(variant, res)


def report_growth(run: UploadRun, window: int, res: Results) -> None:
    """`upload-growth`: rate over the first and the last `window` versions, and their ratio."""
    labels = res.labels
    n = len(next(iter(run.seconds.values())))
    window = min(window, n)
    first = {lab: run.rate(lab, 0, window) for lab in labels}
    last = {lab: run.rate(lab, n - window, n) for lab in labels}
    res.metrics.append(Metric("upload-growth", f"uploads/s, versions {_window_label(0, window)}",
                              first, 0))
    res.metrics.append(Metric("upload-growth", f"uploads/s, versions {_window_label(n - window, n)}",
                              last, 0))
    kept = {lab: (last[lab] / first[lab]) if first[lab] and last[lab] else None for lab in labels}
    res.metrics.append(Metric("upload-growth", "last/first rate (1.00 = no slowdown)", kept, 2,
                              ratio=False))
    # the median request time of each window shrugs off a single slow request or a neighbour's burst
    p50_first = {lab: run.p(lab, 50, 0, window) for lab in labels}
    p50_last = {lab: run.p(lab, 50, n - window, n) for lab in labels}
    res.metrics.append(Metric("upload-growth", f"p50 ms per upload, versions {_window_label(0, window)}",
                              p50_first))
    res.metrics.append(Metric("upload-growth",
                              f"p50 ms per upload, versions {_window_label(n - window, n)}", p50_last))
    kept_p50 = {lab: (p50_first[lab] / p50_last[lab]) if p50_first[lab] and p50_last[lab] else None
                for lab in labels}
    res.metrics.append(Metric("upload-growth", "first/last p50 (1.00 = no slowdown)", kept_p50, 2,
                              ratio=False))
    cand = labels[0]
    if kept[cand] is not None:
        met = "met" if kept[cand] >= 0.8 else "NOT met"
        robust = f"{kept_p50[cand]:.0%}" if kept_p50[cand] is not None else "?"
        res.targets.append(f"upload-growth: {cand} keeps {kept[cand]:.0%} of its first-{window} rate "
                           f"at versions {_window_label(n - window, n)} (by p50 request time: "
                           f"{robust}), at least 80% wanted (issue 3): {met}")


def _add_failures(run: UploadRun, res: Results) -> None:
    for label, failures in run.failures.items():
        if failures:
            res.notes.append(f"**{label}: {len(failures)} of {run.count} uploads ({run.variant}) "
                             f"failed**, first: {failures[0]}")
    for label, values in run.other_cpu.items():
        if values:
            res.notes.append(f"upload ({run.variant}): before {label}'s blocks the benchmark waited "
                             f"{run.waited[label]:.1f} s in all for the other server to go idle; during "
                             f"them the other server used {statistics.mean(values):.2f} cores on "
                             f"average (max {max(values):.2f})")
    noisy = [n for n in run.neighbours if n > NEIGHBOUR_LIMIT]
    if noisy:
        res.extra_warnings.append(
            f"upload ({run.variant}): {len(noisy)} of {len(run.neighbours)} blocks had neighbours "
            f"above {NEIGHBOUR_LIMIT} of a core (max {max(noisy):.2f})")


def blocks_table(run: UploadRun, labels: tuple[str, str], rows: int = 8) -> str:
    """Upload rates over equal slices of the run (detail for the samples section)."""
    n = len(run.seconds[labels[0]])
    step = max(run.block, -(-n // rows))
    title = (f"Uploads/s by position ({run.variant}, blocks of {run.block} interleaved, "
             "client-side time per request):")
    lines = [title, "",
             f"| uploads | {labels[0]} | {labels[1]} |", "| --- | ---: | ---: |"]
    for start in range(0, n, step):
        stop = min(n, start + step)
        cells = [f"{run.rate(lab, start, stop) or 0:.0f}" for lab in labels]
        lines.append(f"| {_window_label(start, stop)} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- scenario entry points

def run_uploads(servers: dict[str, ServerProcess], scenarios: list[str], args, res: Results) -> UploadRun:
    """One project with `--upload-files` versions into alice/a (always: `inherit` builds on it);
    for `upload` also as many projects into alice/many and the short Basic-auth run."""
    count, block, window, auth = args.upload_files, args.upload_block, args.growth_window, args.upload_auth
    log(f"uploads: {count} versions of {PROJECT} into {USER}/{ONE_PROJECT_INDEX}, "
        f"blocks of {block}, interleaved, {auth} auth")
    one = interleaved_uploads(servers, ONE_PROJECT_INDEX, release_files(count), "one project", block,
                              auth)
    many = basic = None
    if "upload" in scenarios:
        log(f"uploads: {count} projects, one file each, into {USER}/{MANY_PROJECTS_INDEX}")
        many = interleaved_uploads(servers, MANY_PROJECTS_INDEX, project_files(count),
                                   "many projects", block, auth)
        if args.basic_uploads > 0 and auth != "basic":
            log(f"uploads: {args.basic_uploads} projects with Basic auth into {USER}/{BASIC_INDEX}")
            releases = [ReleaseFile("1.0", f"bench-basic-{n:05d}")
                        for n in range(1, args.basic_uploads + 1)]
            basic = interleaved_uploads(servers, BASIC_INDEX, releases, "Basic auth", block, "basic")
    if "upload" in scenarios:
        report_upload(one, many, basic, res)
    if "upload-growth" in scenarios:
        report_growth(one, window, res)
        if "upload" not in scenarios:
            _add_failures(one, res)
    if "upload" not in scenarios and "upload-growth" not in scenarios:
        _add_failures(one, res)
        res.notes.append("inherit fill: " + ", ".join(
            f"{lab} {one.rate(lab) or 0:.0f} uploads/s" for lab in res.labels))
    res.details.append(blocks_table(one, res.labels))
    if many is not None:
        res.details.append(blocks_table(many, res.labels))
    res.notes.append(f"uploads: one sequential keep-alive client per server, {auth} auth"
                     + (" (X-Devpi-Auth from /+login)" if auth == "token" else "")
                     + f", servers interleaved in blocks of {block}; rate = uploads / summed "
                       "request time")
    return one


def inherit_spec() -> LoadSpec:
    return LoadSpec("inherit", [simple_path(USER, CHAIN[-1][0])], HTML_HEADERS)


def setup_chain(servers: dict[str, ServerProcess]) -> None:
    """alice/b with bases alice/a, alice/c with bases alice/b."""
    auth = basic_auth(USER, PASSWORD)
    for label, server in servers.items():
        with _session(server.base_url) as session:
            for name, bases in CHAIN:
                try:
                    create_index(session, server.base_url, auth, f"{USER}/{name}",
                                 {"bases": [f"{USER}/{b}" for b in bases], "volatile": True})
                except FillError as exc:
                    raise BenchAbort(f"{label}: {exc}") from exc


def run_inherit(load, servers: dict[str, ServerProcess], count: int, rounds: int, duration: float,
                warmup: float, res: Results) -> None:
    setup_chain(servers)
    specs = big_page_specs(inherit_spec().paths[0])
    for label, server in servers.items():
        for spec in specs:
            check_page(label, server, spec.paths[0], spec.headers, count, res,
                       f"{spec.scenario} (alice/c <- alice/b <- alice/a)")
    warm_up(load, servers, specs, warmup)
    measure_load(load, servers, specs, rounds, duration, res)
    report_big_page(servers, specs[0].paths[0], res)
    cand, base = res.labels
    per = {lab: statistics.median(s.result.rps for s in res.load
                                  if s.scenario == "inherit" and s.label == lab) for lab in res.labels}
    if per[base]:
        ratio = per[cand] / per[base]
        met = "met" if ratio >= 10 else "NOT met"
        res.targets.append(f"inherit: {cand}/{base} requests/s {ratio:.1f}, at least 10x wanted "
                           f"(issue 3): {met}")
