"""Reading a ``devpi-export`` dump (devpi-server 6.x, dumpversion "1" or "2") without writing anything.

``validate_devpi_dump`` reads ``dataindex.json`` whole, checks users, index configs and file entries, and
hashes every file against the dump's own hashes. ``devpi_import`` then stores what it returns.
"""

import hashlib
import json
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import NoReturn

from satchel import clock
from satchel.errors import ConfigError, SatchelError
from satchel.names import check_indexname, check_project_name, check_username, normalize_project
from satchel.progress import no_progress

from satchel_ops.devpi_records import DevpiDump, DevpiFile, DevpiIndex
from satchel_ops.parallel import progress_map

DUMPVERSIONS = ("1", "2")
FILE_TYPES = ("releasefile", "doczip", "toxresult")
USER_KEYS = ("email", "title", "description", "custom_data", "created", "modified")
CHUNK_SIZE = 1 << 20
_ARCHIVE_EXTS = (".doc.zip", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".zip", ".tar")  # longest first


def fail(dump_path: Path, message: str) -> NoReturn:
    raise ConfigError(f"devpi dump {dump_path}: {message}")


@contextmanager
def step(dump_path: Path, what: str, hint: str = ""):
    """Model errors (bad names, configs, index types) as a ConfigError saying what was being imported."""
    try:
        yield
    except ConfigError:
        raise
    except SatchelError as exc:
        fail(dump_path, f"{what}: {exc.message}{hint}")


def _iso(value) -> str | None:
    """devpi's ``last_modified`` (RFC 1123) in satchel's ``YYYY-MM-DDTHH:MM:SSZ``."""
    when = clock.parse(value)
    return clock.iso(when) if when is not None else None


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
            fail(dump_path, f"{relpath}: hash_spec {spec!r} does not agree with its hashes")
        hashes[algorithm] = value
    for algorithm, value in hashes.items():
        if algorithm not in hashlib.algorithms_available or not isinstance(value, str):
            fail(dump_path, f"{relpath}: unsupported hash {algorithm}={value!r}")
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
        fail(dump_path, f"cannot read {relpath}: {exc.strerror}")
    for name, value in expected.items():
        if digests[name].hexdigest() != value.lower():
            fail(dump_path, f"{relpath}: {name} mismatch (dump says {value}, file has "
                             f"{digests[name].hexdigest()}): the file was changed or truncated")
    return digests["sha256"].hexdigest(), size


def _read_index_json(dump_path: Path) -> dict:
    if not dump_path.is_dir():
        fail(dump_path, "not a directory")
    try:
        text = (dump_path / "dataindex.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(dump_path, "dataindex.json is missing (is this a devpi-export directory?)")
    except (OSError, UnicodeDecodeError) as exc:
        fail(dump_path, f"cannot read dataindex.json: {exc}")
    try:
        data = json.loads(text)
    except ValueError as exc:
        fail(dump_path, f"dataindex.json is not valid JSON (truncated or edited?): {exc}")
    if not isinstance(data, dict):
        fail(dump_path, "dataindex.json does not hold a JSON object")
    version = str(data.get("dumpversion"))
    if version not in DUMPVERSIONS:
        fail(dump_path, f"unsupported dumpversion {data.get('dumpversion')!r}: satchel reads devpi "
                         f"dumps of dumpversion {' and '.join(DUMPVERSIONS)} (devpi-server up to 6.x)")
    for key in ("users", "indexes"):
        if not isinstance(data.get(key), dict):
            fail(dump_path, f"dataindex.json lacks its {key!r} mapping")
    return data


def _user(dump: DevpiDump, name: str, record) -> dict:
    if not isinstance(record, dict):
        fail(dump.path, f"user {name!r}: record is not an object")
    with step(dump.path, f"user {name!r}"):
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
        fail(dump.path, f"index {name!r}: no indexconfig")
    user, sep, indexname = name.partition("/")
    with step(dump.path, f"index {name!r}"):
        check_username(user)
        check_indexname(indexname)
    if not sep or user not in dump.users:
        fail(dump.path, f"index {name!r}: its user {user!r} is not in the dump")
    config = dict(entry["indexconfig"])
    if not isinstance(config.get("type"), str):
        fail(dump.path, f"index {name!r}: indexconfig has no type")
    if "pypi_whitelist" in config:  # renamed in devpi-server 3.0
        whitelist = config.pop("pypi_whitelist")
        config.setdefault("mirror_whitelist", whitelist)
    if "uploadtrigger_jenkins" in config and not config["uploadtrigger_jenkins"]:
        del config["uploadtrigger_jenkins"]
    return config


def _index_projects(dump: DevpiDump, name: str, raw) -> dict[str, dict[str, dict]]:
    if not isinstance(raw, dict):
        fail(dump.path, f"index {name!r}: 'projects' is not an object")
    result: dict[str, dict[str, dict]] = {}
    for project, versions in raw.items():
        if not isinstance(versions, dict):
            fail(dump.path, f"{name} {project}: versions are not an object")
        for version, metadata in versions.items():
            if not isinstance(metadata, dict):
                fail(dump.path, f"{name} {project} {version}: metadata is not an object")
            metadata = {k: v for k, v in metadata.items() if not k.startswith(("+", ":"))}
            metadata["name"] = metadata.get("name") or project
            metadata["version"] = metadata.get("version") or version
            with step(dump.path, f"index {name!r}"):
                check_project_name(metadata["name"])
            result.setdefault(normalize_project(project), {})[version] = metadata
    return result


def _index_file(dump: DevpiDump, index_name: str, desc, seen: set) -> tuple[DevpiFile, dict]:
    """The file entry (not yet hashed) and the hashes the dump expects of it."""
    if not isinstance(desc, dict) or desc.get("type") not in FILE_TYPES:
        fail(dump.path, f"index {index_name!r}: file entry of unknown type: {str(desc)[:200]}")
    relpath = desc.get("relpath")
    parts = PurePosixPath(relpath).parts if isinstance(relpath, str) else ()
    if not parts or PurePosixPath(relpath).is_absolute() or ".." in parts or "\\" in relpath:
        fail(dump.path, f"index {index_name!r}: unsafe or missing relpath {relpath!r}")
    if relpath in seen:
        fail(dump.path, f"{relpath} is listed twice")
    seen.add(relpath)
    if not (dump.path / relpath).is_file():
        fail(dump.path, f"file {relpath} is missing (incomplete copy of the dump?)")
    project = desc.get("projectname")
    if not isinstance(project, str) or not project:
        fail(dump.path, f"{relpath}: no projectname")
    mapping = desc.get("entrymapping") or {}
    if not isinstance(mapping, dict):
        fail(dump.path, f"{relpath}: entrymapping is not an object")
    for_basename = None
    if desc["type"] == "toxresult":
        if not desc.get("for_entrypath"):
            fail(dump.path, f"{relpath}: tox result without for_entrypath")
        for_basename = PurePosixPath(desc["for_entrypath"]).name
    version = desc.get("version") or mapping.get("version")
    if not version and dump.dumpversion == "1":
        version = _version_from_filename(for_basename or PurePosixPath(relpath).name)
    if not isinstance(version, str) or not version:
        fail(dump.path, f"{relpath}: cannot tell which version the file belongs to")
    expected = _expected_hashes(dump.path, relpath, mapping)
    if for_basename and len(parts) == 5:
        # devpi 6.5-6.8 stored the hash of the release file, not of the tox result: unusable
        algorithm, _, value = parts[3].partition("=")
        if expected.get(algorithm) == value:
            expected = {}
    log = desc.get("log")
    return DevpiFile(index_name=index_name, type=desc["type"], project=normalize_project(project), version=version,
                     relpath=relpath, path=dump.path / relpath, sha256="", size=0,
                     last_modified=_iso(mapping.get("last_modified")),
                     log=log if isinstance(log, list) else None, for_basename=for_basename), expected


def validate_devpi_dump(path: Path, progress=None) -> DevpiDump:
    """Parse and check a devpi-export directory; every file is read and its hashes verified.

    Raises ``ConfigError`` naming the first problem. Reads nothing into any storage.
    """
    progress = progress or no_progress
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
            fail(path, f"index {name!r}: 'files' is not a list")
        for desc in entry.get("files") or []:
            pending.append(_index_file(dump, name, desc, seen))
    for index in dump.indexes.values():
        missing = [b for b in index.config.get("bases") or () if b not in dump.indexes and b != "root/pypi"]
        if missing:
            dump.warnings.append(f"index {index.name!r}: bases not in the dump are dropped: {', '.join(missing)}")
    if dump.skipped_mirror_files:
        dump.warnings.append(f"{dump.skipped_mirror_files} cached mirror files are not imported "
                             "(mirrors fetch them again on demand)")
    releases = {(f.index_name, f.project, f.version, f.filename) for f, _ in pending if f.type == "releasefile"}
    for f, _ in pending:
        if f.type == "toxresult" and (f.index_name, f.project, f.version, f.for_basename) not in releases:
            fail(path, f"{f.relpath}: tox result for {f.for_basename}, which is not in the dump")
    digests = progress_map(lambda item: _hash_file(path, item[0].relpath, item[1]), pending,
                           total=len(pending), desc="verifying devpi dump", show=progress)
    # progress first: zip then runs it to its end, so the bar closes and the "done" line is logged
    for (sha256, size), (devpi_file, _) in zip(digests, pending):
        devpi_file.sha256, devpi_file.size = sha256, size
        dump.indexes[devpi_file.index_name].files.append(devpi_file)
    return dump
