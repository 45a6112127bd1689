"""Release metadata sent with legacy uploads: the form fields devpi stores, and their rules."""

import re

from satchel.errors import BadRequest

SCALAR_FIELDS = (
    "name", "version", "metadata_version", "summary", "home_page", "author", "author_email",
    "maintainer", "maintainer_email", "license", "description", "keywords", "download_url", "comment",
    "requires_python", "description_content_type", "license_expression")
LIST_FIELDS = (
    "platform", "classifiers", "supported_platform", "provides", "requires", "obsoletes",
    "project_urls", "provides_dist", "obsoletes_dist", "requires_dist", "requires_external",
    "provides_extras", "dynamic", "license_file")
METADATA_FIELDS = SCALAR_FIELDS + LIST_FIELDS

_NAME_RE = re.compile(r"^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$", re.IGNORECASE)
_FORBIDDEN_CHARS = set('<>%#"')


def from_form(form, skip_missing: bool = False) -> dict:
    """Metadata from a multipart form; missing fields default to ``""``/``[]`` unless skipped."""
    metadata = {}
    for key in METADATA_FIELDS:
        if skip_missing and key not in form:
            continue
        if key in LIST_FIELDS:
            metadata[key] = [item for item in form.getall(key) if isinstance(item, str) and item]
        else:
            value = form.get(key, "")
            value = value if isinstance(value, str) else ""
            # setuptools sends UNKNOWN for fields it has no value for
            metadata[key] = "" if value == "UNKNOWN" else value
    return metadata


def check_metadata(metadata: dict) -> None:
    """400 ``invalid metadata: ...`` unless name and version follow devpi's rules."""
    name, version = metadata.get("name") or "", metadata.get("version") or ""
    if not name or not version:
        raise BadRequest("invalid metadata: name and version must be set")
    if not _NAME_RE.match(name):
        raise BadRequest(f"invalid metadata: project name {name!r} must consist of letters, digits, "
                         "'.', '_' and '-' and start and end with a letter or digit")
    bad = sorted(_FORBIDDEN_CHARS & set(name + version))
    if bad:
        raise BadRequest(f"invalid metadata: name and version must not contain {''.join(bad)!r}")
