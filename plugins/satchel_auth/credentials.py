"""Credentials from a request: ``X-Devpi-Auth`` first, then HTTP Basic or Bearer (API tokens)."""

import base64
import binascii


def _decode(value: str) -> tuple[str, str] | None:
    """``user:secret``; an empty user is kept (``:TOKEN``, as API tokens may be sent) but not an empty pair."""
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, secret = text.partition(":")
    if not sep or not (username or secret):
        return None
    return username, secret


def credentials_from(headers) -> tuple[str, str] | None:
    """``(username, secret)``; when ``X-Devpi-Auth`` is present Basic is ignored, even if it is invalid."""
    devpi_auth = headers.get("X-Devpi-Auth")
    if devpi_auth is not None:
        return _decode(devpi_auth)
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic" and value:
        return _decode(value)
    if scheme.lower() == "bearer" and value.strip():
        return "", value.strip()  # an API token
    return None
