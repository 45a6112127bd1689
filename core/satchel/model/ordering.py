"""Orders for versions and file links (PEP 440, invalid versions first)."""

from functools import lru_cache

from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=65536)
def version_key(version: str) -> tuple:
    """Sort key for a version string; invalid versions sort before valid ones, by text."""
    try:
        return (1, Version(version), "")
    except InvalidVersion:
        return (0, None, version)


def sort_links(links: list[dict]) -> list[dict]:
    """Links by version, then filename."""
    return sorted(links, key=lambda link: (version_key(link.get("version") or ""), link["filename"]))
