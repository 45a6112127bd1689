"""``satchel fsck``: every referenced file exists (and matches its sha256); orphans; repairs."""

import hashlib
import logging
from dataclasses import dataclass, field

import requests

from satchel_ops.blobrefs import blob_refs
from satchel_ops.parallel import CHUNK, progress_map, read_chunks

log = logging.getLogger(__name__)
LEFTOVER_AGE = 3600  # seconds a temporary file must be untouched to count as left by a crash


@dataclass
class Report:
    checked: int = 0
    missing: list[tuple[str, str]] = field(default_factory=list)  # (record key, sha256)
    corrupt: list[tuple[str, str]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    removed_orphans: int = 0
    leftovers: tuple[int, int] = (0, 0)  # temporary files a crash left: (count, bytes)
    removed_leftovers: int = 0

    @property
    def problems(self) -> int:
        return len(self.missing) + len(self.corrupt) + len(self.orphans) - len(self.repaired) \
            - self.removed_orphans + self.leftovers[0] - self.removed_leftovers


def _matches(blobs, sha256: str) -> bool:
    digest = hashlib.sha256()
    with blobs.open(sha256) as handle:
        for chunk in read_chunks(handle):
            digest.update(chunk)
    return digest.hexdigest() == sha256


def check(app, checksum: bool = True) -> tuple[Report, dict[str, dict]]:
    """Look at every reference; returns the report and the records of bad files (for repair)."""
    blobs = app.storage.blobs
    report = Report()
    bad_records: dict[str, dict] = {}
    with app.storage.read() as tx:
        refs = [(key, value, sha256) for key, value in tx.items("") for sha256 in blob_refs(key, value)]

    def state(ref) -> str:
        sha256 = ref[2]
        if not blobs.exists(sha256):
            return "missing"
        return "corrupt" if checksum and not _matches(blobs, sha256) else "ok"

    # progress first: zip then runs it to its end, so the bar closes and the "done" line is logged
    for found, (key, value, sha256) in zip(progress_map(state, refs, total=len(refs), desc="checking files"), refs):
        report.checked += 1
        if found != "ok":
            getattr(report, found).append((key, sha256))
            bad_records[key] = value
    referenced = {sha256 for _, _, sha256 in refs}
    report.orphans = [sha256 for sha256 in blobs if sha256 not in referenced]
    report.leftovers = blobs.leftovers(LEFTOVER_AGE)
    return report, bad_records


def repair(app, report: Report, bad_records: dict[str, dict]) -> None:
    """Refetch mirror files from their upstream URL (or forget them); delete orphan blobs."""
    blobs = app.storage.blobs
    for key, value in bad_records.items():
        url = value.get("url")
        if not url or not key.startswith("files/"):
            continue  # an uploaded file can't be refetched: reported, kept
        if _refetch(app, url, value.get("sha256")):
            report.repaired.append(key)
            continue
        with app.storage.write() as tx:
            tx.delete(key)  # the next request fetches it again
        report.repaired.append(key)
    for sha256 in report.orphans:
        blobs.delete(sha256)
        report.removed_orphans += 1
    if report.leftovers[0]:
        report.removed_leftovers = blobs.leftovers(LEFTOVER_AGE, remove=True)[0]


def _refetch(app, url: str, sha256: str | None) -> bool:
    try:
        with requests.get(url, stream=True, timeout=30) as response:
            if response.status_code != 200:
                return False
            if sha256:
                # a corrupt blob would otherwise stay: put() keeps an existing file of that name
                app.storage.blobs.delete(sha256)
            blob = app.storage.blobs.put(response.iter_content(CHUNK))
    except requests.RequestException as exc:
        log.warning("refetching %s failed: %s", url, exc)
        return False
    if sha256 and blob.sha256 != sha256:
        app.storage.blobs.delete(blob.sha256)
        return False
    return True


def describe(report: Report) -> list[str]:
    lines = [f"checked {report.checked} file references"]
    lines += [f"MISSING {sha} (referenced by {key})" for key, sha in report.missing]
    lines += [f"CORRUPT {sha} (referenced by {key})" for key, sha in report.corrupt]
    lines += [f"ORPHAN {sha}" for sha in report.orphans]
    lines += [f"repaired {key}" for key in report.repaired]
    if report.leftovers[0]:
        count, size = report.leftovers
        lines.append(f"LEFTOVER {count} temporary files ({size} bytes) an interrupted upload or import left")
    if report.removed_orphans:
        lines.append(f"removed {report.removed_orphans} orphan files")
    if report.removed_leftovers:
        lines.append(f"removed {report.removed_leftovers} leftover temporary files")
    return lines
