"""Every core hook reaches plugin implementations at the documented moment."""

import pytest
from webtest import TestApp

from satchel.errors import BadRequest, ConfigError
from satchel.identity import Identity
from satchel.model import indexes, keys
from satchel.plugin import hookimpl, hookspec
from satchel.pluginmanager import create_pluginmanager
from satchel.registry import Registry
from satchel.testing.fixtures import Filler

JSON = {"Accept": "application/json"}


class ExtraSpecs:
    @hookspec(firstresult=True)
    def satchel_test_ping(self):
        """A spec a plugin adds for its own extensions."""


class KitchenSink:
    """Implements every hook a test can drive; records what it saw."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def satchel_add_hookspecs(self, pluginmanager):
        pluginmanager.add_hookspecs(ExtraSpecs)

    @hookimpl
    def satchel_test_ping(self):
        return "pong"

    @hookimpl
    def satchel_add_options(self, parser):
        parser.add_option("greeting", default="hello", help="test option")

    @hookimpl
    def satchel_configure(self, config):
        if config.greeting == "fail":
            raise ConfigError("greeting must not be 'fail'")
        self.calls.append(("configure", config.greeting))

    @hookimpl
    def satchel_add_commands(self, commands):
        commands.add("greet", object())

    @hookimpl
    def satchel_indexconfig_defaults(self, index_type):
        return {"sink_level": 1} if index_type == "stage" else None

    @hookimpl
    def satchel_validate_indexconfig(self, app, tx, index_name, old, new, identity):
        if new.get("title") == "forbidden":
            raise BadRequest("title 'forbidden' is vetoed")

    @hookimpl
    def satchel_init_serverdir(self, app, tx):
        indexes.create_index(tx, app, "root", "initial", {})

    @hookimpl
    def satchel_add_middleware(self, stack):
        def factory(wsgi_app):
            def wrapped(environ, start_response):
                def start(status, headers, exc_info=None):
                    return start_response(status, headers + [("X-Sink", "1")], exc_info)
                return wsgi_app(environ, start)
            return wrapped
        stack.add("sink", factory)

    @hookimpl
    def satchel_startup(self, app):
        self.calls.append(("startup",))

    @hookimpl
    def satchel_shutdown(self, app):
        self.calls.append(("shutdown",))

    @hookimpl
    def satchel_get_credentials(self, request):
        user = request.headers.get("X-Test-User")
        return (user, request.headers.get("X-Test-Secret", "")) if user else None

    @hookimpl
    def satchel_authenticate(self, request, username, secret):
        return Identity(username, ("team",)) if secret == "open" else None

    @hookimpl
    def satchel_permits(self, request, identity, permission, context):
        if permission == "pkg_read":
            return identity.username == "alice"
        return None

    @hookimpl
    def satchel_api_features(self):
        return ["sink-feature"]

    @hookimpl
    def satchel_status_info(self, app):
        return {"sink": "ok"}

    @hookimpl
    def satchel_metrics(self, app):
        return [("sink_total", "counter", 7)]

    @hookimpl
    def satchel_stage_deleted(self, app, stage):
        self.calls.append(("stage_deleted", stage.name, stage.index_type.name))

    @hookimpl
    def satchel_on_file_removed(self, stage, relpath):
        self.calls.append(("file_removed", stage.name, relpath))

    @hookimpl
    def satchel_mirror_initialnames(self, stage, projectnames):
        self.calls.append(("initialnames", stage.name, sorted(projectnames)))


@pytest.fixture(params=["memory", "sqlite"])
def sink_app(request, make_app):
    sink = KitchenSink()
    app = make_app(storage=request.param, plugins=[sink], greeting="hi")
    return app, sink


def test_historic_add_hookspecs(sink_app):
    app, _ = sink_app
    assert app.hook.satchel_test_ping() == "pong"


def test_options_and_configure(sink_app, make_app):
    _, sink = sink_app
    assert ("configure", "hi") in sink.calls
    with pytest.raises(ConfigError, match="must not be 'fail'"):
        make_app(plugins=[KitchenSink()], greeting="fail")


def test_add_commands_registry():
    pm = create_pluginmanager(plugins=[KitchenSink()])
    commands = Registry("command")
    pm.hook.satchel_add_commands(commands=commands)
    assert {"serve", "init", "plugins", "greet"} <= set(commands)


def test_indexconfig_defaults_and_validation(sink_app):
    app, _ = sink_app
    filler = Filler(app)
    filler.user("alice")
    stage = filler.index("alice", "dev", sink_level=3)
    assert stage.config["sink_level"] == 3
    assert filler.index("alice", "plain").config["sink_level"] == 1
    with pytest.raises(BadRequest, match="vetoed"):
        filler.index("alice", "bad", title="forbidden")
    with app.storage.read() as tx:
        assert tx.get(keys.index("alice", "bad")) is None


def test_init_serverdir(sink_app):
    app, _ = sink_app
    with app.storage.read() as tx:
        assert indexes.get_stage(tx, app, "root", "initial") is not None


def test_middleware_startup_shutdown(sink_app):
    app, sink = sink_app
    assert TestApp(app.wsgi).get("/+api").headers["X-Sink"] == "1"
    app.start()
    app.close()
    assert ("startup",) in sink.calls and ("shutdown",) in sink.calls


def test_credentials_authenticate_permits(sink_app):
    app, _ = sink_app
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    link = filler.file("alice/dev", "hello-pkg", "1.0")
    client = TestApp(app.wsgi)
    alice = {"X-Test-User": "alice", "X-Test-Secret": "open"}
    status = client.get("/+api", headers={**JSON, **alice}).json["result"]["authstatus"]
    assert status == ["ok", "alice", ["team"]]
    wrong = client.get("/+api", headers={**JSON, "X-Test-User": "alice", "X-Test-Secret": "bad"}).json
    assert wrong["result"]["authstatus"] == ["noauth", "", []]  # bad credentials mean anonymous
    client.get("/" + link["path"], headers=alice, status=200)
    client.get("/" + link["path"], headers=JSON, status=401)
    bob = {"X-Test-User": "bob", "X-Test-Secret": "open", **JSON}
    client.get("/" + link["path"], headers=bob, status=403)


def test_features_status_metrics(sink_app):
    app, _ = sink_app
    client = TestApp(app.wsgi)
    assert "sink-feature" in client.get("/+api", headers=JSON).json["result"]["features"]
    status = client.get("/+status", headers=JSON).json["result"]
    assert status["sink"] == "ok"
    assert ["sink_total", "counter", 7] in status["metrics"]


def test_stage_deleted_and_file_removed(sink_app):
    app, sink = sink_app
    filler = Filler(app)
    filler.user("alice")
    filler.index("alice", "dev")
    link = filler.file("alice/dev", "hello-pkg", "1.0")
    with app.storage.write() as tx:
        tx.delete(keys.file(link["path"]))
    assert ("file_removed", "alice/dev", link["path"]) in sink.calls
    with app.storage.write() as tx:
        tx.delete(keys.index("alice", "dev"))
    assert ("stage_deleted", "alice/dev", "stage") in sink.calls


def test_mirror_initialnames_reaches_implementations(sink_app):
    app, sink = sink_app
    with app.storage.read() as tx:
        stage = indexes.get_stage(tx, app, "root", "initial")
    app.hook.satchel_mirror_initialnames(stage=stage, projectnames=iter(["b", "a"]))
    assert ("initialnames", "root/initial", ["a", "b"]) in sink.calls
