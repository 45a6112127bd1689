"""Simple page bodies: PEP 503 HTML and PEP 691 JSON (with PEP 658/700/714 fields)."""

import json
from collections.abc import Iterable, Iterator
from html import escape

API_VERSION = "1.1"


def link_writer(url_prefix: str, page_dir: list[str] | None = None):
    """A function turning a stored ``user/index/+f/...`` path into the link written on a page.

    With ``page_dir`` (the page's directory, as path segments) a relative link climbs only as far
    as needed: ``../../+f/...`` for a file of the page's own index, not ``../../../../user/index/+f/...``.
    """
    if not page_dir:
        return lambda path: url_prefix + path
    depth = len(page_dir)

    def write(path: str) -> str:
        user, _, rest = path.partition("/")
        index, _, tail = rest.partition("/")
        if depth >= 2 and page_dir[0] == user:
            if page_dir[1] == index:
                return "../" * (depth - 2) + tail
            return "../" * (depth - 1) + rest
        return url_prefix + path

    return write


def _attrs(link: dict, url) -> str:
    parts = []
    if link.get("requires_python"):  # an empty value says nothing: leave it out
        parts.append(f' data-requires-python="{escape(link["requires_python"])}"')
    yanked = link.get("yanked")
    if yanked:
        reason = yanked if isinstance(yanked, str) else ""
        parts.append(f' data-yanked="{escape(reason)}"')
    metadata = link.get("core_metadata")
    if metadata:
        value = f'sha256={metadata["sha256"]}' if isinstance(metadata, dict) and metadata.get("sha256") else "true"
        # PEP 714: installers reading the old name (pip before 23.3) get "true"; the hash once,
        # under the name current ones read, keeps the page short
        parts.append(f' data-dist-info-metadata="true" data-core-metadata="{value}"')
    if link.get("provenance"):
        parts.append(f' data-provenance="{escape(url(link["path"]) + ".provenance")}"')
    return "".join(parts)


def project_html(index_name: str, project: str, links: list[tuple[str, dict]], url_prefix: str,
                 status: dict | None = None, page_dir: list[str] | None = None) -> bytes:
    title = escape(f"{index_name}: links for {project}")
    status_meta = ""
    if status and status.get("status"):
        # PEP 792
        status_meta = f'<meta name="pypi:project-status" content="{escape(status["status"])}">'
        if status.get("reason"):
            status_meta += f'<meta name="pypi:project-status-reason" content="{escape(status["reason"])}">'
    lines = [
        '<!DOCTYPE html><html lang="en"><head><meta name="pypi:repository-version" '
        f'content="{API_VERSION}">{status_meta}<title>{title}</title></head><body><h1>{title}</h1>\n'
    ]
    url = link_writer(url_prefix, page_dir)
    # one anchor a line and nothing else (PEP 503): installers read neither devpi's origin text nor a <br>
    for _, link in links:
        sha256 = link["hashes"].get("sha256")
        fragment = f"#sha256={sha256}" if sha256 else ""
        href = escape(url(link["path"]) + fragment)
        lines.append(f'<a href="{href}"{_attrs(link, url)}>{escape(link["filename"])}</a>\n')
    lines.append("</body></html>")
    return "".join(lines).encode("utf-8")


def project_json(project: str, links: list[tuple[str, dict]], versions: list[str], url_prefix: str,
                 status: dict | None = None, page_dir: list[str] | None = None) -> bytes:
    files = []
    url = link_writer(url_prefix, page_dir)
    for _, link in links:
        entry = {"filename": link["filename"], "url": url(link["path"]),
                 "hashes": link["hashes"]}
        if link.get("requires_python"):
            entry["requires-python"] = link["requires_python"]
        if link.get("yanked"):
            entry["yanked"] = link["yanked"]
        metadata = link.get("core_metadata")
        if metadata:
            entry["core-metadata"] = metadata
            entry["dist-info-metadata"] = True  # the old name (PEP 714): the hash is under the new one
        if link.get("size") is not None:
            entry["size"] = link["size"]
        if link.get("upload_time"):
            entry["upload-time"] = link["upload_time"]
        if link.get("provenance"):
            entry["provenance"] = url(link["path"]) + ".provenance"  # PEP 740
        files.append(entry)
    body = {"meta": {"api-version": API_VERSION}, "name": project, "files": files, "versions": versions}
    if status and status.get("status"):
        body["project-status"] = {key: value for key, value in status.items() if value}  # PEP 792
    return json.dumps(body).encode("utf-8")


def list_html(index_name: str, names: list[str], href_prefix: str) -> bytes:
    return b"".join(list_html_chunks(index_name, names, href_prefix))


def list_json(names: list[str]) -> bytes:
    return b"".join(list_json_chunks(names))


def _batches(names: Iterable[str], size: int = 2000) -> Iterator[list[str]]:
    batch = []
    for name in names:
        batch.append(name)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def list_html_chunks(index_name: str, names: Iterable[str], href_prefix: str) -> Iterator[bytes]:
    """The project list as HTML, in chunks: a mirror's list is far too long to build whole."""
    title = escape(f"{index_name}: simple list (including inherited indices)")
    yield ('<!DOCTYPE html><html lang="en"><head><meta name="pypi:repository-version" '
           f'content="{API_VERSION}"><title>{title}</title></head><body><h1>{title}</h1>\n').encode("utf-8")
    for batch in _batches(names):
        yield "".join(f'<a href="{escape(href_prefix + name)}/">{escape(name)}</a>\n'
                      for name in batch).encode("utf-8")
    yield b"</body></html>"


def list_json_chunks(names: Iterable[str]) -> Iterator[bytes]:
    """The PEP 691 project list, in chunks."""
    yield ('{"meta": {"api-version": "%s"}, "projects": [' % API_VERSION).encode("utf-8")
    separator = ""
    for batch in _batches(names):
        yield (separator + ", ".join(json.dumps({"name": name}) for name in batch)).encode("utf-8")
        separator = ", "
    yield b"]}"
