"""``--metrics-allow``: CIDRs and ``:AUTHENTICATED:``."""

import ipaddress

from satchel.errors import AuthenticationRequired, Forbidden

AUTHENTICATED = ":AUTHENTICATED:"


def parse_allow(spec: str | None):
    """``(networks, authenticated allowed)`` or None for everyone; ValueError on a bad entry."""
    if not spec or not spec.strip():
        return None
    networks, authenticated = [], False
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item.upper() == AUTHENTICATED:
            authenticated = True
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is neither a CIDR nor {AUTHENTICATED}") from None
    return networks, authenticated


def check_access(request) -> None:
    """403 (or 401 when logging in would help) unless the requester is allowed."""
    allowed = parse_allow(request.app.config.get("metrics_allow"))
    if allowed is None:
        return
    networks, authenticated = allowed
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        address = None
    if address is not None and any(address in network for network in networks):
        return
    if authenticated:
        if not request.identity.is_anonymous:
            return
        raise AuthenticationRequired("authentication required for /+metrics")
    raise Forbidden(f"/+metrics is not open to {request.remote_addr} (--metrics-allow)")
