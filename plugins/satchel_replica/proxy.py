"""Writes sent to a replica go to the primary; the answer waits until the replica has the result."""

import logging

import requests

log = logging.getLogger(__name__)
READ_METHODS = {"GET", "HEAD", "OPTIONS"}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "content-encoding"}
CHUNK = 1 << 20
BYTES_PER_SECOND = 10 << 20  # a slow primary still stores this much of a relayed body per second
PROXY_WAIT = 30.0  # seconds to wait for the primary's serial to arrive here


def _request_headers(environ) -> dict:
    headers = {}
    for name, value in environ.items():
        if name.startswith("HTTP_"):
            header = name[5:].replace("_", "-").title()
            if header.lower() not in HOP_BY_HOP and header.lower() != "host":
                headers[header] = value
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            headers[name.replace("_", "-").title()] = environ[name]
    return headers


def _read_timeout(proxy_timeout: float, length: int) -> float:
    """The primary answers after storing the whole body (parse, hash, write): allow for its size."""
    return proxy_timeout + length / BYTES_PER_SECOND


class RequestBody:
    """The client's body as a file of known length: relayed chunk by chunk, never held whole.

    ``__len__`` lets requests send it with ``Content-Length`` (not chunked), ``read`` lets the HTTP
    client copy it in blocks.
    """

    def __init__(self, stream, length: int):
        self.stream = stream
        self.remaining = length

    def __len__(self) -> int:
        return self.remaining

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.stream.read(min(size, CHUNK))
        if not data:
            raise ConnectionError(f"the client's body ended {self.remaining} bytes early")
        self.remaining -= len(data)
        return data

    def __iter__(self):
        return iter(lambda: self.read(CHUNK), b"")


class WriteProxy:
    """WSGI middleware: relays mutating requests to the primary."""

    def __init__(self, wsgi_app, replication):
        self.wsgi_app = wsgi_app
        self.replication = replication

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] in READ_METHODS or self.replication.role != "replica":
            return self.wsgi_app(environ, start_response)
        replication = self.replication
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        # PATH_INFO is decoded; the raw URI keeps %2B and friends as the client sent them
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or path
        if environ.get("QUERY_STRING") and "?" not in raw:
            raw += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = RequestBody(environ["wsgi.input"], length) if length else None
        try:
            response = replication.session.request(
                environ["REQUEST_METHOD"], replication.primary_url + raw, data=body,
                headers=_request_headers(environ), timeout=(5, _read_timeout(replication.proxy_timeout, length)),
                allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("replica: relaying %s %s to the primary failed: %s", environ["REQUEST_METHOD"], path, exc)
            start_response("502 Bad Gateway", [("Content-Type", "application/json")])
            return [b'{"message": "the primary could not be reached"}\n']
        if response.status_code < 400:
            serial = response.headers.get("X-Devpi-Serial", "")
            if serial.lstrip("-").isdigit():
                replication.app.wait_for_serial(int(serial), PROXY_WAIT)
        headers = [(name, value) for name, value in response.headers.items()
                   if name.lower() not in HOP_BY_HOP]
        headers = [self._rewrite_location(environ, name, value) for name, value in headers]
        headers.append(("X-Devpi-Proxy", "replica"))
        headers.append(("Content-Length", str(len(response.content))))
        start_response(f"{response.status_code} {response.reason}", headers)
        return [response.content]

    def _rewrite_location(self, environ, name: str, value: str) -> tuple[str, str]:
        primary = self.replication.primary_url
        if name.lower() == "location" and value.startswith(primary):
            scheme = environ.get("wsgi.url_scheme", "http")
            host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME")
            return name, f"{scheme}://{host}{value[len(primary):]}"
        return name, value
