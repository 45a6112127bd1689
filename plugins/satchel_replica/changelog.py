"""The primary's replication endpoints: the changelog as JSON lines, and blobs by sha256.

Format version 1: ``GET /+changelog/N-`` answers ``application/x-satchel-changes+jsonl``, one line
per serial from N on, ``{"serial": N, "changes": {key: [back_serial, value]}}``, at most
``MAX_ENTRIES`` lines or ``MAX_BYTES``; when N is the next serial it waits (long poll) up to
``?timeout=`` seconds (30 at most) for a commit, then answers 202 with no body.
"""

import json

from webob import Response

from satchel.errors import Forbidden, NotFound, Unauthorized
from satchel.storage.blobs import check_sha256
from satchel.web.responses import json_response

from satchel_replica import signing

MEDIA_TYPE = "application/x-satchel-changes+jsonl"
FORMAT_VERSION = "1"
MAX_ENTRIES = 2000
MAX_BYTES = 8 << 20
MAX_WAIT = 30.0


def _authorize(request) -> str:
    replication = request.app.stash.get("satchel_replica")
    if replication is None or replication.role != "primary":
        raise Forbidden("Replication protocol disabled")
    replica_uuid = signing.verify(replication.key, request.headers)
    if replica_uuid is None:
        raise Unauthorized("replica credentials missing or invalid")
    replication.polled(replica_uuid, request)
    return replica_uuid


def _headers(response):
    response.headers["X-Satchel-Changes-Version"] = FORMAT_VERSION
    return response


def single_entry(request):
    _authorize(request)
    serial = int(request.matchdict["serial"])
    entries = list(request.app.storage.changes_since(serial - 1, limit=1))
    if not entries or entries[0][0] != serial:
        raise NotFound(f"no serial {serial}")
    return _headers(json_response({"serial": serial, "changes": entries[0][1]}, "changelog"))


def entries_from(request):
    _authorize(request)
    start = int(request.matchdict["serial"])
    storage = request.app.storage
    last = storage.last_serial()
    if start > last + 1:
        raise NotFound(f"serial {start} is beyond the next one ({last + 1})")
    if start == last + 1:
        try:
            wait = min(float(request.GET.get("timeout", MAX_WAIT)), MAX_WAIT)
        except ValueError:
            wait = MAX_WAIT
        if not request.app.wait_for_serial(start, wait):
            response = Response(status=202)
            response.headers["X-Devpi-Serial"] = str(storage.last_serial())
            return _headers(response)
    response = Response(status=200, app_iter=_stream(storage, start))
    response.headers["Content-Type"] = MEDIA_TYPE
    return _headers(response)


def _stream(storage, start: int):
    sent = 0
    for serial, changes in storage.changes_since(start - 1, limit=MAX_ENTRIES):
        line = (json.dumps({"serial": serial, "changes": changes}) + "\n").encode("utf-8")
        sent += len(line)
        yield line
        if sent >= MAX_BYTES:
            break


def blob(request):
    _authorize(request)
    try:
        sha256 = check_sha256(request.matchdict["sha256"])
    except ValueError:
        raise NotFound("no such blob") from None
    blobs = request.app.storage.blobs
    try:
        handle = blobs.open(sha256)
    except FileNotFoundError:
        raise NotFound("no such blob") from None
    wrapper = request.environ.get("wsgi.file_wrapper")
    response = Response(app_iter=wrapper(handle, 1 << 16) if wrapper else iter(lambda: handle.read(1 << 16), b""))
    response.headers["Content-Type"] = "application/octet-stream"
    handle.seek(0, 2)
    response.content_length = handle.tell()
    handle.seek(0)
    return response
