"""Config keys of mirror indexes: defaults, input coercion, credentials kept off the wire."""

from urllib.parse import urlsplit, urlunsplit

from satchel.errors import BadRequest
from satchel.model.coerce import to_bool

from satchel_mirror.policy import POLICY_DEFAULTS, normalize_policy

MIRROR_DEFAULTS = {
    "volatile": True,
    "mirror_url": "",  # empty: PyPI (default_mirror_url)
    "mirror_cache_expiry": None,  # None: the server's --mirror-cache-expiry
    "mirror_no_project_list": False,
    "mirror_use_external_urls": False,
    "mirror_ignore_serial_header": False,
    "mirror_provides_core_metadata": False,
    **POLICY_DEFAULTS,
}
MIRROR_OPTIONAL = ("title", "description", "custom_data", "mirror_web_url_fmt")
# keys of private indexes that devpi-client may send for any index: silently dropped
IGNORED_KEYS = ("bases", "acl_upload", "acl_toxresult_upload", "mirror_whitelist",
                "mirror_whitelist_inheritance")
BOOLEAN_KEYS = ("volatile", "mirror_no_project_list", "mirror_use_external_urls",
                "mirror_ignore_serial_header", "mirror_provides_core_metadata")


def default_mirror_url() -> str:
    """PyPI's simple index: what a mirror created without ``mirror_url`` follows (as in devpi)."""
    from pypi_simple import PYPI_SIMPLE_ENDPOINT  # imported here: see links.py

    return PYPI_SIMPLE_ENDPOINT


def normalize_mirror_config(config: dict) -> dict:
    config = {key: value for key, value in config.items() if key not in IGNORED_KEYS}
    for key in BOOLEAN_KEYS:
        config[key] = to_bool(config.get(key, MIRROR_DEFAULTS[key]))
    url = str(config.get("mirror_url") or "") or default_mirror_url()
    if not url.startswith(("http://", "https://")):
        raise BadRequest("'mirror_url' option must be a URL.")
    config["mirror_url"] = url  # kept as given, as devpi does (Upstream adds the "/" it needs)
    expiry = config.get("mirror_cache_expiry")
    if expiry not in (None, ""):
        try:
            config["mirror_cache_expiry"] = int(expiry)
        except (TypeError, ValueError):
            raise BadRequest(f"'mirror_cache_expiry' must be a number of seconds, not {expiry!r}") from None
        if config["mirror_cache_expiry"] < 0:
            raise BadRequest("'mirror_cache_expiry' must not be negative")
    else:
        config["mirror_cache_expiry"] = None
    normalize_policy(config)
    for key in MIRROR_OPTIONAL:
        if not config.get(key):
            config.pop(key, None)
    return config


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``(url without user:password, (user, password) or None)``."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (parts.username or "", parts.password or "")


def masked_url(url: str) -> str:
    clean, credentials = split_credentials(url)
    if credentials is None:
        return url
    parts = urlsplit(clean)
    return urlunsplit((parts.scheme, f"{credentials[0]}:****@{parts.netloc}", parts.path, parts.query,
                       parts.fragment))


def public_mirror_config(config: dict) -> dict:
    """The config without upstream credentials (API answers, pages, logs)."""
    if not config.get("mirror_url"):
        return config
    return {**config, "mirror_url": masked_url(config["mirror_url"])}
