"""Core's routes (devpi's URL layout); plugins add theirs through ``satchel_add_routes``."""

from satchel.views import api, files, indexes, simple
from satchel.web import negotiate, routes
from satchel.web.patterns import FILE, PROJECT, U, UI, VERSION


def _installer(request) -> bool:
    return negotiate.asks_simple_api(request)


def add_core_routes(router) -> None:
    """Core routes in match order; the first match wins."""
    router.add(routes.STATUS, r"/\+status", api.status_view)
    router.add(routes.API_ROOT, r"/\+api", api.api_config)
    router.add(routes.API_USER, U + r"/\+api", api.api_config)
    router.add(routes.API_INDEX, UI + r"/\+api", api.api_config)
    router.add(routes.FILE, FILE, files.serve_file, permission="pkg_read")
    router.add(routes.SIMPLE_LIST_NOSLASH, UI + r"/\+simple",
               simple.simple_redirect_or_serve(simple.simple_list))
    router.add(routes.SIMPLE_LIST, UI + r"/\+simple/", simple.simple_list)
    router.add(routes.SIMPLE_PROJECT_NOSLASH, UI + r"/\+simple/(?P<project>[^/]+)",
               simple.simple_redirect_or_serve(simple.simple_project))
    router.add(routes.SIMPLE_PROJECT, UI + r"/\+simple/(?P<project>[^/]+/)", simple.simple_project)
    router.add(routes.VERSION, VERSION, api.version_view)
    router.add(routes.INSTALLER_SIMPLE, UI + r"/?", simple.simple_list, predicate=_installer)
    router.add(routes.INSTALLER_SIMPLE_PROJECT, PROJECT, simple.simple_project, predicate=_installer)
    router.add(routes.PROJECT, PROJECT, api.project_view)
    router.add(routes.INDEX, UI + r"/?", api.index_view)
    router.add(routes.INDEX_CREATE, UI + r"/?", indexes.create, methods=("PUT",))
    router.add(routes.INDEX_MODIFY, UI + r"/?", indexes.modify, methods=("PATCH",))
    router.add(routes.INDEX_DELETE, UI + r"/?", indexes.delete, methods=("DELETE",))
    router.add(routes.USER, U + r"/?", api.user_view)
    router.add(routes.ROOT, r"/", api.root_view)
