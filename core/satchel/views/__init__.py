"""Core's routes (devpi's URL layout); plugins add theirs through ``satchel_add_routes``."""

from satchel.views import api, files, indexes, simple
from satchel.web import negotiate
from satchel.web.patterns import FILE, PROJECT, U, UI, VERSION


def _installer(request) -> bool:
    return negotiate.asks_simple_api(request)


def add_core_routes(router) -> None:
    """Core routes in match order; the first match wins."""
    router.add("status", r"/\+status", api.status_view)
    router.add("api_root", r"/\+api", api.api_config)
    router.add("api_user", U + r"/\+api", api.api_config)
    router.add("api_index", UI + r"/\+api", api.api_config)
    router.add("file", FILE, files.serve_file, permission="pkg_read")
    router.add("simple_list_noslash", UI + r"/\+simple", simple.simple_redirect_or_serve(simple.simple_list))
    router.add("simple_list", UI + r"/\+simple/", simple.simple_list)
    router.add("simple_project_noslash", UI + r"/\+simple/(?P<project>[^/]+)",
               simple.simple_redirect_or_serve(simple.simple_project))
    router.add("simple_project", UI + r"/\+simple/(?P<project>[^/]+/)", simple.simple_project)
    router.add("version", VERSION, api.version_view)
    router.add("installer_simple", UI + r"/?", simple.simple_list, predicate=_installer)
    router.add("installer_simple_project", PROJECT, simple.simple_project,
               predicate=_installer)
    router.add("project", PROJECT, api.project_view)
    router.add("index", UI + r"/?", api.index_view)
    router.add("index_create", UI + r"/?", indexes.create, methods=("PUT",))
    router.add("index_modify", UI + r"/?", indexes.modify, methods=("PATCH",))
    router.add("index_delete", UI + r"/?", indexes.delete, methods=("DELETE",))
    router.add("user", U + r"/?", api.user_view)
    router.add("root", r"/", api.root_view)
