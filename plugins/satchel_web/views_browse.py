"""Root, user and index pages."""

import itertools

from satchel.model import keys, users
from satchel.model.indexes import list_versions, require_stage
from satchel.pluginmanager import plugin_versions

from satchel_web.access import READ, readable_stages
from satchel_web.pages import page, render

PER_PAGE = 100


def _page_number(request) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _user_entry(request, username: str) -> dict:
    record = users.visible(users.get_user(request.tx, username))
    return {"name": username, "title": record.get("title") or "", "description": record.get("description") or "",
            "indexes": readable_stages(request, username)}


@page
def root_page(request):
    entries = [_user_entry(request, name) for name in users.list_usernames(request.tx)]
    plugins = [(name, version) for name, version, _ in plugin_versions(request.app.pm) if version != "core"]
    return render(request, "root.html", title="satchel", users=entries, plugins=plugins)


@page
def user_page(request):
    username = request.matchdict["user"].rstrip("/")
    return render(request, "user.html", title=username, user=_user_entry(request, username))


def require_readable(request, username: str, indexname: str):
    stage = require_stage(request.tx, request.app, username, indexname)
    request.require(READ, stage, f"no permission to read {stage.name}")
    return stage


def _project_rows(request, stage, names, number: int, needle: str):
    """One page of ``names`` (filtered by ``needle``), and whether more follow."""
    if needle:
        names = (name for name in names if needle in name)
    start = (number - 1) * PER_PAGE
    window = list(itertools.islice(names, start, start + PER_PAGE + 1))
    more = len(window) > PER_PAGE
    rows = []
    for name in window[:PER_PAGE]:
        record = request.tx.get(keys.project(stage.name, name))
        latest = None
        if record is not None and not stage.is_mirror:
            versions = list_versions(request.tx, stage, name)
            latest = versions[-1] if versions else None
        rows.append({"name": name, "display": (record or {}).get("name") or name, "latest": latest,
                     "cached": record is not None})
    return rows, more


@page
def index_page(request):
    match = request.matchdict
    stage = require_readable(request, match["user"], match["index"].rstrip("/"))
    number = _page_number(request)
    needle = request.GET.get("filter", "").strip().lower()
    if stage.is_mirror:
        names, total = stage.list_projects(request.tx), None
    else:
        names = sorted(stage.list_projects(request.tx))
        total = len(names) if not needle else sum(1 for name in names if needle in name)
        names = iter(names)
    rows, more = _project_rows(request, stage, names, number, needle)
    config = sorted((key, value) for key, value in stage.public_config.items() if key != "bases")
    bases = list(stage.config.get("bases", ()))
    return render(request, "index.html", title=stage.name, stage=stage, config=config, bases=bases,
                  projects=rows, page=number, more=more, total=total, filter=needle, per_page=PER_PAGE)
