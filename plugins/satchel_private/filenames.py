"""Release file names on upload: safe, an archive, and naming the project and version of the form."""

import re

from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from satchel.errors import BadRequest

# devpi's archive rule; wheels and sdists are further parsed by packaging
ARCHIVE_RE = re.compile(r".+?\.(exe|tar\.gz|bz2|rpm|deb|zip|tgz|egg|dmg|msi|whl)$", re.IGNORECASE)


def check_safe(filename: str) -> str:
    """Refuse names that could escape a directory or hide: separators, ``..``, a leading dot."""
    if not filename or "/" in filename or "\\" in filename or ".." in filename \
            or filename.startswith(".") or any(ord(char) < 32 for char in filename):
        raise BadRequest(f"invalid filename {filename!r}: no path separators, '..' or control characters")
    return filename


def version_in_filename(version: str, filename: str) -> bool:
    # PEP 427 escapes runs of other characters in wheel names as "_"
    return version in filename or re.sub(r"[^\w\d.]+", "_", version) in filename


def _parse(filename: str) -> tuple[str, Version] | None:
    """``(name, version)`` of a wheel or sdist name; None for other archive types."""
    lowered = filename.lower()
    try:
        if lowered.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        if lowered.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise BadRequest(f"invalid filename {filename!r}: {exc}") from None
    return None


def check_release_filename(name: str, version: str, filename: str) -> None:
    """400 with devpi's messages unless ``filename`` is a release of ``name`` ``version``."""
    check_safe(filename)
    if not version_in_filename(version, filename):
        raise BadRequest(f"filename {filename!r} does not contain version {version!r}")
    if not ARCHIVE_RE.match(filename):
        raise BadRequest(f"{filename!r} is not a valid archive name")
    mismatch = BadRequest(f"filename {filename!r} does not match project name {name!r}")
    parsed = _parse(filename)
    if parsed is None:
        if not canonicalize_name(filename).startswith(canonicalize_name(name)):
            raise mismatch
        return
    parsed_name, parsed_version = parsed
    if canonicalize_name(parsed_name) != canonicalize_name(name):
        raise mismatch
    try:
        same_version = Version(version) == parsed_version
    except InvalidVersion:
        same_version = False
    if not same_version:
        raise BadRequest(f"filename {filename!r} does not match version {version!r}")
