"""The request cycle: route, open a transaction, check permission, run the view, add headers."""

import gzip
import json
import logging
import time
from contextlib import contextmanager
from functools import cached_property
from urllib.parse import urlsplit

import webob

from satchel import __version__
from satchel.errors import AuthenticationRequired, BadRequest, Forbidden, SatchelError, Unauthorized
from satchel.identity import ANONYMOUS, Identity
from satchel.metrics import instruments
from satchel.model.indexes import get_stage
from satchel.web import bodies
from satchel.web.pagecache import GZIP_LEVEL, accepts_gzip
from satchel.web.responses import JSON_TYPE, error_response

log = logging.getLogger(__name__)
# granted when no plugin has an opinion: reading is open, writing needs an auth plugin
OPEN_PERMISSIONS = frozenset({"read", "pkg_read", "user_login"})
GZIP_JSON_MIN_BYTES = 8192  # JSON answers from this size on go gzipped to clients accepting it
# reads below /U/I/ need read access to the index; its +api only tells URLs, which devpi-client needs first
UNCHECKED_INDEX_ROUTES = frozenset({"api_index"})
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "PUSH", "OPTIONS"})


def may_carry_credentials(environ) -> bool:
    """A request without these headers is anonymous without asking ``satchel_get_credentials``."""
    return "HTTP_AUTHORIZATION" in environ or "HTTP_X_DEVPI_AUTH" in environ or "HTTP_COOKIE" in environ


class Request(webob.Request):
    """A WebOb request carrying the app, the route match and the transaction (``tx``)."""

    app = None
    tx = None
    route = None
    matchdict: dict = {}
    commit_serial: int | None = None
    fast_page = None  # (request key, clock) when the page cache may remember this answer

    @contextmanager
    def write(self):
        """A write transaction of its own, for views of ``own_transaction`` routes.

        The request's read snapshot (``request.tx``) is renewed around it where the backend allows:
        an old snapshot held across commits would keep SQLite from ever resetting its WAL.
        """
        if self.tx is not None:
            self.tx.release()
        try:
            with self.app.storage.write() as tx:
                yield tx
        finally:
            if self.tx is not None:
                self.tx.renew()
        if tx.changes:
            self.commit_serial = tx.serial + 1

    @cached_property
    def credentials(self) -> tuple[str, str] | None:
        """``(username, secret)`` the request carries, or None."""
        return self.app.hook.satchel_get_credentials(request=self) or None

    @cached_property
    def identity(self) -> Identity:
        """Who sent the request (``satchel_authenticate``); anonymous without valid credentials. Computed once."""
        if self.credentials is None:
            return ANONYMOUS
        username, secret = self.credentials
        identity = self.app.hook.satchel_authenticate(request=self, username=username, secret=secret)
        return identity or ANONYMOUS

    def permits(self, permission: str, context=None) -> bool:
        """Whether ``identity`` has ``permission`` on ``context`` (``satchel_permits``; with no opinion, read only)."""
        answer = self.app.hook.satchel_permits(request=self, identity=self.identity, permission=permission,
                                               context=context)
        if answer is None:
            return permission in OPEN_PERMISSIONS
        return bool(answer)

    def require(self, permission: str, context=None, message: str | None = None) -> None:
        """Raise 401 for anonymous callers, 403 for known ones, unless permitted."""
        if self.permits(permission, context):
            return
        if self.identity.is_anonymous:
            raise Unauthorized(message or f"authentication required for {permission}")
        raise Forbidden(message or f"user '{self.identity.username}' has no permission {permission}")

    def json_object(self) -> dict:
        """The request body as a JSON object, or 400."""
        try:
            data = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("Bad request: could not decode json") from None
        if not isinstance(data, dict):
            raise BadRequest("Bad request: expected a JSON object")
        return data

    @cached_property
    def base_url(self) -> str:
        """The public URL of the server root, without trailing slash."""
        outside = self.headers.get("X-Outside-Url") or self.app.config.get("outside_url")
        if outside:
            return outside.rstrip("/")
        return self.host_url + self.script_name

    @cached_property
    def path_prefix(self) -> str:
        """The public path of the server root (from the outside URL), without trailing slash."""
        return urlsplit(self.base_url).path.rstrip("/")


class WSGIApplication:
    """One per App; waitress (or WebTest) calls it."""

    def __init__(self, app):
        self.app = app
        self._static_headers: tuple[str, list] = ("", [])

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        if not may_carry_credentials(environ):
            # an anonymous request for a page in the page cache: answered without a request object
            found = self.app.router.match_plain(environ)
            cached = getattr(found[0].view, "cached_answer", None) if found is not None else None
            if cached is not None:
                answer, _ = cached(environ, self.app)
                if answer is not None:
                    return self._answer_hit(found[0], environ, answer, started, start_response)
        request = Request(environ)
        request.app = self.app
        serial = None
        try:
            route, matchdict = self.app.router.match(request)
            request.route, request.matchdict = route, matchdict
            cached = getattr(route.view, "cached_answer", None)
            if cached is not None:
                # no storage snapshot, no view for a hit; credentials can narrow rights (an upload-only
                # token), so a request carrying any gets the hit only when they come to nothing
                answer, request.fast_page = cached(environ, self.app)
                if answer is not None and (not may_carry_credentials(environ) or request.credentials is None):
                    return self._answer_hit(route, environ, answer, started, start_response)
            storage = self.app.storage
            if route.write:
                with storage.write() as tx:
                    request.tx = tx
                    response = self._run(request, route)
                    view_done = time.perf_counter()
                if tx.changes:
                    instruments(self.app).observe("satchel_storage_commit_duration_seconds",
                                                  time.perf_counter() - view_done)
                serial = tx.serial + 1 if tx.changes else tx.serial
            else:
                with storage.read() as tx:
                    request.tx = tx
                    response = self._run(request, route)
                serial = tx.serial if request.commit_serial is None else request.commit_serial
        except SatchelError as exc:
            response = error_response(request, exc.status, exc.message)
            response.headers.update(getattr(exc, "headers", {}))
        except Exception:
            log.exception("error while serving %s %s", request.method, request.path_qs)
            response = error_response(request, 500, "internal server error")
        self._add_headers(response, serial)
        _compress_large_json(request, response)
        self._count(request.route, request.method, response.status_int, started)
        return response(environ, start_response)

    def _answer_hit(self, route, environ, answer, started: float, start_response):
        status, headers, body, serial = answer
        headers += self._devpi_headers(serial)
        self._count(route, environ.get("REQUEST_METHOD"), int(status[:3]), started)
        start_response(status, headers)
        return bodies.app_iter(environ, body)

    def _count(self, route, method: str, status: int, started: float) -> None:
        """Requests by route name (never the raw path: no user or project names in labels)."""
        found = instruments(self.app)
        if found.sink is None:
            return
        route = route.name if route is not None else "unmatched"
        method = method if method in KNOWN_METHODS else "other"
        found.inc("satchel_http_requests_total", route=route, method=method, status=str(status))
        found.observe("satchel_http_request_duration_seconds", time.perf_counter() - started, route=route,
                      method=method)

    def _run(self, request, route):
        if route.permission is not None:
            request.require(route.permission, context=request.matchdict)
        self._check_index_read(request, route)
        return route.view(request)

    def _check_index_read(self, request, route):
        """Every read of an existing index (pages, files, JSON, docs, plugin routes) needs ``pkg_read`` on it.

        Checked before the view, so cached pages and their ETags never reach someone who may not read.
        """
        match = request.matchdict
        if request.method not in ("GET", "HEAD") or "index" not in match or route.name in UNCHECKED_INDEX_ROUTES:
            return
        stage = get_stage(request.tx, self.app, match["user"], match["index"])
        if stage is None or request.permits("pkg_read", stage):
            return
        if request.identity.is_anonymous:
            raise AuthenticationRequired(f"authentication required to read {stage.name}")
        raise Forbidden(f"user '{request.identity.username}' may not read {stage.name} (acl_read)")

    def _devpi_headers(self, serial: int) -> list[tuple[str, str]]:
        """devpi's headers of every answer; all but the serial prepared once per node uuid."""
        uuid = self.app.node_uuid
        known, static = self._static_headers
        if known != uuid:
            static = [("X-Devpi-Api-Version", "2"), ("X-Devpi-Server-Version", __version__),
                      ("X-Satchel-Version", __version__), ("X-Devpi-Uuid", uuid),
                      ("X-Devpi-Primary-Uuid", uuid), ("X-Devpi-Master-Uuid", uuid)]
            self._static_headers = (uuid, static)
        return static + [("X-Devpi-Serial", str(serial))]

    def _add_headers(self, response, serial):
        headers = response.headers
        for name, value in self._devpi_headers(self.app.storage.last_serial() if serial is None else serial):
            headers[name] = value


def _compress_large_json(request, response) -> None:
    """gzip a large JSON answer when the client accepts it, compressed once per answer; files and streams
    (anything whose body is not a list) are left alone. A HEAD gets the headers its GET would."""
    if response.content_type != JSON_TYPE or "Content-Encoding" in response.headers \
            or not isinstance(response.app_iter, list) or request.method not in ("GET", "HEAD"):
        return
    body = response.body
    if len(body) < GZIP_JSON_MIN_BYTES:
        return
    response.headers["Vary"] = ", ".join(filter(None, [response.headers.get("Vary"), "Accept-Encoding"]))
    if accepts_gzip(request.environ.get("HTTP_ACCEPT_ENCODING", "")):
        response.body = gzip.compress(body, GZIP_LEVEL, mtime=0)
        response.headers["Content-Encoding"] = "gzip"
        if response.etag:
            response.etag = response.etag + "-gzip"


class MiddlewareStack:
    """What ``satchel_add_middleware(stack)`` receives: ordered WSGI wrappers; ``stack.app`` is the App."""

    def __init__(self, app=None):
        self.app = app
        self._entries: list[tuple[int, str, object]] = []

    def add(self, name: str, factory, order: int = 100) -> None:
        """Register ``factory(wsgi_app) -> wsgi_app`` under a unique ``name``; lower ``order`` wraps closer to the app."""
        if any(entry[1] == name for entry in self._entries):
            raise ValueError(f"middleware {name!r} is already registered")
        self._entries.append((order, name, factory))

    def names(self) -> list[str]:
        """The registered names, innermost first."""
        return [name for _, name, _ in sorted(self._entries, key=lambda e: e[0])]

    def wrap(self, wsgi_app):
        """``wsgi_app`` wrapped by every registered factory, innermost (lowest order) first."""
        for _, _, factory in sorted(self._entries, key=lambda e: e[0]):
            wsgi_app = factory(wsgi_app)
        return wsgi_app
