"""Content negotiation: installers, PEP 691 simple formats, JSON API requests."""

import functools
import re

from webob.acceptparse import create_accept_header

from satchel.errors import NotAcceptable

# devpi's rule: an installer's User-Agent names one of these tools (anchored at the start)
INSTALLER_UA = re.compile(r"([^ ]* )*(distribute|setuptools|pip|pex|uv)/")

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
# equal q-values: plain HTML first, as devpi and PyPI answer
SIMPLE_OFFERS = [TEXT_HTML, SIMPLE_HTML, SIMPLE_JSON]
_LATEST = {"application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
           "application/vnd.pypi.simple.latest+html": SIMPLE_HTML}


def is_installer_agent(request) -> bool:
    agent = request.user_agent
    return bool(agent) and INSTALLER_UA.match(agent) is not None


def asks_simple_api(request) -> bool:
    """An installer: its User-Agent, or an Accept naming a PEP 691 simple media type."""
    accept = request.headers.get("Accept", "")
    return "application/vnd.pypi.simple." in accept or is_installer_agent(request)


def wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def simple_media_type(request) -> str:
    """The media type of a simple page: ``?format=`` first, then Accept (PEP 691)."""
    requested = request.GET.get("format")
    if requested:
        requested = _LATEST.get(requested, requested)
        if requested not in SIMPLE_OFFERS:
            raise NotAcceptable(f"unsupported format {requested!r}; use one of {', '.join(SIMPLE_OFFERS)}")
        return requested
    return negotiate_accept(request.headers.get("Accept", ""))


@functools.lru_cache(maxsize=512)
def negotiate_accept(accept: str) -> str:
    """Best simple media type for an Accept header; HTML when nothing matches."""
    if not accept:
        return TEXT_HTML
    for latest, concrete in _LATEST.items():
        accept = accept.replace(latest, concrete)
    offers = create_accept_header(accept).acceptable_offers(SIMPLE_OFFERS)
    return offers[0][0] if offers else TEXT_HTML
