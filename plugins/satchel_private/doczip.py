"""Documentation zips: checked on upload, served unpacked under ``/U/I/P/V/+doc/PATH``.

Files are read straight out of the stored zip, never extracted to disk, so a member name can
never reach the filesystem; names are still checked on upload so that bad archives are refused.
"""

import mimetypes
import posixpath
import zipfile

from webob import Response

from satchel.errors import BadRequest, NotFound
from satchel.model.attachments import get_doczip
from satchel.model.indexes import require_stage, resolution_order
from satchel.names import normalize_project
from satchel.web.responses import redirect

# uploaded HTML runs in an opaque origin: its scripts cannot reach the index's cookies, pages or API
DOC_POLICY = "sandbox allow-scripts allow-popups allow-forms"
MAX_MEMBERS = 100_000
MAX_UNPACKED_SIZE = 4 << 30  # sum of the members' sizes
CHUNK_SIZE = 1 << 16


def check_member_name(name: str) -> None:
    parts = name.split("/")
    if not name or "\\" in name or name.startswith("/") or ":" in parts[0] or ".." in parts \
            or "\x00" in name:
        raise BadRequest(f"doczip contains an unsafe path: {name!r}")


def check_doczip(handle) -> None:
    """400 unless ``handle`` (seekable) is a zip with safe member names within the size limits."""
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise BadRequest("doczip is not a valid zip file") from None
    finally:
        handle.seek(0)
    if len(members) > MAX_MEMBERS:
        raise BadRequest(f"doczip has more than {MAX_MEMBERS} members")
    total = 0
    for member in members:
        check_member_name(member.filename)
        total += member.file_size
    if total > MAX_UNPACKED_SIZE:
        raise BadRequest(f"doczip unpacks to more than {MAX_UNPACKED_SIZE} bytes")


def _member(names: set[str], path: str) -> str | None:
    """The member serving ``path``: the file itself, or ``index.html`` for a directory."""
    if path in ("", "."):
        return "index.html" if "index.html" in names else None
    if path.endswith("/"):
        candidate = path + "index.html"
        return candidate if candidate in names else None
    return path if path in names else None


def _stream(handle, archive, member: str):
    try:
        with archive.open(member) as source:
            while chunk := source.read(CHUNK_SIZE):
                yield chunk
    finally:
        archive.close()
        handle.close()


def doc_view(request):
    """``GET /U/I/P/V/+doc/PATH``: a file of the release's documentation (first index that has it)."""
    match = request.matchdict
    path = match.get("path")
    if path is None:
        return redirect(request.path_prefix + request.path_info + "/")
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    project, version = normalize_project(match["project"]), match["version"]
    link = None
    for current in resolution_order(request.tx, request.app, stage):
        link = get_doczip(request.tx, current, project, version)
        if link is not None:
            break
    if link is None:
        raise NotFound(f"no documentation for {project} {version}")
    normalized = posixpath.normpath("/" + path).lstrip("/") + ("/" if path.endswith("/") else "")
    if normalized == "/":
        normalized = ""
    handle = request.app.storage.blobs.open(link["hashes"]["sha256"])
    archive = zipfile.ZipFile(handle)
    names = set(archive.namelist())
    member = _member(names, normalized)
    if member is None:
        archive.close()
        handle.close()
        if normalized + "/index.html" in names:
            return redirect(request.path_prefix + request.path_info + "/")
        raise NotFound(f"no such documentation file: {path}")
    info = archive.getinfo(member)
    if request.method == "HEAD":
        archive.close()
        handle.close()
        response = Response()
    else:
        response = Response(app_iter=_stream(handle, archive, member))
    response.content_type = mimetypes.guess_type(member)[0] or "application/octet-stream"
    response.content_length = info.file_size
    response.headers["Cache-Control"] = "max-age=60, public"
    response.headers["Content-Security-Policy"] = DOC_POLICY
    return response
