"""Which blobs a stored record references: every ``*sha256`` value naming a stored blob."""

import re
from collections.abc import Iterator

_HEX64 = re.compile(r"[0-9a-f]{64}")
# link records carry "hashes" of upstream files that are not (yet) blobs here; file entries,
# attachments and plugin state name their blobs with these keys
BLOB_FIELDS = ("sha256", "metadata_sha256")
BLOB_KINDS = ("files", "attachments", "indexstate")


def blob_refs(key: str, value) -> Iterator[str]:
    """Blob digests a record refers to (file entries, attachments, plugin state such as name lists)."""
    if key.split("/", 1)[0] not in BLOB_KINDS or not isinstance(value, dict):
        return
    for field in BLOB_FIELDS:
        digest = value.get(field)
        if isinstance(digest, str) and _HEX64.fullmatch(digest):
            yield digest


def mirror_prefixes(tx, app) -> list[str]:
    """Key prefixes of mirror indexes' cached data (projects, files, state)."""
    prefixes = []
    for key, config in tx.items("indexes/"):
        index_type = app.index_types.get(config["type"]) if config.get("type") in app.index_types else None
        if index_type is not None and index_type.is_mirror:
            name = key[len("indexes/"):]
            prefixes += [f"{kind}/{name}/" for kind in ("projects", "links", "versions", "files", "indexstate")]
    return prefixes
