"""Root, user and index pages."""

import itertools

from satchel.model import keys, users
from satchel.model.indexes import require_stage
from satchel.pluginmanager import plugin_versions

from satchel_web import release
from satchel_web.access import READ, readable_stages
from satchel_web.mirrorinfo import mirror_facts
from satchel_web.pages import page, render, render_cached

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


def _window(names, number: int, needle: str) -> tuple[list[str], bool]:
    """One page of ``names`` (filtered by ``needle``), and whether more follow."""
    if needle:
        names = (name for name in names if needle in name)
    start = (number - 1) * PER_PAGE
    window = list(itertools.islice(names, start, start + PER_PAGE + 1))
    return window[:PER_PAGE], len(window) > PER_PAGE


def _project_rows(request, stage, window: list[str]) -> list[dict]:
    rows = []
    for name in window:
        record = request.tx.get(keys.project(stage.name, name))
        latest = None
        if record is not None and not stage.is_mirror:
            latest = release.latest_version(request.tx, stage, name)
        rows.append({"name": name, "display": (record or {}).get("name") or name, "latest": latest,
                     "cached": record is not None})
    return rows


@page
def index_page(request):
    match = request.matchdict
    stage = require_readable(request, match["user"], match["index"].rstrip("/"))
    tx = request.tx
    number = _page_number(request)
    needle = request.GET.get("filter", "").strip().lower()
    if stage.is_mirror:
        names, total = stage.list_projects(tx), None
    else:
        names = sorted(stage.list_projects(tx))
        total = len(names) if not needle else sum(1 for name in names if needle in name)
    window, more = _window(names, number, needle)

    def context():
        config = sorted((key, value) for key, value in stage.public_config.items() if key != "bases")
        return dict(title=stage.name, stage=stage, config=config, bases=list(stage.config.get("bases", ())),
                    projects=_project_rows(request, stage, window), page=number, more=more, total=total,
                    filter=needle, per_page=PER_PAGE,
                    mirror=mirror_facts(request.app, stage) if stage.is_mirror else None)

    if stage.is_mirror:  # its name list and records may change without a commit: built each time
        return render(request, "index.html", **context())
    # the page shows the index's config and, per listed project, its record and newest version
    key = ("index", stage.name, tx.get_serial(keys.index(stage.username, stage.indexname)), number, needle,
           total, more, tuple((name, tx.get_serial(keys.project(stage.name, name))) for name in window))
    return render_cached(request, key, "index.html", context)
