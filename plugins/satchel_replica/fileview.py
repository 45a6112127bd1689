"""Files on a replica: served locally once copied; fetched from the primary on demand before that."""

from satchel.errors import NotFound, UpstreamError
from satchel.model.indexes import require_stage
from satchel.views.files import file_response, lookup_file


def is_replica(request) -> bool:
    return request.app.node_role.is_replica


def serve(request):
    match = request.matchdict
    require_stage(request.tx, request.app, match["user"], match["index"])
    relpath = f"{match['user']}/{match['index']}/{match['kind']}/{match['relpath']}"
    replication = request.app.stash["satchel_replica"]
    try:
        entry, sha256, filename = lookup_file(request.tx, relpath)
    except NotFound:
        entry = None
    if entry is None:
        # e.g. a mirror file the primary has not cached yet: it fetches it; the record follows
        return _through_primary(request, replication, relpath)
    inline = filename.endswith(".metadata") and entry.get("metadata") is not None
    if not inline and not request.app.storage.blobs.exists(sha256):
        replication.files.fetch(sha256)
    return file_response(request, entry, sha256, filename)


def _through_primary(request, replication, relpath: str):
    """Have the primary fetch the file (e.g. from its mirror's upstream), then copy it here."""
    url = f"{replication.primary_url}/{relpath}"
    fetched = replication.session.get(url, headers=replication.headers(), stream=True, timeout=(5, 300))
    with fetched:
        if fetched.status_code == 404:
            raise NotFound("no such file")
        if fetched.status_code != 200:
            raise UpstreamError(f"the primary answered {fetched.status_code} for {relpath}")
        for _ in fetched.iter_content(1 << 16):
            pass  # the primary stores the file while sending it; the copy comes verified below
    # now cached there: its metadata answer carries the serial that recorded it
    meta = replication.session.get(url, headers={"Accept": "application/json", **replication.headers()},
                                   timeout=(5, 60))
    serial = meta.headers.get("X-Devpi-Serial", "")
    if meta.status_code != 200 or not serial.isdigit():
        raise UpstreamError(f"the primary did not record {relpath}")
    request.app.wait_for_serial(int(serial), 30)
    with request.app.storage.read() as tx:
        try:
            entry, sha256, filename = lookup_file(tx, relpath)
        except NotFound:
            raise UpstreamError(f"{relpath} did not arrive from the primary in time") from None
    replication.files.fetch(sha256)
    return file_response(request, entry, sha256, filename)
