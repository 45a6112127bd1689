"""Push to an external index: the legacy upload API of another server (PyPI, devpi, satchel).

Runs while the request holds only a read snapshot: no write lock is held during the HTTP calls.
"""

import requests

from satchel.errors import BadRequest
from satchel.web.responses import json_response

from satchel_private.filenames import pyversion_filetype
from satchel_private.metadata import METADATA_FIELDS

OK_CODES = (200, 201)
TIMEOUT = 60


def _form(metadata: dict, action: str, **extra) -> dict:
    form = {key: value for key, value in metadata.items() if key in METADATA_FIELDS and value not in (None, "")}
    return {**form, ":action": action, "protocol_version": "1", **extra}


def push_external(request, stage, release, options: dict):
    """POST each release file (then the doc zip) to ``posturl``; answer devpi's actionlog."""
    posturl = options.pop("posturl", None)
    username, password = options.pop("username", None), options.pop("password", None)
    register_project = bool(options.pop("register_project", False))
    if not isinstance(posturl, str) or not posturl.startswith(("http://", "https://")):
        raise BadRequest("a push needs 'targetindex' (user/index) or 'posturl' (an upload URL)")
    auth = (username or "", password or "") if username or password else None
    blobs = request.app.storage.blobs
    results: list = []
    with requests.Session() as session:
        def post(data, files=None):
            return session.post(posturl, data=data, files=files, auth=auth, timeout=TIMEOUT)

        if register_project:
            try:
                response = post(_form(release.metadata, "submit"))
            except requests.RequestException as exc:
                results.append([-1, "exception on register:", str(exc)])
                return json_response(results, "actionlog", status=502)
            results.append([response.status_code, "register", release.name, release.version])
            if response.status_code not in (*OK_CODES, 410):
                return json_response(results, "actionlog", status=502)
        for link, entry in release.files:
            pyversion, filetype = pyversion_filetype(link["filename"])
            data = _form(release.metadata, "file_upload", pyversion=pyversion, filetype=filetype,
                         sha256_digest=entry["sha256"])
            try:
                with blobs.open(entry["sha256"]) as handle:
                    response = post(data, files={"content": (link["filename"], handle)})
            except requests.RequestException as exc:
                results.append([-1, "exception on release upload:", str(exc)])
                continue
            text = "" if response.status_code in OK_CODES else (response.reason or response.text)
            results.append([response.status_code, "upload", link["path"], text])
        if release.doczip is not None:
            link, entry = release.doczip
            try:
                with blobs.open(entry["sha256"]) as handle:
                    response = post(_form(release.metadata, "doc_upload"),
                                    files={"content": (f"{release.name}.zip", handle)})
                results.append([response.status_code, "docfile", release.name])
            except requests.RequestException as exc:
                results.append([-1, "exception on documentation upload:", str(exc)])
    status = 200 if results and results[-1][0] in OK_CODES else 502
    return json_response(results, "actionlog", status=status)
