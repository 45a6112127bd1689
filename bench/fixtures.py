"""Deterministic test data: the release files uploaded to both servers.

Every server under test gets byte-identical files, so the pages they serve
describe the same releases with the same hashes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from functools import cached_property

PROJECT = "hello-pkg"
DIST_NAME = "hello_pkg"
REQUIRES_PYTHON = ">=3.8"
DEFAULT_COUNT = 200
USER = "alice"
PASSWORD = "pw"
INDEX = "dev"

# Fixed timestamp so the archives (and their sha256) never change between runs.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class ReleaseFile:
    """One fake wheel of `project` (PROJECT unless given)."""

    version: str
    project: str = PROJECT

    @property
    def dist_name(self) -> str:
        return self.project.replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.dist_name}-{self.version}-py3-none-any.whl"

    @cached_property
    def content(self) -> bytes:
        return make_wheel(self.version, self.project)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def release_files(count: int = DEFAULT_COUNT) -> list[ReleaseFile]:
    """Return `count` release files, versions 1.1 .. 1.<count>."""
    return [ReleaseFile(f"1.{n}") for n in range(1, count + 1)]


def project_files(count: int, version: str = "1.0") -> list[ReleaseFile]:
    """One release file each of `count` projects bench-proj-00001 .. (the "many projects" uploads)."""
    width = max(5, len(str(count)))
    return [ReleaseFile(version, f"bench-proj-{n:0{width}d}") for n in range(1, count + 1)]


def simple_path(user: str = USER, index: str = INDEX, project: str = PROJECT) -> str:
    """Path of the simple page that the load scenarios request."""
    return f"/{user}/{index}/+simple/{project}/"


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _wheel_members(version: str, project: str = PROJECT) -> dict[str, bytes]:
    dist_name = project.replace("-", "_")
    dist_info = f"{dist_name}-{version}.dist-info"
    members = {
        f"{dist_name}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": (
            "Metadata-Version: 2.1\n"
            f"Name: {project}\n"
            f"Version: {version}\n"
            f"Requires-Python: {REQUIRES_PYTHON}\n"
            "Summary: benchmark fixture\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\n"
            b"Generator: satchel-bench\n"
            b"Root-Is-Purelib: true\n"
            b"Tag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{name},{_record_hash(data)},{len(data)}\n" for name, data in members.items()
    )
    members[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    return members


def make_wheel(version: str, project: str = PROJECT) -> bytes:
    """Build a small, valid, reproducible wheel of `project` for `version`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _wheel_members(version, project).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()
