"""Migration from devpi: load a ``devpi-export`` dump (devpi-server 6.x, dumpversion "1" or "2").

``validate_devpi_dump`` reads the whole dump (``dataindex.json`` and every file, hashed against the
dump's hashes) and writes nothing. ``import_devpi_dump`` then rehearses the metadata in a transaction
that is rolled back, stores the files as blobs (checked again against the validated sha256), and
writes users, indexes, version metadata, release files, doc zips and tox results in one transaction.
Any problem is a ``ConfigError`` raised before that transaction commits.
"""

import hashlib
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from pathlib import Path, PurePosixPath
from typing import NoReturn

from satchel.errors import ConfigError, SatchelError
from satchel.model import attachments, indexes, keys, projects, users
from satchel.model.projects import log_entry
from satchel.names import check_indexname, check_project_name, check_username, normalize_project
from satchel.storage.contract import BlobInfo

from satchel_ops.parallel import StagingError, progress_map, stage_files

DUMPVERSIONS = ("1", "2")
FILE_TYPES = ("releasefile", "doczip", "toxresult")
USER_KEYS = ("email", "title", "description", "custom_data", "created", "modified")
CHUNK_SIZE = 1 << 20
_ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
_ARCHIVE_EXTS = (".doc.zip", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")  # longest first


@dataclass
class DevpiFile:
    """One file of the dump, verified: ``sha256`` and ``size`` are what was read from disk."""

    index: str
    type: str
    project: str  # normalized
    version: str
    relpath: str
    path: Path
    sha256: str
    size: int
    last_modified: str | None  # satchel's ISO form
    log: list | None
    for_basename: str | None = None  # tox results: the release file they belong to

    @property
    def filename(self) -> str:
        return PurePosixPath(self.relpath).name


@dataclass
class DevpiIndex:
    name: str
    config: dict  # migrated (pypi_whitelist -> mirror_whitelist)
    projects: dict[str, dict[str, dict]]  # normalized project -> version -> metadata
    files: list[DevpiFile]

    @property
    def is_mirror(self) -> bool:
        return self.config.get("type") == "mirror"


@dataclass
class DevpiDump:
    path: Path
    dumpversion: str
    devpi_server: str | None
    users: dict[str, dict]  # name -> record (pwhash only when satchel can verify it)
    indexes: dict[str, DevpiIndex]
    warnings: list[str] = field(default_factory=list)
    skipped_mirror_files: int = 0

    @property
    def files(self) -> list[DevpiFile]:
        return [f for index in self.indexes.values() for f in index.files]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _identity(iterable, **_):
    return iterable


def _fail(dump_path: Path, message: str) -> NoReturn:
    raise ConfigError(f"devpi dump {dump_path}: {message}")


@contextmanager
def _step(dump_path: Path, what: str, hint: str = ""):
    """Model errors (bad names, configs, index types) as a ConfigError saying what was being imported."""
    try:
        yield
    except ConfigError:
        raise
    except SatchelError as exc:
        _fail(dump_path, f"{what}: {exc.message}{hint}")


def _iso(value) -> str | None:
    """devpi's ``last_modified`` (RFC 1123) in satchel's ``YYYY-MM-DDTHH:MM:SSZ``."""
    if not isinstance(value, str) or not value:
        return None
    if _ISO_RE.match(value):
        return value
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _version_from_filename(basename: str) -> str | None:
    """dumpversion 1 files carry no version: take it from the file name as devpi does."""
    if basename.endswith((".whl", ".egg")):
        parts = basename.split("-")
        return parts[1] if len(parts) >= 3 else None
    for ext in _ARCHIVE_EXTS:
        if basename.endswith(ext):
            stem = basename[: -len(ext)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None


def _expected_hashes(dump_path: Path, relpath: str, mapping: dict) -> dict[str, str]:
    """``{algorithm: hexdigest}`` from an entrymapping's ``hashes``, ``hash_spec`` and old ``md5``."""
    hashes = dict(mapping.get("hashes") or {})
    if mapping.get("md5"):
        hashes.setdefault("md5", mapping["md5"])
    spec = mapping.get("hash_spec")
    if spec:
        algorithm, sep, value = str(spec).partition("=")
        if not sep or hashes.get(algorithm, value) != value:
            _fail(dump_path, f"{relpath}: hash_spec {spec!r} does not agree with its hashes")
        hashes[algorithm] = value
    for algorithm, value in hashes.items():
        if algorithm not in hashlib.algorithms_available or not isinstance(value, str):
            _fail(dump_path, f"{relpath}: unsupported hash {algorithm}={value!r}")
    return hashes


def _hash_file(dump_path: Path, relpath: str, expected: dict[str, str]) -> tuple[str, int]:
    """Read the file once; its sha256 and size. Any hash differing from ``expected`` is an error."""
    path = dump_path / relpath
    digests = {name: hashlib.new(name) for name in {"sha256", *expected}}
    size = 0
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                size += len(chunk)
                for digest in digests.values():
                    digest.update(chunk)
    except OSError as exc:
        _fail(dump_path, f"cannot read {relpath}: {exc.strerror}")
    for name, value in expected.items():
        if digests[name].hexdigest() != value.lower():
            _fail(dump_path, f"{relpath}: {name} mismatch (dump says {value}, file has "
                             f"{digests[name].hexdigest()}): the file was changed or truncated")
    return digests["sha256"].hexdigest(), size


def _read_index_json(dump_path: Path) -> dict:
    if not dump_path.is_dir():
        _fail(dump_path, "not a directory")
    try:
        text = (dump_path / "dataindex.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        _fail(dump_path, "dataindex.json is missing (is this a devpi-export directory?)")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(dump_path, f"cannot read dataindex.json: {exc}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        _fail(dump_path, f"dataindex.json is not valid JSON (truncated or edited?): {exc}")
    if not isinstance(data, dict):
        _fail(dump_path, "dataindex.json does not hold a JSON object")
    version = str(data.get("dumpversion"))
    if version not in DUMPVERSIONS:
        _fail(dump_path, f"unsupported dumpversion {data.get('dumpversion')!r}: satchel reads devpi "
                         f"dumps of dumpversion {' and '.join(DUMPVERSIONS)} (devpi-server up to 6.x)")
    for key in ("users", "indexes"):
        if not isinstance(data.get(key), dict):
            _fail(dump_path, f"dataindex.json lacks its {key!r} mapping")
    return data


def _user(dump: DevpiDump, name: str, record) -> dict:
    if not isinstance(record, dict):
        _fail(dump.path, f"user {name!r}: record is not an object")
    with _step(dump.path, f"user {name!r}"):
        check_username(name)
    result = {key: record[key] for key in USER_KEYS if record.get(key)}
    pwhash = record.get("pwhash")
    if isinstance(pwhash, str) and pwhash.startswith("$argon2"):
        result["pwhash"] = pwhash
    elif pwhash:
        dump.warnings.append(f"user {name!r}: password hash in a format satchel cannot verify; "
                             "set a new password" + (" (root keeps its current one)" if name == "root" else ""))
    return result


def _index_config(dump: DevpiDump, name: str, entry) -> dict:
    if not isinstance(entry, dict) or not isinstance(entry.get("indexconfig"), dict):
        _fail(dump.path, f"index {name!r}: no indexconfig")
    user, sep, indexname = name.partition("/")
    with _step(dump.path, f"index {name!r}"):
        check_username(user)
        check_indexname(indexname)
    if not sep or user not in dump.users:
        _fail(dump.path, f"index {name!r}: its user {user!r} is not in the dump")
    config = dict(entry["indexconfig"])
    if not isinstance(config.get("type"), str):
        _fail(dump.path, f"index {name!r}: indexconfig has no type")
    if "pypi_whitelist" in config:  # renamed in devpi-server 3.0
        whitelist = config.pop("pypi_whitelist")
        config.setdefault("mirror_whitelist", whitelist)
    if "uploadtrigger_jenkins" in config and not config["uploadtrigger_jenkins"]:
        del config["uploadtrigger_jenkins"]
    return config


def _index_projects(dump: DevpiDump, name: str, raw) -> dict[str, dict[str, dict]]:
    if not isinstance(raw, dict):
        _fail(dump.path, f"index {name!r}: 'projects' is not an object")
    result: dict[str, dict[str, dict]] = {}
    for project, versions in raw.items():
        if not isinstance(versions, dict):
            _fail(dump.path, f"{name} {project}: versions are not an object")
        for version, metadata in versions.items():
            if not isinstance(metadata, dict):
                _fail(dump.path, f"{name} {project} {version}: metadata is not an object")
            metadata = {k: v for k, v in metadata.items() if not k.startswith(("+", ":"))}
            metadata["name"] = metadata.get("name") or project
            metadata["version"] = metadata.get("version") or version
            with _step(dump.path, f"index {name!r}"):
                check_project_name(metadata["name"])
            result.setdefault(normalize_project(project), {})[version] = metadata
    return result


def _index_file(dump: DevpiDump, index: str, desc, seen: set) -> tuple[DevpiFile, dict]:
    """The file entry (not yet hashed) and the hashes the dump expects of it."""
    if not isinstance(desc, dict) or desc.get("type") not in FILE_TYPES:
        _fail(dump.path, f"index {index!r}: file entry of unknown type: {str(desc)[:200]}")
    relpath = desc.get("relpath")
    parts = PurePosixPath(relpath).parts if isinstance(relpath, str) else ()
    if not parts or PurePosixPath(relpath).is_absolute() or ".." in parts or "\\" in relpath:
        _fail(dump.path, f"index {index!r}: unsafe or missing relpath {relpath!r}")
    if relpath in seen:
        _fail(dump.path, f"{relpath} is listed twice")
    seen.add(relpath)
    if not (dump.path / relpath).is_file():
        _fail(dump.path, f"file {relpath} is missing (incomplete copy of the dump?)")
    project = desc.get("projectname")
    if not isinstance(project, str) or not project:
        _fail(dump.path, f"{relpath}: no projectname")
    mapping = desc.get("entrymapping") or {}
    if not isinstance(mapping, dict):
        _fail(dump.path, f"{relpath}: entrymapping is not an object")
    for_basename = None
    if desc["type"] == "toxresult":
        if not desc.get("for_entrypath"):
            _fail(dump.path, f"{relpath}: tox result without for_entrypath")
        for_basename = PurePosixPath(desc["for_entrypath"]).name
    version = desc.get("version") or mapping.get("version")
    if not version and dump.dumpversion == "1":
        version = _version_from_filename(for_basename or PurePosixPath(relpath).name)
    if not isinstance(version, str) or not version:
        _fail(dump.path, f"{relpath}: cannot tell which version the file belongs to")
    expected = _expected_hashes(dump.path, relpath, mapping)
    if for_basename and len(parts) == 5:
        # devpi 6.5-6.8 stored the hash of the release file, not of the tox result: unusable
        algorithm, _, value = parts[3].partition("=")
        if expected.get(algorithm) == value:
            expected = {}
    log = desc.get("log")
    return DevpiFile(index=index, type=desc["type"], project=normalize_project(project), version=version,
                     relpath=relpath, path=dump.path / relpath, sha256="", size=0,
                     last_modified=_iso(mapping.get("last_modified")),
                     log=log if isinstance(log, list) else None, for_basename=for_basename), expected


def validate_devpi_dump(path: Path, progress=None) -> DevpiDump:
    """Parse and check a devpi-export directory; every file is read and its hashes verified.

    Raises ``ConfigError`` naming the first problem. Reads nothing into any storage.
    """
    progress = progress or _identity
    path = Path(path)
    data = _read_index_json(path)
    dump = DevpiDump(path=path, dumpversion=str(data["dumpversion"]), devpi_server=data.get("devpi_server"),
                     users={}, indexes={})
    for name, record in data["users"].items():
        dump.users[name] = _user(dump, name, record)
    pending = []
    seen: set[str] = set()
    for name, entry in data["indexes"].items():
        config = _index_config(dump, name, entry)
        index = DevpiIndex(name=name, config=config, projects={}, files=[])
        dump.indexes[name] = index
        if index.is_mirror:  # cached mirror files are fetched again on demand
            dump.skipped_mirror_files += len(entry.get("files") or ())
            continue
        index.projects = _index_projects(dump, name, entry.get("projects") or {})
        if not isinstance(entry.get("files") or [], list):
            _fail(path, f"index {name!r}: 'files' is not a list")
        for desc in entry.get("files") or []:
            pending.append(_index_file(dump, name, desc, seen))
    for index in dump.indexes.values():
        missing = [b for b in index.config.get("bases") or () if b not in dump.indexes and b != "root/pypi"]
        if missing:
            dump.warnings.append(f"index {index.name!r}: bases not in the dump are dropped: {', '.join(missing)}")
    if dump.skipped_mirror_files:
        dump.warnings.append(f"{dump.skipped_mirror_files} cached mirror files are not imported "
                             "(mirrors fetch them again on demand)")
    releases = {(f.index, f.project, f.version, f.filename) for f, _ in pending if f.type == "releasefile"}
    for f, _ in pending:
        if f.type == "toxresult" and (f.index, f.project, f.version, f.for_basename) not in releases:
            _fail(path, f"{f.relpath}: tox result for {f.for_basename}, which is not in the dump")
    digests = progress_map(lambda item: _hash_file(path, item[0].relpath, item[1]), pending,
                           total=len(pending), desc="verifying devpi dump", show=progress)
    # progress first: zip then runs it to its end, so the bar closes and the "done" line is logged
    for (sha256, size), (devpi_file, _) in zip(digests, pending):
        devpi_file.sha256, devpi_file.size = sha256, size
        dump.indexes[devpi_file.index].files.append(devpi_file)
    return dump


class _Rehearsal(Exception):
    """Raised to roll back the metadata rehearsal."""


def _check_target_empty(tx, app, dump: DevpiDump) -> None:
    others = [name for name in users.list_usernames(tx) if name != "root"]
    if others:
        _fail(dump.path, f"the serverdir already has users ({', '.join(sorted(others))}): "
                         "import a devpi dump into a fresh serverdir only")
    for username in users.list_usernames(tx):
        for stage in indexes.list_stages(tx, app, username):
            if stage.name != "root/pypi":
                _fail(dump.path, f"the serverdir already has index {stage.name}: "
                                 "import a devpi dump into a fresh serverdir only")


def _apply_users(tx, dump: DevpiDump) -> None:
    for name, record in dump.users.items():
        with _step(dump.path, f"user {name!r}"):
            fields = {k: v for k, v in record.items() if k != "pwhash"}
            pwhash = record.get("pwhash")
            existing = tx.get(keys.user(name)) if name == "root" else None
            if existing is not None:  # root made by init: the dump's password, else the current one
                pwhash = pwhash or existing.get("pwhash")
                users.delete_user(tx, name)
            users.create_user(tx, name, pwhash=pwhash, **fields)


def _apply_indexes(tx, app, dump: DevpiDump, warnings: list[str]) -> dict:
    stages = {}
    hint = " (edit dataindex.json to change or drop what satchel does not support)"
    for index in dump.indexes.values():
        with _step(dump.path, f"index {index.name}", hint):
            user, name = index.name.split("/")
            config = {k: v for k, v in index.config.items() if k != "bases"}
            stages[index.name] = indexes.get_stage(tx, app, user, name) \
                or indexes.create_index(tx, app, user, name, config)
    for index in dump.indexes.values():  # once all exist: bases, and acl keys exactly as exported
        with _step(dump.path, f"index {index.name}", hint):
            config = dict(index.config)
            if "bases" in config:
                config["bases"] = [b for b in config["bases"] or () if "/" in b and
                                   indexes.get_stage(tx, app, *b.split("/", 1)) is not None]
                if "root/pypi" in index.config["bases"] and "root/pypi" not in config["bases"]:
                    warnings.append(f"index {index.name!r}: base root/pypi dropped (this server has none)")
            stages[index.name] = indexes.modify_index(tx, app, stages[index.name], config)
    return stages


def _apply(tx, app, dump: DevpiDump, blobs: dict | None, counts: dict) -> None:
    """Everything the dump holds; files only when ``blobs`` (sha256 -> BlobInfo) is given."""
    _check_target_empty(tx, app, dump)
    _apply_users(tx, dump)
    stages = _apply_indexes(tx, app, dump, counts["warnings"])
    for index in dump.indexes.values():
        for versions in index.projects.values():
            for version, metadata in versions.items():
                with _step(dump.path, f"{index.name} {metadata['name']} {version}"):
                    projects.replace_version_metadata(tx, stages[index.name], metadata["name"], version, metadata)
                counts["versions"] += 1
        counts["projects"] += len(index.projects)
    if blobs is not None:
        _apply_files(tx, app, dump, stages, blobs, counts)
    counts["users"], counts["indexes"] = len(dump.users), len(dump.indexes)


def _apply_files(tx, app, dump: DevpiDump, stages: dict, blobs: dict, counts: dict) -> None:
    order = {"releasefile": 0, "doczip": 1, "toxresult": 2}
    release_paths = {}
    for f in sorted(dump.files, key=lambda f: order[f.type]):
        stage = stages[f.index]
        metadata = dump.indexes[f.index].projects.get(f.project, {}).get(f.version, {})
        display = metadata.get("name") or f.project
        log = f.log if f.log is not None else [log_entry("upload", "<import>", dst=f.index)]
        blob = blobs[f.sha256]
        with _step(dump.path, f.relpath):
            if f.type == "releasefile":
                link = projects.add_release_file(
                    tx, app, stage, project=display, version=f.version, filename=f.filename, blob=blob,
                    requires_python=metadata.get("requires_python"), upload_time=f.last_modified, log=log)
                release_paths[(f.index, f.project, f.version, f.filename)] = link["path"]
            elif f.type == "doczip":
                attachments.store_doczip(tx, stage, display, f.version, blob, log=log,
                                         upload_time=f.last_modified)
            else:
                # kept under devpi's name (``{release}.toxresult-{stamp}-{n}``) so its URL stays the same
                release_path = release_paths[(f.index, f.project, f.version, f.for_basename)]
                attachments.store_toxresult(tx, stage, release_path, blob, log=log, upload_time=f.last_modified,
                                            filename=f.filename)
        counts[f.type + "s"] += 1
        counts["bytes"] += f.size


def _store_blobs(app, dump: DevpiDump, progress) -> dict[str, BlobInfo]:
    """Each distinct file into the blob store; its sha256 and size must still be the validated ones."""
    store = app.storage.blobs
    unique = list({f.sha256: f for f in dump.files}.values())
    jobs = [(f.path, f.sha256, f.size) for f in unique if not store.exists(f.sha256)]
    try:
        staged = stage_files(store, jobs, desc="storing files", show=progress)
    except StagingError as exc:
        _fail(dump.path, f"{exc.path.relative_to(dump.path)} {exc.problem}: it changed after the dump was validated")
    for item in staged:
        store.publish(item, sync=False)
    store.sync()  # one flush for all files, before the records that reference them commit
    return {f.sha256: BlobInfo(f.sha256, f.size) for f in unique}


def import_devpi_dump(app, dump: DevpiDump, progress=None) -> dict:
    """Write a validated dump into ``app``, which may hold only ``root`` and ``root/pypi`` (made by init).

    ``root`` takes the dump's password hash; an existing ``root/pypi`` takes the dump's config.
    Returns counts (users, indexes, projects, versions, releasefiles, doczips, toxresults, bytes,
    skipped_mirror_files) and ``warnings``, a list of messages. Nothing is committed on error.
    """
    progress = progress or _identity

    def fresh_counts():
        counts = dict.fromkeys(("users", "indexes", "projects", "versions", "releasefiles", "doczips",
                                "toxresults", "bytes"), 0)
        return {**counts, "skipped_mirror_files": dump.skipped_mirror_files, "warnings": list(dump.warnings)}

    try:  # rehearse the metadata (target state, names, index types, configs) and roll it back
        with app.storage.write() as tx:
            _apply(tx, app, dump, None, fresh_counts())
            raise _Rehearsal()
    except _Rehearsal:
        pass
    blobs = _store_blobs(app, dump, progress)
    counts = fresh_counts()
    with app.storage.write() as tx:
        _apply(tx, app, dump, blobs, counts)
    return counts
