"""Project, version and tox result pages."""

from urllib.parse import quote

from markupsafe import Markup, escape

from satchel.errors import NotFound
from satchel.names import normalize_project

from satchel_web import release, toxresults
from satchel_web.state import web_state
from satchel_web.pages import page, render, render_cached
from satchel_web.sections import collect
from satchel_web.templating import format_when
from satchel_web.views_browse import require_readable

SAFE_SCHEMES = ("http://", "https://")
YANKED = ' class="yanked"'


def _target(request):
    match = request.matchdict
    stage = require_readable(request, match["user"], match["index"])
    return stage, normalize_project(match["project"].rstrip("/"))


def _load(request, stage=None, project=None):
    if stage is None:
        stage, project = _target(request)
    view = release.load_project(request.tx, request.app, stage, project)
    if view is None:
        raise NotFound(f"no project '{project}' on {stage.name}")
    return stage, project, view


@page
def project_page(request):
    stage, project = _target(request)
    key = release.project_key(request.tx, request.app, stage, project)
    if key is None:
        return render(request, "project.html", **_project_context(request, stage, project))
    return render_cached(request, ("project", stage.name, project, *key), "project.html",
                         lambda: _project_context(request, stage, project))


def _project_context(request, stage, project) -> dict:
    stage, project, view = _load(request, stage, project)
    base = f"{request.path_prefix}/{stage.name}/{project}/"
    rows = []
    # hrefs and times prepared here: the template's loop stays cheap for thousands of versions
    for version in view.versions:
        summary = release.version_summary(view.files.get(version, []))
        origin = view.origin[version]
        rows.append({"version": version, "href": base + quote(version), "origin": origin,
                     "origin_href": f"{request.path_prefix}/{origin}", "when": format_when(summary["upload_time"]),
                     "count": summary["count"], "yanked": summary["yanked"]})
    upstream = [(s.name, release.upstream_url(s, project)) for s in view.uncached_mirrors]
    return dict(title=f"{view.display} on {stage.name}", stage=stage, view=view, rows=rows,
                rows_html=_version_rows(rows), upstream=upstream)


def _version_rows(rows: list[dict]) -> Markup:
    """The versions table's rows as escaped markup: a 2,000-version page stays far under 100 ms
    (a template loop costs about ten times as much). A theme may loop over ``rows`` instead."""
    return Markup("\n".join(
        f'<tr{YANKED if row["yanked"] else ""}><td><a href="{escape(row["href"])}">{escape(row["version"])}</a></td>'
        f'<td>{escape(row["when"])}</td><td>{row["count"]}</td>'
        f'<td><a href="{escape(row["origin_href"])}">{escape(row["origin"])}</a></td>'
        f'<td>{"yanked" if row["yanked"] else ""}</td></tr>' for row in rows))


def _safe_url(url) -> str | None:
    url = str(url or "").strip()
    return url if url.lower().startswith(SAFE_SCHEMES) else None


def _project_urls(metadata: dict) -> list[tuple[str, str, str | None]]:
    """``(label, text, safe href or None)``: only http(s) URLs become links."""
    result = []
    if metadata.get("home_page"):
        result.append(("Homepage", str(metadata["home_page"]), _safe_url(metadata["home_page"])))
    for entry in metadata.get("project_urls") or ():
        label, _, url = str(entry).partition(",")
        result.append((label.strip(), url.strip(), _safe_url(url)))
    return result


def _file_row(request, origin: str, link: dict) -> dict:
    base = request.path_prefix
    core_metadata = link.get("core_metadata") or None
    return {"filename": link["filename"], "href": f"{base}/{link['path']}", "size": link.get("size"),
            "sha256": (link.get("hashes") or {}).get("sha256", ""), "upload_time": link.get("upload_time"),
            "yanked": link.get("yanked"), "origin": origin,
            "requires_python": link.get("requires_python"),
            "metadata_href": f"{base}/{link['path']}.metadata" if core_metadata else None}


def _as_list(value) -> list[str]:
    if not value:
        return []
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


@page
def version_page(request):
    stage, project, view = _load(request)
    version = request.matchdict["version"].rstrip("/")
    tx, app = request.tx, request.app
    if version not in view.origin:
        raise NotFound(f"The version {version} of project {project} does not exist.")
    metadata = release.load_metadata(tx, app, stage, project, version) or {"name": view.display, "version": version}
    files = [_file_row(request, origin, link) for origin, link in view.files.get(version, [])]
    attachments = release.load_attachments(tx, app, stage, project, version)
    links = [{**link, "origin": origin} for origin, link in view.files.get(version, [])] + attachments
    has_docs = any(a.get("rel") == "doczip" for a in attachments)
    description = web_state(app).descriptions.html(metadata)
    pip_line = f"pip install --index-url {request.base_url}/{stage.name}/+simple/ {view.display}=={version}"
    return render(
        request, "version.html", title=f"{view.display} {version} on {stage.name}", stage=stage, view=view,
        version=version, metadata=metadata, description=description, files=files, has_docs=has_docs,
        pip_line=pip_line, urls=_project_urls(metadata), classifiers=_as_list(metadata.get("classifiers")),
        requires_dist=_as_list(metadata.get("requires_dist")),
        sections=collect(request, stage, project, version, metadata, links))


@page
def toxresult_page(request):
    stage, project, view = _load(request)
    version = request.matchdict["version"]
    filename = request.matchdict["filename"]
    attachments = release.load_attachments(request.tx, request.app, stage, project, version)
    link = next((a for a in attachments if a.get("rel") == "toxresult" and a["filename"] == filename), None)
    if link is None:
        raise NotFound(f"no tox result {filename} for {project} {version}")
    data = toxresults.read_result(request.app, link)
    return render(request, "toxresult.html", title=f"tox result: {filename}", stage=stage, view=view,
                  version=version, link=link, data=data, envs=toxresults.environments(data))
