"""Talking to the upstream index: project pages, the project list, files. One pooled session."""

import logging
import platform
from collections.abc import Iterator

import requests
from pypi_simple import ACCEPT_JSON_PREFERRED, ProjectPage
from pypi_simple.html_stream import parse_links_stream_response

from satchel import __version__
from satchel.errors import UpstreamError
from satchel.names import normalize_project

from satchel_mirror.config import split_credentials

log = logging.getLogger(__name__)
USER_AGENT = f"satchel/{__version__} (py{platform.python_version()}; {platform.system()})"
LIST_ACCEPT = "text/html, application/vnd.pypi.simple.v1+html;q=0.9, application/vnd.pypi.simple.v1+json;q=0.5"
MAX_REDIRECTS = 5


class UpstreamTimeout(UpstreamError):
    status = 504


class PageResult:
    """What a project page fetch found: ``status`` 200 (``page`` set), 304 or 404."""

    def __init__(self, status: int, page: ProjectPage | None = None, etag: str | None = None,
                 serial: int = -1):
        self.status, self.page, self.etag, self.serial = status, page, etag, serial


class Upstream:
    """An upstream simple index at ``base_url`` (credentials in it are sent as Basic auth)."""

    def __init__(self, session: requests.Session, base_url: str, timeout: float, auth_header=None):
        self.session = session
        self.base_url, credentials = split_credentials(base_url)
        self.auth = credentials
        self.auth_header = auth_header  # from the satchel_mirror_upstream_auth hook
        self.timeout = timeout

    def _get(self, url: str, headers: dict, stream: bool = False, timeout: float | None = None):
        headers = {"User-Agent": USER_AGENT, **headers}
        if self.auth_header:
            headers["Authorization"] = self.auth_header
        try:
            return self.session.get(url, headers=headers, auth=None if self.auth_header else self.auth,
                                    stream=stream, timeout=timeout or self.timeout, allow_redirects=True)
        except requests.Timeout:
            raise UpstreamTimeout(f"upstream timed out: {url}") from None
        except requests.TooManyRedirects:
            raise UpstreamError(f"upstream redirects too often: {url}") from None
        except requests.RequestException as exc:
            raise UpstreamError(f"upstream unreachable: {url}: {type(exc).__name__}") from None

    def project_page(self, project: str, etag: str | None = None) -> PageResult:
        url = f"{self.base_url}{project}/"
        headers = {"Accept": ACCEPT_JSON_PREFERRED}
        if etag:
            headers["If-None-Match"] = etag
        response = self._get(url, headers)
        with response:
            if response.status_code == 304:
                return PageResult(304, etag=etag)
            if response.status_code == 404:
                return PageResult(404)
            if response.status_code != 200:
                raise UpstreamError(f"upstream answered {response.status_code} for {url}")
            try:
                page = ProjectPage.from_response(response, project)
            except Exception as exc:  # pypi-simple raises many kinds on garbage
                raise UpstreamError(f"upstream sent an unreadable page for {url}: {exc}") from None
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
        response = self._get(url, {"Accept": "*/*"}, stream=True)
        if response.status_code != 200:
            response.close()
            raise UpstreamError(f"upstream answered {response.status_code} for {url}")
        return response


def _serial(value: str | None) -> int:
    try:
        return int(value) if value is not None else -1
    except ValueError:
        return -1


def _names_of(response: requests.Response) -> Iterator[str]:
    """Normalized project names from an HTML (streamed) or JSON project list."""
    with response:
        content_type = response.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                data = response.json()
                projects = data["projects"]
            except (ValueError, KeyError, TypeError):
                raise UpstreamError("upstream sent an unreadable project list") from None
            for entry in projects:
                if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                    yield normalize_project(entry["name"])
            return
        for link in parse_links_stream_response(response):
            name = link.text.strip() or link.url.rstrip("/").rsplit("/", 1)[-1]
            if name:
                yield normalize_project(name)
