"""What a validated devpi dump holds: its users, indexes and verified files."""

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass
class DevpiFile:
    """One file of the dump, verified: ``sha256`` and ``size`` are what was read from disk."""

    index_name: str
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
