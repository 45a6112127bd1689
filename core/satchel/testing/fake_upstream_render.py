"""Page and file rendering of the fake upstream index (PEP 503 HTML, PEP 691/700/740/792 JSON, PEP 658).

The server, request log and fault injection live in ``satchel.testing.fake_upstream``; this module holds
what a healthy upstream answers.
"""

import dataclasses
import hashlib
import html
import io
import json
import zipfile
from urllib.parse import quote

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from webob import Request, Response

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# Ties (``*/*``, no Accept header) go to the first offer, so plain HTML wins them, as on PyPI.
_OFFERS = {TEXT_HTML: TEXT_HTML, HTML_V1: HTML_V1, "application/vnd.pypi.simple.latest+html": HTML_V1,
           JSON_V1: JSON_V1, "application/vnd.pypi.simple.latest+json": JSON_V1}


@dataclasses.dataclass
class FakeFile:
    """A release file of the fake upstream; ``path``/``url`` is where it is served."""

    project: str
    filename: str
    content: bytes
    requires_python: str | None = None
    yanked: bool | str = False
    metadata: bytes | None = None
    upload_time: str | None = None
    hash: bool = True
    provenance: bytes | None = None
    version: str | None = None
    upstream: "PageRenderer | None" = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def metadata_sha256(self) -> str | None:
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    @property
    def path(self) -> str:
        return f"/files/{self.sha256[:16]}/{self.filename}"

    @property
    def url(self) -> str:
        """Absolute URL of the file (the upstream must have been started once)."""
        return self.upstream.origin + quote(self.path)


@dataclasses.dataclass
class _Project:
    name: str
    serial: int
    status: str | None = None
    status_reason: str | None = None
    files: dict = dataclasses.field(default_factory=dict)  # filename -> FakeFile


class PageRenderer:
    """What the fake upstream answers when nothing is wrong (mixed into ``FakeUpstream``).

    Expects ``_projects``, ``_cache``, ``_lock``, ``serial``, ``relative_urls``, ``api_version`` and ``origin``.
    """

    def _answer(self, req: Request, media_type: str | None = None) -> Response:
        path = req.path_info
        if path == "/simple/":
            return self._page(req, None, media_type)
        if path.startswith("/simple/"):
            name = path[len("/simple/"):].rstrip("/")
            if not name or "/" in name:
                return _text(404, "not found")
            if name != canonicalize_name(name) or not path.endswith("/"):
                query = f"?{req.query_string}" if req.query_string else ""
                return Response(status=301, location=f"/simple/{canonicalize_name(name)}/{query}")
            return self._page(req, name, media_type)
        if path.startswith("/files/"):
            return self._file(path)
        return _text(404, "not found")

    def _page(self, req: Request, name: str | None, media_type: str | None) -> Response:
        media_type = media_type or _negotiate(req)
        with self._lock:
            if name is not None and name not in self._projects:
                return _text(404, f"project {name} not found")
            key = (name, media_type)
            if key not in self._cache:
                as_json = media_type == JSON_V1
                body = self._render_list(as_json) if name is None else self._render_project(name, as_json)
                serial = self.serial if name is None else self._projects[name].serial
                self._cache[key] = (body, serial, _etag(body))
            body, serial, etag = self._cache[key]
        charset = "utf-8" if media_type == TEXT_HTML else None
        resp = Response(body=body, content_type=media_type, charset=charset)
        resp.headers["X-PyPI-Last-Serial"] = str(serial)
        resp.headers["Vary"] = "Accept"
        resp.headers["ETag"] = etag
        return resp

    def _render_list(self, as_json: bool) -> bytes:
        projects = sorted(self._projects.items())
        if as_json:
            return _json({"meta": {"api-version": self.api_version, "_last-serial": self.serial},
                          "projects": [{"name": p.name, "_last-serial": p.serial} for _, p in projects]})
        links = "".join(f'    <a href="{"" if self.relative_urls else "/simple/"}{quote(key)}/">'
                        f"{html.escape(p.name)}</a>\n" for key, p in projects)
        return (f'<!DOCTYPE html>\n<html>\n  <head>\n{self._html_meta()}    <title>Simple index</title>\n'
                f"  </head>\n  <body>\n{links}  </body>\n</html>\n<!--SERIAL {self.serial}-->\n").encode()

    def _render_project(self, name: str, as_json: bool) -> bytes:
        project = self._projects[name]
        files = sorted(project.files.values(), key=lambda f: f.filename)
        if as_json:
            data = {"meta": {"api-version": self.api_version, "_last-serial": project.serial},
                    "name": name, "files": [self._file_json(f) for f in files],
                    "versions": _sorted_versions({f.version for f in files if f.version})}
            if project.status:
                data["project-status"] = {"status": project.status, "reason": project.status_reason}
            return _json(data)
        links = "".join(self._file_html(f) for f in files)
        return (f"<!DOCTYPE html>\n<html>\n  <head>\n{self._html_meta(project)}"
                f"    <title>Links for {html.escape(name)}</title>\n  </head>\n  <body>\n"
                f"    <h1>Links for {html.escape(name)}</h1>\n{links}  </body>\n</html>\n"
                f"<!--SERIAL {project.serial}-->\n").encode()

    def _html_meta(self, project: _Project | None = None) -> str:
        meta = f'    <meta name="pypi:repository-version" content="{html.escape(self.api_version)}">\n'
        if project is not None and project.status:
            meta += f'    <meta name="pypi:project-status" content="{html.escape(project.status)}">\n'
            if project.status_reason:
                meta += (f'    <meta name="pypi:project-status-reason" '
                         f'content="{html.escape(project.status_reason)}">\n')
        return meta

    def _file_href(self, file: FakeFile) -> str:
        return ("../.." + quote(file.path)) if self.relative_urls else file.url

    def _file_json(self, file: FakeFile) -> dict:
        core = False
        if file.metadata is not None:
            core = {"sha256": file.metadata_sha256} if file.hash else True
        return {"filename": file.filename, "url": self._file_href(file),
                "hashes": {"sha256": file.sha256} if file.hash else {},
                "requires-python": file.requires_python, "yanked": file.yanked,
                "core-metadata": core, "data-dist-info-metadata": core, "size": len(file.content),
                "upload-time": file.upload_time,
                "provenance": file.url + ".provenance" if file.provenance is not None else None}

    def _file_html(self, file: FakeFile) -> str:
        href = self._file_href(file) + (f"#sha256={file.sha256}" if file.hash else "")
        attrs = f' href="{html.escape(href)}"'
        if file.requires_python is not None:
            attrs += f' data-requires-python="{html.escape(file.requires_python)}"'
        if file.yanked is not False:
            reason = "" if file.yanked is True else file.yanked
            attrs += f' data-yanked="{html.escape(reason)}"'
        if file.metadata is not None:
            value = f"sha256={file.metadata_sha256}" if file.hash else "true"
            attrs += f' data-dist-info-metadata="{value}" data-core-metadata="{value}"'
        if file.provenance is not None:
            attrs += f' data-provenance="{html.escape(file.url + ".provenance")}"'
        return f"    <a{attrs}>{html.escape(file.filename)}</a><br />\n"

    def _file(self, path: str) -> Response:
        with self._lock:
            if "paths" not in self._cache:
                self._cache["paths"] = {f.path: f for p in self._projects.values() for f in p.files.values()}
            paths = self._cache["paths"]
        if path in paths:
            return _binary(paths[path].content)
        base, _, suffix = path.rpartition(".")
        file = paths.get(base)
        if file is not None and suffix == "metadata" and file.metadata is not None:
            return _binary(file.metadata)
        if file is not None and suffix == "provenance" and file.provenance is not None:
            return _binary(file.provenance, "application/json")
        return _text(404, "file not found")

    def _conditional(self, req: Request, resp: Response) -> Response:
        if resp.status_int != 200 or req.method not in ("GET", "HEAD"):
            return resp
        etag = resp.headers.setdefault("ETag", _etag(resp.body))
        wanted = req.headers.get("If-None-Match")
        tags = [tag.strip().removeprefix("W/") for tag in (wanted or "").split(",")]
        if wanted and (wanted.strip() == "*" or etag in tags):
            not_modified = Response(status=304)
            not_modified.headers.pop("Content-Type", None)
            for header in ("ETag", "X-PyPI-Last-Serial", "Vary"):
                if header in resp.headers:
                    not_modified.headers[header] = resp.headers[header]
            return not_modified
        return resp


def _negotiate(req: Request) -> str:
    wanted = req.GET.get("format")
    if wanted in _OFFERS:
        return _OFFERS[wanted]
    offers = req.accept.acceptable_offers(list(_OFFERS))
    return _OFFERS[offers[0][0]] if offers else TEXT_HTML


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain", charset="utf-8")


def _binary(data: bytes, content_type: str = "application/octet-stream") -> Response:
    return Response(body=data, content_type=content_type, charset=None)


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _json(data) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _filename_version(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def _sorted_versions(versions) -> list[str]:
    def key(version):
        try:
            return (1, Version(version), version)
        except InvalidVersion:
            return (0, Version("0"), version)
    return sorted(versions, key=key)


def _wheel_metadata(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return archive.read(name)
    raise ValueError("metadata=True needs a wheel with a *.dist-info/METADATA member")
