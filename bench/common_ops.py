"""Shared helpers of `ops_bench.py` (export/import) and `replica_bench.py` (replication).

Kept apart from `fixtures.py`, `httpfill.py`, `targets.py` and `report.py` on purpose: those
serve `run.py`. This module only imports the stable low-level helpers (`envsetup`, `servers`,
`procstat`).

Data: N valid wheels of K KiB each, spread over projects `ops-proj-NNNNN` (`per_project` versions
each). Each wheel holds K KiB of seeded pseudo-random (incompressible) bytes stored uncompressed,
so a wheel is about K KiB on the wire and on disk, every wheel has a different sha256, and two
runs produce the same bytes. Wheels are built on demand, never all held in memory.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html.parser
import io
import os
import platform
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from pathlib import Path

import requests
from envsetup import BENCH_DIR, DEVPI_VERSION, log
from servers import HOST, ServerProcess, free_port

USER = "alice"
PASSWORD = "pw"
INDEX = "dev"
STAGE = f"{USER}/{INDEX}"
PIP_UA = {"User-Agent": "pip/24.0"}
JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
RESULTS_PATH = BENCH_DIR / "RESULTS.md"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


# --- data --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BigRelease:
    """One wheel of `size_kib` KiB of `project` at `version`."""

    project: str
    version: str
    size_kib: int

    @property
    def dist_name(self) -> str:
        return self.project.replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.dist_name}-{self.version}-py3-none-any.whl"

    def content(self) -> bytes:
        return make_big_wheel(self.project, self.version, self.size_kib)


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_big_wheel(project: str, version: str, size_kib: int) -> bytes:
    """A valid, reproducible wheel whose payload is `size_kib` KiB of seeded random bytes."""
    dist = project.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    seed = int.from_bytes(hashlib.sha256(f"{project}=={version}".encode()).digest()[:8], "big")
    overhead = 1024  # metadata members and zip directory, roughly
    blob = random.Random(seed).randbytes(max(size_kib * 1024 - overhead, 16))
    members = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist}/payload.bin": blob,
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {project}\nVersion: {version}\n"
                             "Requires-Python: >=3.8\nSummary: ops benchmark fixture\n").encode(),
        f"{info}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: satchel-bench\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = "".join(f"{n},{_record_hash(d)},{len(d)}\n" for n, d in members.items())
    members[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    return buf.getvalue()


def dataset(files: int, size_kib: int, per_project: int, prefix: str = "ops-proj") -> list[BigRelease]:
    """`files` releases, `per_project` versions per project."""
    width = max(5, len(str(files // max(per_project, 1) + 1)))
    return [BigRelease(f"{prefix}-{i // per_project + 1:0{width}d}", f"1.{i % per_project}", size_kib)
            for i in range(files)]


# --- HTTP --------------------------------------------------------------------------------------

class OpsError(RuntimeError):
    pass


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # 127.0.0.1 only; no proxies from the environment
    return s


def _check(resp: requests.Response, what: str) -> requests.Response:
    if not resp.ok:
        raise OpsError(f"{what}: HTTP {resp.status_code} {resp.text[:300]!r}")
    return resp


def login(s: requests.Session, base: str, user: str, password: str) -> dict[str, str]:
    """POST /+login; return the X-Devpi-Auth header of the session token."""
    resp = _check(s.post(f"{base}/+login", json={"user": user, "password": password},
                         headers=JSON_HEADERS, timeout=120), f"login {user}")
    token = resp.json()["result"]["password"]
    return {"X-Devpi-Auth": base64.b64encode(f"{user}:{token}".encode()).decode()}


def create_user_and_index(s: requests.Session, base: str) -> dict[str, str]:
    """Create alice and alice/dev as root (empty password); return alice's token header."""
    root = login(s, base, "root", "")
    _check(s.put(f"{base}/{USER}", json={"password": PASSWORD},
                 headers={**JSON_HEADERS, **root}, timeout=120), "create user")
    auth = login(s, base, USER, PASSWORD)
    _check(s.put(f"{base}/{STAGE}", json={"bases": [], "volatile": True},
                 headers={**JSON_HEADERS, **auth}, timeout=120), "create index")
    return auth


def upload(s: requests.Session, base: str, auth: dict[str, str], rel: BigRelease,
           content: bytes | None = None) -> requests.Response:
    """Multipart legacy upload (what twine and devpi-client send); raises unless 2xx."""
    content = rel.content() if content is None else content
    form = {":action": "file_upload", "name": rel.project, "version": rel.version,
            "protocol_version": "1", "requires_python": ">=3.8",
            "sha256_digest": hashlib.sha256(content).hexdigest()}
    files = {"content": (rel.filename, content, "application/octet-stream")}
    return _check(s.post(f"{base}/{STAGE}/", data=form, files=files, headers=auth, timeout=300),
                  f"upload {rel.filename}")


def fill(base: str, releases: list[BigRelease], label: str) -> tuple[float, int]:
    """Create user and index, upload all releases; return (seconds uploading, bytes uploaded)."""
    with session() as s:
        auth = create_user_and_index(s, base)
        spent = 0.0
        nbytes = 0
        for i, rel in enumerate(releases, 1):
            content = rel.content()
            nbytes += len(content)
            t0 = time.monotonic()
            upload(s, base, auth, rel, content)
            spent += time.monotonic() - t0
            if i % 500 == 0:
                log(f"{label}: {i}/{len(releases)} uploaded")
        return spent, nbytes


def fill_parallel(servers: dict[str, str], releases: list[BigRelease]) -> dict[str, tuple[float, int]]:
    """Fill several servers at once (one thread, one sequential client per server)."""
    out: dict[str, tuple[float, int]] = {}
    errors: list[BaseException] = []

    def work(label: str, base: str) -> None:
        try:
            out[label] = fill(base, releases, label)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k, v)) for k, v in servers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def page_links(text: str) -> list[str]:
    p = _Links()
    p.feed(text)
    return p.hrefs


def simple_links(s: requests.Session, base: str, path: str, timeout: float = 30) -> tuple[int, list[str]]:
    """(status, absolute link URLs) of an HTML simple page, as pip asks for it."""
    url = f"{base}{path}"
    resp = s.get(url, headers={**PIP_UA, "Accept": "text/html"}, timeout=timeout)
    if resp.status_code != 200:
        return resp.status_code, []
    return 200, [urllib.parse.urljoin(resp.url, h) for h in page_links(resp.text)]


def served_files(base: str, stage: str = STAGE) -> dict[str, str]:
    """Every file the stage lists on its simple pages: filename -> absolute URL."""
    with session() as s:
        status, projects = simple_links(s, base, f"/{stage}/+simple/", timeout=120)
        if status != 200:
            raise OpsError(f"{base}/{stage}/+simple/: HTTP {status}")
        out: dict[str, str] = {}
        for proj_url in projects:
            resp = s.get(proj_url, headers={**PIP_UA, "Accept": "text/html"}, timeout=120)
            _check(resp, f"GET {proj_url}")
            for href in page_links(resp.text):
                absolute = urllib.parse.urljoin(resp.url, href)
                name = urllib.parse.urlsplit(absolute).path.rsplit("/", 1)[-1]
                out[name] = absolute
        return out


def verify_downloads(urls: list[str]) -> list[str]:
    """Download each URL and check the #sha256= fragment; return problems found."""
    problems = []
    with session() as s:
        for url in urls:
            plain, _, frag = url.partition("#")
            resp = s.get(plain, headers=PIP_UA, timeout=120)
            if resp.status_code != 200:
                problems.append(f"{plain}: HTTP {resp.status_code}")
            elif frag.startswith("sha256=") and hashlib.sha256(resp.content).hexdigest() != frag[7:]:
                problems.append(f"{plain}: sha256 mismatch")
    return problems


def get_status(s: requests.Session, base: str, timeout: float = 10) -> dict | None:
    try:
        resp = s.get(f"{base}/+status", headers={"Accept": "application/json"}, timeout=timeout)
    except requests.RequestException:
        return None
    if resp.status_code != 200:
        return None
    try:
        return resp.json()["result"]
    except (ValueError, KeyError):
        return None


# --- server commands ---------------------------------------------------------------------------

def satchel_launcher() -> list[str]:
    script = Path(sys.executable).parent / "satchel"
    return [str(script)] if script.exists() else [sys.executable, "-m", "satchel"]


def satchel_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("satchel")
    except PackageNotFoundError:
        return "?"


def satchel_server(label: str, serverdir: Path, log_path: Path, *extra: str) -> ServerProcess:
    port = free_port()
    argv = satchel_launcher() + ["serve", "--serverdir", str(serverdir), "--host", HOST,
                                 "--port", str(port), "--no-root-pypi", *extra]
    return ServerProcess(label, argv, port, log_path)


def devpi_init(bindir: Path, serverdir: Path, *extra: str) -> None:
    run_checked([str(bindir / "devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi", *extra],
                "devpi-init")


def devpi_server(label: str, bindir: Path, serverdir: Path, log_path: Path, *extra: str) -> ServerProcess:
    port = free_port()
    argv = [str(bindir / "devpi-server"), "--serverdir", str(serverdir), "--host", HOST,
            "--port", str(port), *extra]
    return ServerProcess(label, argv, port, log_path)


def run_checked(argv: list[str], what: str, log_path: Path | None = None) -> float:
    """Run a command to completion; return wall seconds; raise with its output on failure."""
    t0 = time.monotonic()
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as fh:
            fh.write(f"$ {' '.join(argv)}\n".encode())
            fh.flush()
            proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    else:
        proc = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        tail = ""
        if log_path is not None:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        else:
            tail = (proc.stdout or b"").decode(errors="replace")[-3000:] + \
                (proc.stderr or b"").decode(errors="replace")[-3000:]
        raise OpsError(f"{what} failed with exit status {proc.returncode}:\n{tail}")
    return elapsed


def log_problems(path: Path) -> list[str]:
    """Lines of a server log that look like errors (tracebacks, ERROR, exceptions)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return []
    keys = ("Traceback", "ERROR", "Error", "Exception", "CRITICAL")
    out = []
    for i, ln in enumerate(lines):
        if any(k in ln for k in keys):
            # the next two lines usually say what went wrong
            out.append(" ⏎ ".join(x.strip() for x in lines[i:i + 3]))
    return out


def dir_bytes(path: Path) -> tuple[int, int]:
    """(number of files, total bytes) below path."""
    n = total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
                n += 1
            except FileNotFoundError:
                pass
    return n, total


# --- statistics and report ---------------------------------------------------------------------

def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def quantile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "–"
    return f"{a / b:.2f}"


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return "?"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "?"


def machine_facts() -> dict[str, str]:
    cpu = "?"
    mem = "?"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    try:
        kib = next(int(ln.split()[1]) for ln in Path("/proc/meminfo").read_text().splitlines()
                   if ln.startswith("MemTotal:"))
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    try:
        st = os.statvfs(BENCH_DIR)
        disk = f"{st.f_bavail * st.f_frsize / 1024**3:.0f} GiB free"
    except OSError:
        disk = "?"
    return {"nproc": str(len(os.sched_getaffinity(0))), "cpu": cpu, "memory": mem,
            "disk": disk, "python": platform.python_version(), "kernel": platform.release(),
            "satchel": satchel_version(), "devpi-server": DEVPI_VERSION}


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], BENCH_DIR.parent), *sys.argv[1:]])


def append_results(title: str, report: str) -> None:
    """Append one dated section to RESULTS.md (append only)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    with RESULTS_PATH.open("a") as fh:
        fh.write(f"\n## {stamp} — {title}\n\n{report}\n")
    log(f"appended to {RESULTS_PATH}")
