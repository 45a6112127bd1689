"""The web UI's routes, ahead of core's: page routes match only browsers (``wants_page``)."""

from satchel.web import routes
from satchel.web.patterns import PROJECT, U, UI, VERSION

from satchel_web import views_browse, views_docs, views_misc, views_project
from satchel_web.pages import wants_page

# a release's own sub-pages (+d, +toxresults): project and version without a trailing slash
RELEASE = UI + r"/(?P<project>[^+/]+)/(?P<version>[^/+][^/]*)"


def add_routes(router):
    def add(name, pattern, view, predicate=None):
        router.add(name, pattern, view, predicate=predicate, before=routes.STATUS)  # ahead of core's first route

    add("web_static", r"/\+static/(?P<name>[^/]+)", views_misc.static_file)
    add("web_search", r"/\+search", views_misc.search_page)
    add("web_status", r"/\+status", views_misc.status_page, wants_page)
    add("web_docs", RELEASE + r"/\+d(?:/(?P<path>.*))?", views_docs.docs_page)
    add("web_toxresult", RELEASE + r"/\+toxresults/(?P<filename>[^/]+)", views_project.toxresult_page)
    add("web_version", VERSION, views_project.version_page, wants_page)
    add("web_project", PROJECT, views_project.project_page, wants_page)
    add("web_index", UI + r"/?", views_browse.index_page, wants_page)
    add("web_user", U + r"/?", views_browse.user_page, wants_page)
    add("web_root", r"/", views_browse.root_page, wants_page)
