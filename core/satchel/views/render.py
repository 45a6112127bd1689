"""Simple page bodies: PEP 503 HTML and PEP 691 JSON (with PEP 658/700/714 fields)."""

import json
from html import escape

API_VERSION = "1.1"


def _attrs(link: dict) -> str:
    parts = []
    if link.get("requires_python") is not None:
        parts.append(f' data-requires-python="{escape(link["requires_python"])}"')
    yanked = link.get("yanked")
    if yanked:
        reason = yanked if isinstance(yanked, str) else ""
        parts.append(f' data-yanked="{escape(reason)}"')
    metadata = link.get("core_metadata")
    if metadata:
        value = f'sha256={metadata["sha256"]}' if isinstance(metadata, dict) and metadata.get("sha256") else "true"
        parts.append(f' data-dist-info-metadata="{value}" data-core-metadata="{value}"')
    return "".join(parts)


def project_html(index_name: str, project: str, links: list[tuple[str, dict]], url_prefix: str) -> bytes:
    title = escape(f"{index_name}: links for {project}")
    lines = [
        '<!DOCTYPE html><html lang="en"><head><meta name="pypi:repository-version" '
        f'content="{API_VERSION}"><title>{title}</title></head><body><h1>{title}</h1>\n'
    ]
    for origin, link in links:
        sha256 = link["hashes"].get("sha256")
        fragment = f"#sha256={sha256}" if sha256 else ""
        href = escape(url_prefix + link["path"] + fragment)
        lines.append(f'{escape(origin)} <a href="{href}"{_attrs(link)}>{escape(link["filename"])}</a><br>\n')
    lines.append("</body></html>")
    return "".join(lines).encode("utf-8")


def project_json(project: str, links: list[tuple[str, dict]], versions: list[str], url_prefix: str) -> bytes:
    files = []
    for _, link in links:
        entry = {"filename": link["filename"], "url": url_prefix + link["path"],
                 "hashes": link["hashes"]}
        if link.get("requires_python") is not None:
            entry["requires-python"] = link["requires_python"]
        if link.get("yanked"):
            entry["yanked"] = link["yanked"]
        metadata = link.get("core_metadata")
        if metadata:
            entry["core-metadata"] = metadata
            entry["dist-info-metadata"] = metadata
        if link.get("size") is not None:
            entry["size"] = link["size"]
        if link.get("upload_time"):
            entry["upload-time"] = link["upload_time"]
        files.append(entry)
    body = {"meta": {"api-version": API_VERSION}, "name": project, "files": files, "versions": versions}
    return json.dumps(body).encode("utf-8")


def list_html(index_name: str, names: list[str], href_prefix: str) -> bytes:
    title = escape(f"{index_name}: simple list (including inherited indices)")
    lines = ['<!DOCTYPE html><html lang="en"><head><meta name="pypi:repository-version" '
             f'content="{API_VERSION}"><title>{title}</title></head><body><h1>{title}</h1>\n']
    lines.extend(f'<a href="{escape(href_prefix + name)}/">{escape(name)}</a><br>\n' for name in names)
    lines.append("</body></html>")
    return "".join(lines).encode("utf-8")


def list_json(names: list[str]) -> bytes:
    body = {"meta": {"api-version": API_VERSION}, "projects": [{"name": name} for name in names]}
    return json.dumps(body).encode("utf-8")
