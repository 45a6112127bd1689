"""Turn an upstream project page (parsed by pypi-simple) into satchel's project record."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from satchel import clock
from satchel.names import normalize_project

from satchel_mirror.config import split_credentials

if TYPE_CHECKING:  # pypi-simple (and pydantic) take ~0.3 s to import: commands that never reach upstream skip it
    from pypi_simple import DistributionPackage, ProjectPage

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+!~-]*")
# upstream's sha256, as given: devpi builds the +f path from whatever hex it names (a wrong one never verifies)
_HEX = re.compile(r"[0-9a-f]{4,64}")


def _filename(package: DistributionPackage, url: str) -> str | None:
    """The file's name: the last segment of its URL, unquoted (as pip and devpi take it), else the anchor text.

    Anchors may show a quoted name (``pkg-1%212017.4%2Bdevpi.zip``) or more than the name; None when neither
    is a plain file name (an upstream name never builds an odd path here).
    """
    for candidate in (unquote(urlsplit(url).path.rsplit("/", 1)[-1]), package.filename):
        if candidate and _FILENAME.fullmatch(candidate):
            return candidate
    return None


def _version_of(package: DistributionPackage, filename: str) -> str | None:
    if package.version:
        return package.version
    from pypi_simple.errors import UnparsableFilenameError
    from pypi_simple.filenames import parse_filename

    try:
        return parse_filename(filename)[1]
    except UnparsableFilenameError:
        return None


def file_path(index_name: str, filename: str, digests: dict, url: str) -> str:
    """Where the file is served here, as devpi has it: by upstream sha256 under ``+f``, else under ``+e``.

    ``+e`` paths name the URL's scheme, host, port and directory (``+e/https_host_8080_dir/NAME``).
    """
    sha256 = (digests or {}).get("sha256")
    if sha256 and _HEX.fullmatch(sha256):
        return f"{index_name}/+f/{sha256[:3]}/{sha256[3:16]}/{filename}"
    parts = urlsplit(url)
    directory = f"{parts.scheme}/{parts.netloc}{parts.path}".rsplit("/", 1)[0]
    return f"{index_name}/+e/{_UNSAFE.sub('_', directory)}/{filename}"


def link_record(index_name: str, package: DistributionPackage) -> dict | None:
    url, _ = split_credentials(package.url.split("#", 1)[0])
    filename = _filename(package, url)
    if filename is None:
        return None
    path = file_path(index_name, filename, package.digests, url)
    digests = {k: v for k, v in (package.digests or {}).items() if k == "sha256"}
    metadata = None
    if package.has_metadata:
        sha = (package.metadata_digests or {}).get("sha256")
        metadata = {"sha256": sha} if sha else True
    yanked = (package.yanked_reason or True) if package.is_yanked else False
    record = {
        "filename": filename, "path": path, "url": url, "hashes": digests,
        "version": _version_of(package, filename), "requires_python": package.requires_python,
        "yanked": yanked, "core_metadata": metadata, "size": package.size,
        "upload_time": _iso(package.upload_time),
    }
    if package.provenance_url:
        # served here at path + ".provenance"; the upstream URL is only for fetching it
        record["provenance"] = True
        record["provenance_url"] = split_credentials(package.provenance_url)[0]
    return record


def _iso(when) -> str | None:
    return clock.iso(when, fraction=True) if when is not None else None


def project_record(index_name: str, project: str, page: ProjectPage) -> dict:
    files = []
    seen: set[str] = set()
    for package in page.packages:
        if normalize_project(package.project or project) != project and package.project:
            continue  # another project's file listed on this page
        link = link_record(index_name, package)
        if link is None or link["filename"] in seen:
            continue
        seen.add(link["filename"])
        files.append(link)
    versions = list(page.versions) if page.versions else sorted(
        {link["version"] for link in files if link["version"]})
    record = {"name": project, "versions": versions, "files": files}
    if page.status is not None:
        record["status"] = {"status": page.status.value, "reason": page.status_reason}
    return record
