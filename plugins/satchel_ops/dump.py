"""satchel's dump format (version 1): ``satchel-dump.json``, ``records.jsonl``, ``blobs/ab/cd/<sha256>``.

The manifest is written last, so a dump without one is incomplete. It records the sha256 of
``records.jsonl`` and the counts, so an edited or truncated dump is refused on import.
"""

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from satchel import __version__
from satchel.errors import ConfigError
from satchel.progress import progress

from satchel_ops.blobrefs import blob_refs, mirror_prefixes

FORMAT = "satchel-dump"
VERSION = 1
MANIFEST = "satchel-dump.json"
RECORDS = "records.jsonl"
CHUNK = 1 << 20


def blob_path(root: Path, sha256: str) -> Path:
    return root / "blobs" / sha256[:2] / sha256[2:4] / sha256


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def export(app, target: Path, include_mirrored_files: bool = False, hard_links: bool = False) -> dict:
    """Write every record (mirror caches only with ``include_mirrored_files``) and the blobs they use."""
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"export directory {target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    blobs = app.storage.blobs
    with app.storage.read() as tx:
        skip = () if include_mirrored_files else tuple(mirror_prefixes(tx, app))
        keys = [key for key in tx.keys("") if not key.startswith(skip)]
        serial = tx.serial
        referenced: set[str] = set()
        records_digest = hashlib.sha256()
        with open(target / RECORDS, "w", encoding="utf-8") as out:
            for key in progress(keys, total=len(keys), desc="exporting records", unit="record"):
                value = tx.get(key)
                line = json.dumps({"key": key, "value": value}, sort_keys=True) + "\n"
                out.write(line)
                records_digest.update(line.encode("utf-8"))
                referenced.update(sha for sha in blob_refs(key, value) if blobs.exists(sha))
    total_bytes = 0
    for sha256 in progress(sorted(referenced), total=len(referenced), desc="exporting files", unit="file"):
        total_bytes += _copy_blob(blobs, sha256, blob_path(target, sha256), hard_links)
    manifest = {"format": FORMAT, "version": VERSION, "satchel": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "source_serial": serial,
                "records": len(keys), "records_sha256": records_digest.hexdigest(),
                "blobs": sorted(referenced), "include_mirrored_files": include_mirrored_files}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return {"records": len(keys), "files": len(referenced), "bytes": total_bytes}


def _copy_blob(blobs, sha256: str, destination: Path, hard_links: bool) -> int:
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = blobs.path(sha256)
    if hard_links and source is not None:
        try:
            os.link(source, destination)
            return destination.stat().st_size
        except OSError:
            pass  # another filesystem: copy instead
    if source is not None:
        shutil.copyfile(source, destination)  # uses the kernel's copy where it can
        return destination.stat().st_size
    size = 0
    with blobs.open(sha256) as handle, open(destination, "wb") as out:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            out.write(chunk)
            size += len(chunk)
    return size


@dataclass
class Dump:
    root: Path
    manifest: dict
    records: list[tuple[str, object]]


def validate(root: Path) -> Dump:
    """Read and check a whole dump; raise ConfigError naming the first problem. Writes nothing."""
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{root} is not a satchel dump (no {MANIFEST}; incomplete export?)") from None
    except ValueError as exc:
        raise ConfigError(f"{root / MANIFEST} is damaged: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{root} is not a satchel dump (format {manifest.get('format')!r})")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise ConfigError(f"dump format version {manifest.get('version')!r} is newer than this satchel "
                          f"understands ({VERSION}); upgrade satchel first")
    records_file = root / RECORDS
    if not records_file.exists() or _file_sha256(records_file) != manifest.get("records_sha256"):
        raise ConfigError(f"{records_file} does not match the manifest: the dump was truncated or edited")
    records = []
    with open(records_file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                item = json.loads(line)
                records.append((item["key"], item["value"]))
            except (ValueError, KeyError, TypeError):
                raise ConfigError(f"{records_file}:{number}: not a record") from None
    if len(records) != manifest.get("records"):
        raise ConfigError(f"{records_file} holds {len(records)} records, the manifest says {manifest.get('records')}")
    listed = set(manifest.get("blobs") or ())
    for sha256 in progress(sorted(listed), total=len(listed), desc="verifying files", unit="file"):
        path = blob_path(root, sha256)
        if not path.is_file():
            raise ConfigError(f"file {sha256} is missing from the dump")
        if _file_sha256(path) != sha256:
            raise ConfigError(f"file {path} does not match its sha256: the dump is damaged")
    for key, value in records:
        if key.startswith("files/"):
            missing = [sha for sha in blob_refs(key, value) if sha not in listed]
            if missing and not value.get("url"):  # mirror entries may be left out of a dump
                raise ConfigError(f"record {key} needs file {missing[0]}, which the dump lacks")
    return Dump(root, manifest, records)


def load(app, dump: Dump, hard_links: bool = False) -> dict:
    """Store the dump's blobs, then all its records in one transaction."""
    blobs = app.storage.blobs
    listed = sorted(set(dump.manifest.get("blobs") or ()))
    for sha256 in progress(listed, total=len(listed), desc="importing files", unit="file"):
        source = blob_path(dump.root, sha256)
        linked = hard_links and hasattr(blobs, "link_file") and blobs.link_file(source, sha256)
        if not linked and not blobs.exists(sha256):
            with open(source, "rb") as handle:
                blobs.put(iter(lambda: handle.read(CHUNK), b""), sync=False)
    blobs.sync()  # one flush for all files, before the records that reference them commit
    with app.storage.write() as tx:
        for key, value in progress(dump.records, total=len(dump.records), desc="importing records",
                                   unit="record"):
            tx.set(key, value)
    return {"records": len(dump.records), "files": len(listed)}
