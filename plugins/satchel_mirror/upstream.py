"""Talking to the upstream index: project pages, the project list, files. One pooled session."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import requests

from satchel import __version__
from satchel.errors import UpstreamError
from satchel.names import normalize_project

from satchel_mirror.anchors import anchor_names
from satchel_mirror.config import split_credentials

if TYPE_CHECKING:  # imported where used: see links.py
    from pypi_simple import ProjectPage

log = logging.getLogger(__name__)
USER_AGENT = f"satchel/{__version__} (py{platform.python_version()}; {platform.system()})"
LIST_ACCEPT = "text/html, application/vnd.pypi.simple.v1+html;q=0.9, application/vnd.pypi.simple.v1+json;q=0.5"
MAX_REDIRECTS = 5
MAX_PAGE_BYTES = 64 << 20  # PyPI's biggest project pages are a few MB
CHUNK = 1 << 16
_HTML_MARKERS = (b"<!doctype", b"<html", b"<head", b"<body", b"<a ", b"<meta")


class UpstreamTimeout(UpstreamError):
    status = 504


class UpstreamDown(UpstreamError):
    """Upstream could not be reached, broke the connection or answered 5xx: the mirror backs off."""


class PageResult:
    """What a project page fetch found: ``status`` 200 (``page`` set), 304 or 404."""

    def __init__(self, status: int, page: ProjectPage | None = None, etag: str | None = None,
                 serial: int = -1):
        self.status, self.page, self.etag, self.serial = status, page, etag, serial


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def page_deadline(timeout: float) -> float:
    """How long reading one project page may take at most (an endless body is cut then)."""
    return max(6 * timeout, 3.0)


class Upstream:
    """An upstream simple index at ``base_url`` (credentials in it are sent as Basic auth).

    Credentials (from the URL or the ``satchel_mirror_upstream_auth`` hook) are only sent to the
    upstream's own origin, never to another host that serves its files.
    """

    def __init__(self, session: requests.Session, base_url: str, timeout: float, auth_header=None):
        self.session = session
        base_url, credentials = split_credentials(base_url)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.auth = credentials
        self.auth_header = auth_header  # from the satchel_mirror_upstream_auth hook
        self.timeout = timeout
        self.origin = origin(self.base_url)

    @property
    def has_credentials(self) -> bool:
        return bool(self.auth or self.auth_header)

    def _get(self, url: str, headers: dict, stream: bool = False, timeout: float | None = None):
        headers = {"User-Agent": USER_AGENT, **headers}
        auth = None
        if origin(url) == self.origin:
            if self.auth_header:
                headers["Authorization"] = self.auth_header
            else:
                auth = self.auth
        try:
            return self.session.get(url, headers=headers, auth=auth, stream=stream,
                                    timeout=timeout or self.timeout, allow_redirects=True)
        except requests.Timeout:
            raise UpstreamTimeout(f"upstream timed out: {url}") from None
        except requests.TooManyRedirects:
            raise UpstreamError(f"upstream redirects too often: {url}") from None
        except requests.RequestException as exc:
            raise UpstreamDown(f"upstream unreachable: {url}: {type(exc).__name__}") from None

    def project_page(self, project: str, etag: str | None = None) -> PageResult:
        from pypi_simple import ACCEPT_JSON_PREFERRED, ProjectPage

        url = f"{self.base_url}{project}/"
        headers = {"Accept": ACCEPT_JSON_PREFERRED}
        if etag:
            headers["If-None-Match"] = etag
        # the socket may wait longer than --request-timeout: past that, requests are answered from the
        # cache while this fetch finishes in the background
        response = self._get(url, headers, stream=True, timeout=page_deadline(self.timeout))
        with response:
            if response.status_code == 304:
                return PageResult(304, etag=etag)
            if response.status_code == 404:
                return PageResult(404)
            if response.status_code != 200:
                error = UpstreamDown if response.status_code >= 500 else UpstreamError
                raise error(f"upstream answered {response.status_code} for {url}")
            body = read_limited(response, url, page_deadline(self.timeout), MAX_PAGE_BYTES)
            content_type = response.headers.get("Content-Type", "text/html").split(";")[0].strip().lower()
            # an empty page is a project without files (simple indexes answer so, often with no Content-Type)
            if content_type in ("text/html", "application/vnd.pypi.simple.v1+html") \
                    and body.strip() and not looks_like_html(body):
                raise UpstreamError(f"upstream sent an unreadable page for {url}: not HTML")
            response._content = body  # parsed by pypi-simple as if read normally
            try:
                page = ProjectPage.from_response(response, project)
            except Exception as exc:  # pypi-simple raises many kinds on garbage
                raise UpstreamError(f"upstream sent an unreadable page for {url}: "
                                    f"{type(exc).__name__}: {str(exc)[:200]}") from None
            serial = _serial(response.headers.get("X-PYPI-LAST-SERIAL"))
            return PageResult(200, page, response.headers.get("ETag"), serial)

    def project_names(self, etag: str | None = None) -> tuple[int, Iterator[str] | None, str | None]:
        """``(status, normalized names (streamed), etag)``; names is None on 304."""
        headers = {"Accept": LIST_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        response = self._get(self.base_url, headers, stream=True, timeout=max(self.timeout, 30))
        if response.status_code == 304:
            response.close()
            return 304, None, etag
        if response.status_code != 200:
            response.close()
            raise UpstreamError(f"upstream answered {response.status_code} for the project list")
        return 200, _names_of(response), response.headers.get("ETag")

    def open_file(self, url: str) -> requests.Response:
        response = self._get(url, {"Accept": "*/*"}, stream=True, timeout=page_deadline(self.timeout))
        if response.status_code != 200:
            response.close()
            # devpi's wording, which clients and scripts look for
            raise UpstreamError(f"error {response.status_code} getting {url}")
        return response


def read_limited(response: requests.Response, url: str, deadline: float, max_bytes: int) -> bytes:
    """The whole body, or UpstreamError when it is too big, too slow or cut short."""
    stop = time.monotonic() + deadline
    parts, size = [], 0
    try:
        for chunk in response.iter_content(CHUNK):
            parts.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise UpstreamError(f"upstream answer too big (over {max_bytes} bytes): {url}")
            if time.monotonic() > stop:
                raise UpstreamTimeout(f"upstream answer took longer than {deadline:.1f}s: {url}")
    except requests.RequestException as exc:
        raise UpstreamDown(f"upstream connection broke: {url}: {type(exc).__name__}") from None
    return b"".join(parts)


def looks_like_html(body: bytes) -> bool:
    head = body[:4096].lower()
    return any(marker in head for marker in _HTML_MARKERS)


def _serial(value: str | None) -> int:
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


def _html_chunks(response: requests.Response) -> Iterator[bytes]:
    """The body in chunks; the first must look like HTML (garbage is refused, not parsed as 0 names)."""
    first = True
    try:
        for chunk in response.iter_content(CHUNK):
            if first and chunk:
                if not looks_like_html(chunk):
                    raise UpstreamError("upstream sent an unreadable project list: not HTML")
                first = False
            yield chunk
    except requests.RequestException as exc:
        raise UpstreamError(f"upstream connection broke during the project list: {type(exc).__name__}") \
            from None


def _names_of(response: requests.Response) -> Iterator[str]:
    """Normalized project names from an HTML (streamed) or JSON project list."""
    with response:
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                data = response.json()
                projects = data["projects"]
            except (ValueError, KeyError, TypeError, requests.RequestException):
                raise UpstreamError("upstream sent an unreadable project list") from None
            if not isinstance(projects, list):
                raise UpstreamError("upstream sent an unreadable project list") from None
            for entry in projects:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    yield normalize_project(entry["name"])
            return
        try:
            for name in anchor_names(_html_chunks(response), response.encoding):
                yield normalize_project(name)
        except UpstreamError:
            raise
        except Exception as exc:  # garbage that got past the first chunk's check
            raise UpstreamError(f"upstream sent an unreadable project list: {type(exc).__name__}") from None
