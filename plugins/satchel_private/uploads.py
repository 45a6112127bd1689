"""The legacy upload API (``POST /U/I/`` multipart with ``:action``), as twine and devpi-client use it.

Checks run on a read snapshot; the file is streamed into the blob store outside the write lock,
then one short write transaction re-checks what may have changed and stores everything.
"""

from email.message import Message

from webob.request import DisconnectionError

from satchel.errors import BadRequest, Conflict, NotFound, SatchelError
from satchel.metrics import instruments
from satchel.model import keys
from satchel.model.attachments import get_doczip, store_doczip
from satchel.model.indexes import get_stage, list_versions, require_stage
from satchel.model.ordering import version_key
from satchel.model.projects import (add_release_file, get_version_metadata, log_entry,
                                    replace_version_metadata)
from satchel.names import normalize_project

from satchel_private import doczip, metadata
from satchel_private.filenames import check_release_filename, check_safe
from satchel_private.history import overwrite_log
from satchel_private.legacy import legacy_error, legacy_ok, legacy_unauthorized

FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
CHUNK_SIZE = 1 << 16
IDENTICAL = "Upload of identical file to non volatile index."


class PayloadTooLarge(SatchelError):
    status = 413


class Identical(Exception):
    """The very same file is already on a non-volatile index: success, nothing stored."""


def is_form(request) -> bool:
    return request.method == "POST" and request.content_type in FORM_TYPES


def check_body_size(request) -> None:
    """413 from the Content-Length alone, before any of the body is read."""
    limit = request.app.config.get("max_request_body_size")
    length = request.content_length
    if limit is not None and length is not None and length > limit:
        raise PayloadTooLarge(f"request body of {length} bytes is larger than the limit of {limit} bytes")


def _boundary(content_type: str) -> str | None:
    header = Message()
    header["Content-Type"] = content_type
    return header.get_param("boundary")


def read_form(request):
    """The parsed form; 400 when the body is cut short or lacks its closing boundary."""
    try:
        request.make_body_seekable()
    except DisconnectionError:
        raise BadRequest("truncated request body: fewer bytes than Content-Length announced") from None
    boundary = _boundary(request.environ.get("CONTENT_TYPE", ""))
    if request.content_type == "multipart/form-data":
        if not boundary:
            raise BadRequest("multipart body without boundary")
        body = request.body_file_raw
        body.seek(0, 2)
        end = body.tell()
        body.seek(max(0, end - len(boundary) - 8))
        tail = body.read()
        body.seek(0)
        # a body cut at a part boundary still parses: only the closing delimiter proves it whole
        if b"--" + boundary.encode("latin-1") + b"--" not in tail:
            raise BadRequest("truncated multipart body: closing boundary missing")
    return request.POST


def upload_view(request):
    """Dispatch on ``:action``: ``file_upload``, ``doc_upload`` or ``submit`` (register)."""
    try:
        check_body_size(request)
        stage = require_stage(request.tx, request.app, request.matchdict["user"], request.matchdict["index"])
        if not stage.index_type.accepts_uploads:
            raise NotFound("cannot submit to mirror index")
        if not request.permits("upload", stage):
            if request.identity.is_anonymous:
                return legacy_unauthorized(request)
            return legacy_error(request, 403, "no permission to submit")
        form = read_form(request)
        action = form.get(":action")
        if not action:
            raise BadRequest("Bad request: could not decode json")
        if action == "submit":
            return register(request, stage, form)
        if action not in ("file_upload", "doc_upload"):
            raise BadRequest(f"action {action!r} not supported")
        content = form.get("content")
        if not hasattr(content, "file"):
            raise BadRequest("content file field not found")
        if action == "file_upload":
            response = upload_file(request, stage, form, content)
            instruments(request.app).inc("satchel_uploads_total", index_type=stage.index_type.name)
            return response
        return upload_doczip(request, stage, form, content)
    except Identical:
        return legacy_ok(IDENTICAL)
    except SatchelError as exc:
        return legacy_error(request, exc.status, exc.message)


def register(request, stage, form):
    data = metadata.from_form(form)
    metadata.check_metadata(data)
    with request.write() as tx:
        stage = _current_stage(request, tx, stage)
        replace_version_metadata(tx, stage, data["name"], data["version"], data)
    return legacy_ok()


def _current_stage(request, tx, stage):
    """The stage as the write transaction sees it (it may have been deleted meanwhile)."""
    current = get_stage(tx, request.app, stage.username, stage.indexname)
    if current is None:
        raise NotFound(f"The stage {stage.name} could not be found.")
    return current


def _merged_metadata(tx, stage, form) -> dict:
    """devpi's rule: a new version is registered from the whole form, a known one updated."""
    new = metadata.from_form(form, skip_missing=True)
    stored = get_version_metadata(tx, stage, normalize_project(new["name"]), new["version"])
    if not stored:
        return metadata.from_form(form)
    return {**stored, **new}


def _store_blob(request, content, filename: str):
    """Stream the uploaded file into the blob store; 400 for an empty one."""
    handle = content.file
    handle.seek(0, 2)
    if handle.tell() == 0:
        raise BadRequest(f"file {filename!r} is empty")
    size = handle.tell()
    handle.seek(0)
    blob = request.app.storage.blobs.put(iter(lambda: handle.read(CHUNK_SIZE), b""))
    instruments(request.app).inc("satchel_blob_bytes_stored_total", size, source="upload")
    return blob


def _history(request, stage, old_entry: dict | None) -> list:
    """The file's log: devpi's ``overwrite`` entry when replacing, then this upload."""
    return overwrite_log(old_entry) + [log_entry("upload", request.identity.username, dst=stage.name)]


def _check_existing(stage, existing: dict | None, sha256: str, filename: str) -> None:
    if existing is None or stage.config.get("volatile", True):
        return
    if existing["hashes"].get("sha256") == sha256:
        raise Identical()
    raise Conflict(f"{filename} already exists in non-volatile index")


def upload_file(request, stage, form, content):
    name, version = form.get("name") or "", form.get("version") or ""
    metadata.check_metadata({"name": name, "version": version})
    filename = content.filename or ""
    check_release_filename(name, version, filename)
    blob = _store_blob(request, content, filename)
    project = normalize_project(name)
    with request.write() as tx:
        stage = _current_stage(request, tx, stage)
        existing = tx.get(keys.link(stage.name, project, filename))
        _check_existing(stage, existing, blob.sha256, filename)
        old_entry = tx.get(keys.file(existing["path"])) if existing else None
        data = _merged_metadata(tx, stage, form)
        metadata.check_metadata(data)
        add_release_file(tx, request.app, stage, project=name, version=version, filename=filename,
                         blob=blob, requires_python=data.get("requires_python") or "",
                         metadata=data, log=_history(request, stage, old_entry))
    return legacy_ok()


def _doc_version(tx, stage, name: str, form) -> str:
    version = form.get("version") or ""
    if version:
        return version
    versions = list_versions(tx, stage, normalize_project(name))
    if not versions:
        raise BadRequest(f"doczip has no version and {name!r} has no releases to derive one from")
    return max(versions, key=version_key)


def upload_doczip(request, stage, form, content):
    name = form.get("name") or ""
    check_safe(content.filename or "")
    metadata.check_metadata({"name": name, "version": form.get("version") or "0"})
    doczip.check_doczip(content.file)
    blob = _store_blob(request, content, content.filename or "")
    with request.write() as tx:
        stage = _current_stage(request, tx, stage)
        version = _doc_version(tx, stage, name, form)
        metadata.check_metadata({"name": name, "version": version})
        existing = get_doczip(tx, stage, name, version)
        _check_existing(stage, existing, blob.sha256, content.filename)
        old_entry = tx.get(keys.file(existing["path"])) if existing else None
        if form.get("version"):
            data = _merged_metadata(tx, stage, form)
            replace_version_metadata(tx, stage, name, version, data)
        store_doczip(tx, stage, name, version, blob, log=_history(request, stage, old_entry))
    return legacy_ok()
