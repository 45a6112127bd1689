"""Serving stored files: ``/U/I/+f/...`` with Range, ETag and ``wsgi.file_wrapper``."""

import hashlib
import mimetypes

from webob import Response
from webob.static import FileIter

from satchel import clock
from satchel.errors import Gone, NotFound
from satchel.model import keys
from satchel.storage.blobs import blob_relpath
from satchel.web.negotiate import wants_json
from satchel.web.responses import json_response

BLOCK_SIZE = 1 << 16
IMMUTABLE = "max-age=365000000, immutable, public"


def _content_type(filename: str) -> str:
    if filename.endswith(".metadata"):
        return "application/octet-stream"
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _accel_redirect(request, blobs, sha256: str) -> str | None:
    """Behind nginx (which sends ``X-Satchel-Accel: /internal-prefix/``), let it send the file."""
    prefix = request.headers.get("X-Satchel-Accel")
    if not prefix or not prefix.startswith("/") or blobs.path(sha256) is None:
        return None
    return f"{prefix.rstrip('/')}/{blob_relpath(sha256)}"


def _accel_response(location: str, entry: dict, filename: str) -> Response:
    response = Response()
    response.headers["X-Accel-Redirect"] = location
    response.headers["Content-Type"] = _content_type(filename)
    response.headers["Cache-Control"] = IMMUTABLE
    response.last_modified = clock.parse(entry.get("last_modified"))
    return response


def _inline_response(data: bytes, sha256: str, entry: dict) -> Response:
    """A wheel's METADATA kept in its file record (PEP 658)."""
    response = Response(body=data, conditional_response=True)
    response.headers["Content-Type"] = "application/octet-stream"
    response.etag = sha256
    response.last_modified = clock.parse(entry.get("last_modified"))
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def lookup_file(tx, relpath: str) -> tuple[dict, str, str]:
    """``(entry, blob sha256, filename)`` for a stored file or its ``.metadata`` sibling."""
    entry = tx.get(keys.file(relpath))
    if entry is not None:
        return entry, entry["sha256"], entry["filename"]
    if relpath.endswith(".metadata"):
        entry = tx.get(keys.file(relpath[: -len(".metadata")]))
        if entry is not None and entry.get("metadata_sha256"):
            return entry, entry["metadata_sha256"], entry["filename"] + ".metadata"
        if entry is not None and entry.get("metadata") is not None:
            data = entry["metadata"].encode("utf-8")
            return entry, hashlib.sha256(data).hexdigest(), entry["filename"] + ".metadata"
    if tx.get(keys.tombstone(relpath)) is not None:
        raise Gone("file existed, deleted in later serial")
    raise NotFound("no such file")


def serve_file(request) -> Response:
    match = request.matchdict
    relpath = f"{match['user']}/{match['index']}/+f/{match['relpath']}"
    entry, sha256, filename = lookup_file(request.tx, relpath)
    return file_response(request, entry, sha256, filename)


def file_response(request, entry: dict, sha256: str, filename: str) -> Response:
    """The stored blob ``sha256`` of file ``entry`` (or its JSON metadata for JSON clients)."""
    if wants_json(request):
        meta = {"hash_spec": f"sha256={entry['sha256']}", "hashes": {"sha256": entry["sha256"]},
                "last_modified": entry.get("last_modified"), "project": entry.get("project"),
                "version": entry.get("version")}
        if entry.get("url"):
            meta["url"] = entry["url"]
        return json_response(meta, "releasefilemeta")
    if filename.endswith(".metadata") and entry.get("metadata") is not None and not entry.get("metadata_sha256"):
        return _inline_response(entry["metadata"].encode("utf-8"), sha256, entry)
    blobs = request.app.storage.blobs
    direct = blobs.url(sha256, filename)
    if direct is not None:
        # the blob store hands out short-lived URLs (S3 pre-signed): the client fetches from it
        response = Response(status=302, location=direct)
        response.headers["Cache-Control"] = "no-store"
        return response
    accel = _accel_redirect(request, blobs, sha256)
    if accel is not None:
        return _accel_response(accel, entry, filename)
    try:
        handle = blobs.open(sha256)
    except FileNotFoundError:
        raise NotFound("no such file") from None
    size = entry["size"] if sha256 == entry["sha256"] else None
    if size is None:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(0)
    content_type = _content_type(filename)
    wrapper = request.environ.get("wsgi.file_wrapper")
    zero_copy = wrapper is not None and "Range" not in request.headers \
        and "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers
    # zero-copy path: waitress sends the open file itself; otherwise WebOb answers Range/304
    app_iter = wrapper(handle, BLOCK_SIZE) if zero_copy else FileIter(handle)
    response = Response(app_iter=app_iter, conditional_response=not zero_copy)
    response.headers["Content-Type"] = content_type
    response.content_length = size
    response.etag = sha256
    response.last_modified = clock.parse(entry.get("last_modified"))
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Accept-Ranges"] = "bytes"
    return response
