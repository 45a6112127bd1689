"""Release file names on upload: safe, an archive, naming the form's project and version; their file type.

Wheels and sdists are parsed by packaging; the legacy built formats devpi still takes (bdist_dumb archives,
eggs) by their naming conventions.
"""

import re

from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import InvalidVersion, Version

from satchel.errors import BadRequest

# devpi's archive rule; wheels and sdists are further parsed by packaging
ARCHIVE_RE = re.compile(r".+?\.(exe|tar\.gz|bz2|rpm|deb|zip|tgz|egg|dmg|msi|whl)$", re.IGNORECASE)
# bdist_dumb archives name the platform after the version: hello-1.0.linux-x86_64.tar.gz, ...win-amd64.zip
_DUMB_PLATFORM = re.compile(r"\.(linux|macosx|win|cygwin|darwin|freebsd|netbsd|openbsd|solaris|aix)"
                            r"[\w.-]*\.(tar\.gz|tar\.bz2|tgz|zip)$", re.IGNORECASE)
_EGG = re.compile(r"(?P<stem>[^-]+-[^-]+)(-py\d[\d.]*(-[^-]+)?)?\.egg", re.IGNORECASE)


def check_safe(filename: str) -> str:
    """Refuse names that could escape a directory or hide: separators, ``..``, a leading dot."""
    if not filename or "/" in filename or "\\" in filename or ".." in filename \
            or filename.startswith(".") or any(ord(char) < 32 for char in filename):
        raise BadRequest(f"invalid filename {filename!r}: no path separators, '..' or control characters")
    return filename


def version_in_filename(version: str, filename: str) -> bool:
    # PEP 427 escapes runs of other characters in wheel names as "_"
    return version in filename or re.sub(r"[^\w\d.]+", "_", version) in filename


def _name_version(stem: str, filename: str) -> tuple[str, Version]:
    """``NAME-VERSION`` of a legacy file's stem (egg names escape '-' as '_', so the last '-' splits)."""
    name, _, version = stem.rpartition("-")
    try:
        if name:
            return canonicalize_name(name), Version(version)
    except InvalidVersion:
        pass
    raise BadRequest(f"invalid filename {filename!r}: no NAME-VERSION in {stem!r}")


def _dumb(filename: str) -> tuple[str, Version] | None:
    """``(name, version)`` of a bdist_dumb archive (``NAME-VERSION.PLATFORM.tar.gz``), None for other names.

    Only for names that are no valid sdist name: ``pkg.windows-1.0.tar.gz`` stays an sdist.
    """
    match = _DUMB_PLATFORM.search(filename)
    if match is None:
        return None
    try:
        parse_sdist_filename(filename)
        return None
    except (InvalidSdistFilename, InvalidVersion):
        return _name_version(filename[:match.start()], filename)


def _parse(filename: str) -> tuple[str, Version] | None:
    """``(name, version)`` of a wheel, sdist, bdist_dumb or egg name; None for other archive types."""
    lowered = filename.lower()
    try:
        if lowered.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return name, version
        if lowered.endswith(".egg"):
            match = _EGG.fullmatch(filename)
            if match is None:
                raise BadRequest(f"invalid filename {filename!r}: not NAME-VERSION(-pyX.Y(-PLATFORM)).egg")
            return _name_version(match["stem"], filename)
        if lowered.endswith((".tar.gz", ".zip")):
            return _dumb(filename) or parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise BadRequest(f"invalid filename {filename!r}: {exc}") from None
    return None


def pyversion_filetype(filename: str) -> tuple[str, str]:
    """devpi's ``(pyversion, filetype)`` of a release file name (the form fields of an upload to PyPI)."""
    lowered = filename.lower()
    if lowered.endswith(".whl"):
        return filename[:-4].split("-")[-3], "bdist_wheel"
    if lowered.endswith(".egg"):
        parts = filename[:-4].split("-")
        return (parts[2][2:] if len(parts) > 2 and parts[2].startswith("py") else "any"), "bdist_egg"
    for suffix, filetype in ((".exe", "bdist_wininst"), (".msi", "bdist_msi"), (".rpm", "bdist_rpm"),
                             (".dmg", "bdist_dmg"), (".deb", "bdist_deb")):
        if lowered.endswith(suffix):
            return "any", filetype
    try:
        if _dumb(filename):
            return "any", "bdist_dumb"
    except BadRequest:
        pass
    return "source", "sdist"


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
