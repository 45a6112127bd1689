"""Filling a devpi-compatible server through its HTTP API."""

from __future__ import annotations

import base64
import time

import requests

from fixtures import INDEX, PASSWORD, REQUIRES_PYTHON, USER, ReleaseFile

JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class FillError(RuntimeError):
    pass


def _check(resp: requests.Response, what: str) -> requests.Response:
    if not resp.ok:
        raise FillError(f"{what}: HTTP {resp.status_code} {resp.text[:300]!r}")
    return resp


def auth_header(user: str, token: str) -> dict[str, str]:
    """The X-Devpi-Auth header for a login token."""
    raw = f"{user}:{token}".encode()
    return {"X-Devpi-Auth": base64.b64encode(raw).decode()}


def login(session: requests.Session, base_url: str, user: str, password: str) -> dict[str, str]:
    """POST /+login and return the auth header for the session token."""
    resp = _check(
        session.post(f"{base_url}/+login", json={"user": user, "password": password},
                     headers=JSON_HEADERS, timeout=60),
        f"login {user}")
    token = resp.json()["result"]["password"]
    return auth_header(user, token)


def basic_auth(user: str, password: str) -> dict[str, str]:
    """HTTP Basic credentials, as twine sends them with every upload."""
    raw = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def put_json(session: requests.Session, url: str, auth: dict[str, str], data: dict,
             what: str) -> requests.Response:
    """PUT a JSON body (user or index creation); raise FillError unless 2xx."""
    return _check(session.put(url, json=data, headers={**JSON_HEADERS, **auth}, timeout=60), what)


def create_index(session: requests.Session, base_url: str, auth: dict[str, str], name: str,
                 config: dict) -> None:
    """PUT /USER/INDEX with `config` (e.g. {"bases": [...]} or a mirror config)."""
    put_json(session, f"{base_url}/{name}", auth, config, f"create index {name}")


def create_user_and_index(session: requests.Session, base_url: str) -> dict[str, str]:
    """Create USER and USER/INDEX as root; return USER's auth header."""
    root = login(session, base_url, "root", "")
    _check(session.put(f"{base_url}/{USER}", json={"password": PASSWORD},
                       headers={**JSON_HEADERS, **root}, timeout=60),
           f"create user {USER}")
    auth = login(session, base_url, USER, PASSWORD)
    _check(session.put(f"{base_url}/{USER}/{INDEX}", json={"bases": [], "volatile": True},
                       headers={**JSON_HEADERS, **auth}, timeout=60),
           f"create index {USER}/{INDEX}")
    return auth


def upload_request(session: requests.Session, base_url: str, auth: dict[str, str],
                   release: ReleaseFile, index: str = f"{USER}/{INDEX}") -> requests.PreparedRequest:
    """The multipart POST of one release file, encoded but not sent (so timing excludes encoding)."""
    request = requests.Request("POST", f"{base_url}/{index}/", data=upload_form(release),
                               files=upload_files(release), headers=auth)
    return session.prepare_request(request)


def upload_form(release: ReleaseFile) -> dict[str, str]:
    """The form fields twine sends with a wheel."""
    return {
        ":action": "file_upload",
        "name": release.project,
        "version": release.version,
        "protocol_version": "1",
        "requires_python": REQUIRES_PYTHON,
        "sha256_digest": release.sha256,
    }


def upload_files(release: ReleaseFile) -> dict[str, tuple[str, bytes, str]]:
    return {"content": (release.filename, release.content, "application/octet-stream")}


def upload_file(session: requests.Session, base_url: str, auth: dict[str, str],
                release: ReleaseFile) -> None:
    """Upload one release file the way twine/devpi-client do (multipart POST)."""
    _check(session.post(f"{base_url}/{USER}/{INDEX}/", data=upload_form(release),
                        files=upload_files(release), headers=auth, timeout=120),
           f"upload {release.filename}")


def fill_over_http(base_url: str, releases: list[ReleaseFile]) -> float:
    """Create the user and index and upload all files; return uploads per second."""
    with requests.Session() as session:
        auth = create_user_and_index(session, base_url)
        started = time.monotonic()
        for release in releases:
            upload_file(session, base_url, auth, release)
        elapsed = time.monotonic() - started
    return len(releases) / elapsed if elapsed > 0 else float("inf")
