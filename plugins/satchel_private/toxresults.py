"""Tox results (``devpi test``): JSON posted to a release file's URL, stored beside it."""

import json

from satchel.errors import BadRequest, Forbidden, NotFound
from satchel.model import keys
from satchel.model.attachments import store_toxresult
from satchel.model.indexes import require_stage
from satchel.model.projects import log_entry
from satchel.web.responses import json_response

from satchel_private.uploads import check_body_size

TOXRESULT_UPLOAD_FORBIDDEN = (
    "No permission to upload tox results. "
    "You can use the devpi test --no-upload option to skip the upload.")


def toxresult_view(request):
    """``POST /U/I/+f/...`` with a JSON body: 200 ``toxresultpath``."""
    check_body_size(request)
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    if not request.permits("toxresult_upload", stage):
        raise Forbidden(TOXRESULT_UPLOAD_FORBIDDEN)
    relpath = f"{stage.name}/+f/{match['relpath']}"
    entry = request.tx.get(keys.file(relpath))
    if entry is None or entry.get("rel", "releasefile") != "releasefile":
        raise NotFound(f"no release file found at {relpath}")
    body = request.body
    try:
        json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Bad request: could not decode json") from None
    # the original bytes are kept, as devpi does
    blob = request.app.storage.blobs.put_bytes(body)
    log = [log_entry("upload", request.identity.username, dst=stage.name)]
    link = store_toxresult(request.tx, stage, relpath, blob, log=log)
    return json_response(f"{link['path']}#sha256={blob.sha256}", "toxresultpath")
