"""Config keys of private indexes and how their input values are coerced."""

from satchel.errors import BadRequest
from satchel.model.coerce import to_bool, to_list
from satchel.names import normalize_project

STAGE_DEFAULTS = {
    "volatile": True,
    "bases": [],
    "acl_upload": [],  # the owner is added at creation
    "acl_toxresult_upload": [":ANONYMOUS:"],
    "mirror_whitelist": [],
    "mirror_whitelist_inheritance": "intersection",
}
STAGE_OPTIONAL = ("title", "description", "custom_data")


def _principals(values: list[str]) -> list[str]:
    return [v.upper() if v.lower() in (":anonymous:", ":authenticated:") else v for v in values]


def normalize_stage_config(config: dict) -> dict:
    """Coerce strings sent by devpi-client (comma lists, "False") into stored types."""
    config = dict(config)
    config["volatile"] = to_bool(config.get("volatile", True))
    config["bases"] = to_list(config.get("bases"))
    config["acl_upload"] = _principals(to_list(config.get("acl_upload")))
    config["acl_toxresult_upload"] = _principals(to_list(config.get("acl_toxresult_upload")))
    whitelist = to_list(config.get("mirror_whitelist"))
    config["mirror_whitelist"] = [name if name == "*" else normalize_project(name) for name in whitelist]
    inheritance = str(config.get("mirror_whitelist_inheritance", "intersection")).lower()
    if inheritance not in ("intersection", "union"):
        raise BadRequest(f"mirror_whitelist_inheritance must be 'intersection' or 'union', not {inheritance!r}")
    config["mirror_whitelist_inheritance"] = inheritance
    for key in ("title", "description", "custom_data"):
        if not config.get(key):
            config.pop(key, None)
    return config
