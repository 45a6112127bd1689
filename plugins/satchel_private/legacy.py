"""Responses of the legacy upload API: the message goes in the HTTP reason phrase.

twine, setuptools and devpi-client show the reason phrase of a failed upload; the body repeats
the message (JSON ``{"message"}``, or HTML when only HTML is accepted).
"""

from webob import Response

from satchel.web.responses import error_response


def reason_phrase(message: str) -> str:
    """A reason phrase must be one latin-1 line."""
    line = " ".join(message.split())
    return line.encode("latin-1", "replace").decode("latin-1")


def legacy_error(request, status: int, message: str) -> Response:
    response = error_response(request, status, message)
    response.status = f"{status} {reason_phrase(message)}"
    return response


def legacy_unauthorized(request, message: str = "authentication required") -> Response:
    """401 with a Basic challenge, so that twine retries with its credentials.

    The reason phrase is the standard ``Unauthorized`` (devpi-client shows it, and users and scripts look for
    it, as with devpi-server); the body's ``message`` says what is missing.
    """
    response = error_response(request, 401, message)
    response.status = "401 Unauthorized"
    response.headers["WWW-Authenticate"] = 'Basic realm="pypi"'
    return response


def legacy_ok(reason: str | None = None) -> Response:
    """Success as devpi answers it: 200, empty body, ``text/html; charset=UTF-8``."""
    response = Response(body=b"", content_type="text/html", charset="UTF-8")
    if reason:
        response.status = f"200 {reason_phrase(reason)}"
    return response
