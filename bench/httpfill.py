"""Filling a devpi-compatible server through its HTTP API."""

from __future__ import annotations

import base64
import time

import requests

from fixtures import INDEX, PASSWORD, PROJECT, REQUIRES_PYTHON, USER, ReleaseFile

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


def upload_file(session: requests.Session, base_url: str, auth: dict[str, str],
                release: ReleaseFile) -> None:
    """Upload one release file the way twine/devpi-client do (multipart POST)."""
    data = {
        ":action": "file_upload",
        "name": PROJECT,
        "version": release.version,
        "protocol_version": "1",
        "requires_python": REQUIRES_PYTHON,
        "sha256_digest": release.sha256,
    }
    files = {"content": (release.filename, release.content, "application/octet-stream")}
    _check(session.post(f"{base_url}/{USER}/{INDEX}/", data=data, files=files,
                        headers=auth, timeout=120),
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
