"""Route order: declared priorities, before/after next to a named route, and refusals at start-up."""

import pytest
from webtest import TestApp

from satchel.errors import ConfigError
from satchel.plugin import hookimpl
from satchel.views import add_core_routes
from satchel.web import routes
from satchel.web.responses import json_response
from satchel.web.router import PRIORITY_INDEX_TYPE, PRIORITY_NODE, Router

JSON = {"Accept": "application/json"}


def view(request):
    return None


def names(router) -> list[str]:
    return [name for name, _, _ in router.table()]


def test_priority_orders_routes_and_ties_keep_registration_order():
    router = Router()
    router.add("general", r"/a", view)
    router.add("type", r"/a", view, priority=PRIORITY_INDEX_TYPE)
    router.add("node", r"/a", view, priority=PRIORITY_NODE)
    router.add("type2", r"/a", view, priority=PRIORITY_INDEX_TYPE)
    router.add("general2", r"/a", view)
    assert names(router) == ["node", "type", "type2", "general", "general2"]


def test_before_and_after_sit_next_to_their_route_whenever_it_is_registered():
    router = Router()
    router.add("early", r"/e", view, before="second")  # its anchor comes later
    router.add("first", r"/1", view)
    router.add("second", r"/2", view)
    router.add("late", r"/l", view, after="first")
    router.add("later", r"/ll", view, after="late")  # anchored on an anchored route
    router.add("top", r"/t", view, priority=PRIORITY_NODE)
    assert names(router) == ["top", "first", "late", "later", "early", "second"]


@pytest.mark.parametrize("kwargs, message", [
    ({"before": "nowhere"}, "'anchored' is to go before 'nowhere': no route of that name"),
    ({"after": "nowhere"}, "'anchored' is to go after 'nowhere': no route of that name"),
])
def test_unknown_anchor_is_refused(kwargs, message):
    router = Router()
    router.add("anchored", r"/x", view, **kwargs)
    with pytest.raises(ConfigError, match=message):
        router.check()


def test_circular_anchors_are_refused():
    router = Router()
    router.add("a", r"/a", view, before="b")
    router.add("b", r"/b", view, before="a")
    with pytest.raises(ConfigError, match="a circle of before/after"):
        router.check()


@pytest.mark.parametrize("kwargs, message", [
    ({"before": routes.FILE, "after": routes.FILE}, "not both"),
    ({"before": routes.FILE, "priority": PRIORITY_NODE}, "takes its priority"),
])
def test_contradicting_placement_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Router().add("x", r"/x", view, **kwargs)


def test_duplicate_name_is_refused():
    router = Router()
    router.add("x", r"/x", view)
    with pytest.raises(ValueError, match="already registered"):
        router.add("x", r"/y", view)


class MisplacedRoute:
    """A plugin positioning its route against a route nobody registers."""

    @hookimpl
    def satchel_add_routes(self, router):
        router.add("misplaced", r"/\+misplaced", view, before="mirror_files")


def test_unknown_anchor_stops_the_app_at_start_up(make_app):
    with pytest.raises(ConfigError, match="'misplaced' is to go before 'mirror_files'"):
        make_app(plugins=[MisplacedRoute()])


class EarlyStatus:
    """A plugin answering /+status itself, placed before core's route by its exported name."""

    @hookimpl
    def satchel_add_routes(self, router):
        router.add("own_status", r"/\+status", lambda request: json_response({"own": True}, "status"),
                   before=routes.STATUS)


def test_exported_core_name_places_a_plugin_route(make_app):
    app = make_app(plugins=[EarlyStatus()], disable_plugins=["web"])  # its pages sit before status too
    table = names(app.router)
    assert table.index("own_status") == table.index(routes.STATUS) - 1
    assert TestApp(app.wsgi).get("/+status", headers=JSON).json["result"] == {"own": True}


def test_every_exported_core_name_is_a_core_route():
    router = Router()
    add_core_routes(router)
    assert list(routes.CORE_ROUTES) == names(router)
    public = {value for name, value in vars(routes).items() if name.isupper() and isinstance(value, str)}
    assert public == set(routes.CORE_ROUTES)


def test_match_plain_answers_only_where_no_predicate_is_in_the_way():
    router = Router()
    router.add("special", r"/(?P<user>[^/]+)/x", view, predicate=lambda request: False)
    router.add("plain", r"/(?P<user>[^/]+)/(?P<what>[^/]+)", view)
    router.check()
    route, matchdict = router.match_plain({"PATH_INFO": "/alice/y", "REQUEST_METHOD": "GET"})
    assert (route.name, matchdict) == ("plain", {"user": "alice", "what": "y"})
    # a predicate route matches first: only the full match (with a request) may decide
    assert router.match_plain({"PATH_INFO": "/alice/x", "REQUEST_METHOD": "GET"}) is None
    assert router.match_plain({"PATH_INFO": "/alice/y", "REQUEST_METHOD": "DELETE"}) is None
    assert router.match_plain({"PATH_INFO": "/al\u00e9/y", "REQUEST_METHOD": "GET"}) is None  # needs decoding


def test_remembered_matches_stay_bounded_and_give_fresh_matchdicts(monkeypatch):
    import satchel.web.router as router_module

    monkeypatch.setattr(router_module, "PATH_MATCHES_KEPT", 3)
    router = Router()
    router.add("plain", r"/(?P<user>[^/]+)/(?P<what>[^/]+)", view)
    router.check()
    environ = {"PATH_INFO": "/alice/y", "REQUEST_METHOD": "GET"}
    first = router.match_plain(environ)[1]
    first["user"] = "changed by a view"
    assert router.match_plain(environ)[1] == {"user": "alice", "what": "y"}
    for number in range(10):
        router.match_plain({"PATH_INFO": f"/u{number}/y", "REQUEST_METHOD": "GET"})
        assert len(router._by_path) <= 3
    long_path = "/" + "a" * router_module.PATH_MEMO_MAX_CHARS + "/y"
    assert router.match_plain({"PATH_INFO": long_path, "REQUEST_METHOD": "GET"})[0].name == "plain"
    assert long_path not in router._by_path
