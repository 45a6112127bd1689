"""satchel's dump format (version 2): ``satchel-dump.json``, ``records.jsonl``, ``blobs/ab/<sha256>``.

The manifest is written last, so a dump without one is incomplete. It records the sha256 of
``records.jsonl`` and the counts, so an edited or truncated dump is refused on import.
Version 1 dumps (``blobs/ab/cd/<sha256>``: a directory per file, which made exports slow) are
still read.
"""

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from satchel import __version__, clock
from satchel.errors import ConfigError
from satchel.progress import progress

from satchel_ops.blobrefs import blob_refs, mirror_prefixes
from satchel_ops.parallel import SpoolError, file_sha256, progress_map, read_chunks, spool_files

FORMAT = "satchel-dump"
VERSION = 2
MANIFEST = "satchel-dump.json"
RECORDS = "records.jsonl"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def blob_path(root: Path, sha256: str, version: int = VERSION) -> Path:
    if version == 1:
        return root / "blobs" / sha256[:2] / sha256[2:4] / sha256
    return root / "blobs" / sha256[:2] / sha256


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
    shas = sorted(referenced)
    for prefix in sorted({sha[:2] for sha in shas}):
        (target / "blobs" / prefix).mkdir(parents=True)
    total_bytes = sum(progress_map(lambda sha: _copy_blob(blobs, sha, blob_path(target, sha), hard_links),
                                   shas, total=len(shas), desc="exporting files"))
    manifest = {"format": FORMAT, "version": VERSION, "satchel": __version__,
                "created": clock.iso(), "source_serial": serial,
                "records": len(keys), "records_sha256": records_digest.hexdigest(),
                "blobs": shas, "include_mirrored_files": include_mirrored_files}
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return {"records": len(keys), "files": len(shas), "bytes": total_bytes}


def _copy_blob(blobs, sha256: str, destination: Path, hard_links: bool) -> int:
    source = blobs.path(sha256)
    if hard_links and source is not None:
        try:
            os.link(source, destination)
            return destination.stat().st_size
        except OSError:
            pass  # another filesystem: copy instead
    if source is not None:
        shutil.copyfile(source, destination)  # the kernel copies (sendfile)
        return destination.stat().st_size
    size = 0
    with blobs.open(sha256) as handle, open(destination, "wb") as out:
        for chunk in read_chunks(handle):
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
    if not records_file.exists() or file_sha256(records_file) != manifest.get("records_sha256"):
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
    listed = manifest.get("blobs")
    if not isinstance(listed, list) or not all(isinstance(sha, str) and _HEX64.fullmatch(sha) for sha in listed):
        raise ConfigError(f"{root / MANIFEST} lists files that are not sha256 digests: the dump was edited")
    listed = set(listed)
    version = manifest["version"]
    for sha256 in listed:  # their bytes are checked while they are copied (load)
        if not blob_path(root, sha256, version).is_file():
            raise ConfigError(f"file {sha256} is missing from the dump")
    for key, value in records:
        if key.startswith("files/"):
            missing = [sha for sha in blob_refs(key, value) if sha not in listed]
            if missing and not value.get("url"):  # mirror entries may be left out of a dump
                raise ConfigError(f"record {key} needs file {missing[0]}, which the dump lacks")
    return Dump(root, manifest, records)


def load(app, dump: Dump, hard_links: bool = False) -> dict:
    """Store the dump's blobs, then all its records in one transaction.

    Every file is copied (or, with ``hard_links``, hashed) and checked against its sha256 before
    any becomes visible in the blob store: a damaged dump changes nothing.
    """
    blobs = app.storage.blobs
    listed = sorted(set(dump.manifest.get("blobs") or ()))
    version = dump.manifest["version"]
    sources = [(blob_path(dump.root, sha, version), sha, None) for sha in listed if not blobs.exists(sha)]
    try:
        if hard_links and blobs.can_link:
            _check_all(sources)
            spooled = []
            for source, sha256, _ in progress(sources, total=len(sources), desc="linking files", unit="file"):
                if not blobs.link_file(source, sha256):
                    spooled += spool_files(blobs, [(source, sha256, None)], desc="copying files")
        else:
            spooled = spool_files(blobs, sources, desc="checking and copying files")
    except SpoolError as exc:
        raise ConfigError(f"file {exc.path} {exc.problem}: the dump is damaged") from None
    for item in spooled:
        blobs.publish(item, sync=False)
    blobs.sync()  # one flush for all files, before the records that reference them commit
    with app.storage.write() as tx:
        for key, value in progress(dump.records, total=len(dump.records), desc="importing records",
                                   unit="record"):
            tx.set(key, value)
    return {"records": len(dump.records), "files": len(listed)}


def _check_all(sources) -> None:
    """Hash every file (before any is linked into the store)."""
    def check(job):
        path, sha256, _ = job
        if file_sha256(path) != sha256:
            raise SpoolError(path, "does not match its sha256")
    for _ in progress_map(check, sources, total=len(sources), desc="checking files"):
        pass
