"""What the index page of a mirror shows about it: its upstream, its settings and its health.

The health comes from the public ``satchel_status_info`` hook (what ``/+status`` shows under
``mirrors``), so the page works with any plugin providing mirror indexes and never imports one.
"""

from pypi_simple import PYPI_SIMPLE_ENDPOINT

from satchel.model.coerce import to_bool

# (config key, label, default): the settings a reader of a mirror page asks about first
SETTINGS = (("volatile", "volatile (releases may be removed)", True),
            ("mirror_allow", "only these projects", []),
            ("mirror_block", "never these projects", []),
            ("mirror_cooldown", "files visible after (s)", 0),
            ("mirror_cache_expiry", "pages re-checked after (s)", None),
            ("mirror_no_project_list", "no upstream project list", False),
            ("mirror_use_external_urls", "files fetched by clients from upstream", False))
HEALTH_SKIP = ("mirror_url", "policy")  # shown with the settings already


def upstream_label(url: str) -> str:
    """"PyPI" for PyPI's simple index (the default upstream), else the configured URL."""
    return "PyPI" if url.rstrip("/") == PYPI_SIMPLE_ENDPOINT.rstrip("/") else url


def mirror_facts(app, stage) -> dict:
    """``{"upstream", "url", "settings": [(label, value)], "health": {key: value}}``."""
    config = stage.public_config  # credentials in the URL masked
    url = str(config.get("mirror_url") or "")
    settings = []
    for key, label, default in SETTINGS:
        value = config.get(key, default)
        if isinstance(default, bool):
            value = "yes" if to_bool(value) else "no"
        elif value is None:
            value = "server default"
        settings.append((label, value))
    health = {}
    for info in app.hook.satchel_status_info(app=app):
        mirrors = (info or {}).get("mirrors")
        if isinstance(mirrors, dict) and isinstance(mirrors.get(stage.name), dict):
            health = {k: v for k, v in mirrors[stage.name].items() if k not in HEALTH_SKIP}
    return {"upstream": upstream_label(url), "url": url if url.startswith(("http://", "https://")) else None,
            "settings": settings, "health": health}
