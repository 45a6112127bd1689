"""Documentation pages: the raw files stay at ``+doc/PATH``; ``+d/PATH`` shows them in a sandboxed
frame inside the site's navigation, so a doc zip's scripts never run with the site's origin."""

import posixpath

from satchel.errors import NotFound
from satchel.web.responses import redirect

from satchel_web import release
from satchel_web.pages import page, render
from satchel_web.views_project import _load


def _clean_path(path: str) -> str:
    """A relative path inside the doc tree (``..`` cannot climb out)."""
    normalized = posixpath.normpath("/" + (path or "")).lstrip("/")
    if normalized in ("", "."):
        return "index.html"
    return normalized + ("/" if path.endswith("/") else "")


@page
def docs_page(request):
    stage, project, view = _load(request)
    version = request.matchdict["version"]
    if request.matchdict.get("path") is None:
        return redirect(request.path_prefix + request.path_info + "/")
    if version == "latest":
        version = release.newest_with_docs(request.tx, request.app, stage, project, view.versions)
        if version is None:
            raise NotFound(f"no documentation for {project}")
    elif version not in view.origin or release.newest_with_docs(
            request.tx, request.app, stage, project, [version]) is None:
        raise NotFound(f"no documentation for {project} {version}")
    path = _clean_path(request.matchdict["path"])
    raw = f"{request.path_prefix}/{stage.name}/{project}/{version}/+doc/{path}"
    return render(request, "docs.html", title=f"{view.display} {version} documentation", stage=stage, view=view,
                  version=version, raw=raw, path=path)
