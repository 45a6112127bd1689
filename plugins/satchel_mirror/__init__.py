"""The PyPI mirror: the ``mirror`` index type, ``root/pypi``, cached files, offline serving."""

from satchel.commands import Command
from satchel.errors import Forbidden
from satchel.model.indexes import IndexType, create_index, require_stage, resolution_order
from satchel.names import normalize_project
from satchel.plugin import hookimpl, hookspec
from satchel.web.patterns import FILE, PROJECT, UI, VERSION
from satchel.web.responses import redirect
from satchel.web.router import PRIORITY_INDEX_TYPE

from satchel_mirror import files, removal
from satchel_mirror.config import (MIRROR_DEFAULTS, MIRROR_OPTIONAL, default_mirror_url, normalize_mirror_config,
                                  public_mirror_config)
from satchel_mirror.prune import prune_command
from satchel_mirror.runtime import runtime
from satchel_mirror.status import mirror_status
from satchel_mirror.stage import MirrorStage
from satchel_mirror.stats import METRICS

__version__ = "0.1.0"



class MirrorSpecs:
    """Hooks the mirror plugin declares for other plugins (added by ``satchel_add_hookspecs``)."""
    @hookspec(firstresult=True)
    def satchel_mirror_upstream_auth(self, stage, url):
        """Return an ``Authorization`` header value for requests to the upstream ``url`` of ``stage``,
        or None (credentials in ``mirror_url`` are used then)."""


@hookimpl
def satchel_add_hookspecs(pluginmanager):
    """Declare ``satchel_mirror_upstream_auth``."""
    pluginmanager.add_hookspecs(MirrorSpecs)


@hookimpl
def satchel_add_options(parser):
    """Freshness, upstream timeout, offline mode, who may add mirrors, and ``--no-root-pypi``."""
    parser.add_option("mirror-cache-expiry", default=1800, type=int, metavar="SECONDS", commands=("serve",),
                      help="re-check upstream project pages after this long (default 1800; per index: "
                           "mirror_cache_expiry)")
    # fsck --repair refetches damaged files from upstream
    parser.add_option("request-timeout", default=5.0, type=float, metavar="SECONDS",
                      commands=("serve", "fsck"),
                      help="wait this long for upstream before serving cached data (default 5)")
    parser.add_option("offline-mode", flag=True, default=False, commands=("serve", "fsck"),
                      help="never contact upstream; serve only what is cached")
    parser.add_option("mirror-admins", default=None, metavar="SPEC", commands=("serve",),
                      help="users and :groups besides root who may create mirror indexes or change a "
                           "mirror_url (the server fetches whatever URL a mirror names); :AUTHENTICATED: "
                           "allows any logged-in user, as devpi does")
    parser.add_option("no-root-pypi", flag=True, default=False, commands=("serve", "init"),
                      help="do not create the root/pypi mirror on initialization")


@hookimpl
def satchel_add_commands(commands):
    """Add ``mirror-prune DAYS [USER/INDEX]``."""
    commands.add("mirror-prune", Command(
        "delete cached mirror files not requested for DAYS days (optionally of one USER/INDEX)",
        prune_command, arguments=("days", "index")))


@hookimpl
def satchel_index_types(index_types):
    """Register ``mirror``: an index whose projects come from an upstream simple API."""
    index_types.add("mirror", IndexType(
        "mirror", MirrorStage, defaults=MIRROR_DEFAULTS, optional=MIRROR_OPTIONAL, is_mirror=True,
        normalize=normalize_mirror_config, public_config=public_mirror_config))


@hookimpl
def satchel_init_serverdir(app, tx):
    """Create ``root/pypi``, a mirror of PyPI, unless ``--no-root-pypi``."""
    if app.config.get("no_root_pypi"):
        return
    create_index(tx, app, "root", "pypi", {
        "type": "mirror", "volatile": False, "title": "PyPI", "mirror_url": default_mirror_url()})


AUTHENTICATED = ":AUTHENTICATED:"  # in --mirror-admins: any logged-in user (devpi's behaviour)


def _mirror_admin(identity, config) -> bool:
    if identity.username == "root":
        return True
    allowed = {item.strip() for item in (config.get("mirror_admins") or "").split(",") if item.strip()}
    allowed = {AUTHENTICATED if item.upper() == AUTHENTICATED else item for item in allowed}
    mine = {identity.username} | {g if g.startswith(":") else f":{g}" for g in identity.groups}
    if identity.username is not None:
        mine.add(AUTHENTICATED)
    return bool(allowed & mine)


@hookimpl
def satchel_validate_indexconfig(app, tx, old, new, identity):
    """Only root or ``--mirror-admins`` may create a mirror or change its ``mirror_url``."""
    if new.get("type") != "mirror" or identity is None:
        return
    changes_url = old is None or old.get("mirror_url") != new.get("mirror_url")
    if changes_url and not _mirror_admin(identity, app.config):
        raise Forbidden("only root (or --mirror-admins) may create a mirror index or change its mirror_url")


def refresh(request):
    """``POST /U/I/+simple/P/refresh``: re-check P upstream in every mirror of the resolution order."""
    match = request.matchdict
    stage = require_stage(request.tx, request.app, match["user"], match["index"])
    project = normalize_project(match["project"])
    for current in resolution_order(request.tx, request.app, stage):
        if current.is_mirror:
            current.state.forget(project)
            current.state.upstream_up()  # asked for by a person: try upstream now, even while backing off
    return redirect(f"{request.path_prefix}/{stage.name}/+simple/{project}/")


@hookimpl
def satchel_add_routes(router):
    """Cached files, ``refresh``, and deleting cached files, ahead of core's and private routes.

    Predicates narrow them to mirror indexes, so their priority band puts them ahead of every general route
    (the private indexes' DELETE routes included, when that plugin is loaded).
    """
    router.add("mirror_file", UI + r"/(?P<kind>\+[fe])/(?P<relpath>.+)", files.serve_mirror_file,
               predicate=files.is_mirror_request, permission="pkg_read", priority=PRIORITY_INDEX_TYPE)
    router.add("mirror_refresh", UI + r"/\+simple/(?P<project>[^/]+)/refresh", refresh, methods=("POST",))
    for name, pattern, view in (
            ("mirror_file_delete", FILE, removal.delete_file),
            ("mirror_version_delete", VERSION, removal.delete_version),
            ("mirror_project_delete", PROJECT, removal.delete_project)):
        router.add(name, pattern, view, methods=("DELETE",), predicate=files.is_mirror_request,
                   priority=PRIORITY_INDEX_TYPE, own_transaction=True)


@hookimpl
def satchel_add_metrics(metrics):
    """The mirror's upstream and cache metrics (``METRICS``)."""
    for metric in METRICS:
        metrics.add(metric)


@hookimpl
def satchel_status_info(app):
    """Per mirror: upstream contact, back-off, cached pages and files (``mirrors``)."""
    return {"mirrors": mirror_status(app)}


@hookimpl
def satchel_stage_deleted(app, stage):
    """Forget the runtime state of a deleted (mirror) index."""
    runtime(app).states.pop(stage.name, None)
    files.forget_index(app, stage.name)


@hookimpl
def satchel_shutdown(app):
    """Stop the upstream fetch threads and close the HTTP session."""
    runtime(app).close()
