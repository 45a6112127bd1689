"""Response helpers: devpi's JSON envelope and error pages."""

import html
import json

from webob import Response

JSON_TYPE = "application/json"


def json_response(result=None, type: str | None = None, message: str | None = None,
                  status: int = 200, extra: dict | None = None) -> Response:
    """``{"result", "type", "message"}`` with ``Content-Type: application/json`` and no charset."""
    body: dict = {}
    if type is not None:
        body["result"] = result
        body["type"] = type
    if message is not None:
        body["message"] = message
    if extra:
        body.update(extra)
    return raw_json_response(body, status)


def raw_json_response(body, status: int = 200) -> Response:
    data = (json.dumps(body, indent=2) + "\n").encode("utf-8")
    response = Response(status=status, body=data)
    # devpi-client compares the content type literally, so no charset parameter
    response.headers["Content-Type"] = JSON_TYPE
    return response


def error_response(request, status: int, message: str) -> Response:
    """JSON ``{"message"}`` unless the client asked for HTML and not for JSON."""
    accept = request.headers.get("Accept", "")
    if "text/html" in accept and "json" not in accept:
        text = html.escape(message)
        page = f"<!DOCTYPE html><html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
        response = Response(status=status, body=page.encode("utf-8"))
        response.content_type = "text/html"
        response.charset = "UTF-8"
        return response
    return json_response(message=message, status=status)


def redirect(location: str, status: int = 302, vary: str | None = None) -> Response:
    response = Response(status=status)
    response.location = location
    if vary:
        response.headers["Vary"] = vary
    return response
